"""A report that adds up: spend is Bedrock plus instance hours, saved is the baseline minus
spend (negative when it is, with the reason in words), instance hours only for an instance that
is configured, and a chart that keeps cents of Bedrock visible beside a GPU's day."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chatops.cost_chart import _draw_daily
from chatops.cost_text import headline, hours, report_text, saved_reason, savings_parts
from gateway.pricing import PriceCatalog
from gateway.report import CostReport, ReportFilter
from gateway.savings import EC2_IDLE
from tests.unit.test_cost_report import (
    BEDROCK_ONLY,
    EC2_MODEL,
    G5_HOURLY,
    NOVA,
    OFFICE_HOURS,
    at,
    make,
    report,
)

MONEY = re.compile(r"(-?)\$([\d,]+\.\d+)")


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


def light_traffic(catalog: PriceCatalog) -> list[Any]:
    """Three small Bedrock calls and one request the instance served: a sandbox's day."""
    return [
        make(catalog, 1, model=NOVA, tier="small", input_tokens=140, output_tokens=229),
        make(catalog, 2, input_tokens=408, output_tokens=375, at=at(11)),
        make(catalog, 3, model=NOVA, tier="small", input_tokens=123, output_tokens=160, at=at(12)),
        make(catalog, 4, backend="ec2", model=EC2_MODEL, tier="small", at=at(13)),
    ]


def assert_adds_up(result: CostReport) -> None:
    bedrock = sum(row.spend_micro_usd for row in result.breakdowns["backend"] if row.key != "ec2")
    instance = result.ec2.hours.cost_micro_usd or 0 if result.ec2 else 0
    assert result.spend_micro_usd == bedrock + instance
    assert result.per_token_micro_usd == bedrock
    assert result.instance_micro_usd == instance
    saved = result.savings.saved_micro_usd
    assert saved == result.baseline_micro_usd - result.spend_micro_usd
    assert sum(result.savings.by_lever.values()) == saved


def shown_dollars(text: str) -> list[Decimal]:
    return [Decimal(f"{sign}{amount.replace(',', '')}") for sign, amount in MONEY.findall(text)]


def assert_shown_adds_up(result: CostReport) -> list[Decimal]:
    """The figures a person reads add up as shown, and each is the amount, rounded."""
    shown = dict(headline(result))
    spend, *parts = shown_dollars(shown["Spend"])
    (baseline,) = shown_dollars(shown["Naive baseline"])
    saved = shown_dollars(shown["Saved"])[0]
    assert spend == (sum(parts, Decimal(0)) if parts else spend)
    assert saved == baseline - spend
    exact = [result.spend_micro_usd, result.baseline_micro_usd, result.savings.saved_micro_usd]
    for figure, micro_usd in zip((spend, baseline, saved), exact, strict=True):
        assert abs(figure - Decimal(micro_usd) / 1_000_000) <= Decimal("0.005")
    # The savings' parts add up, as shown, to the saving rounded as finely as they are shown,
    # never more coarsely than the headline shows it.
    levers = [shown_dollars(amount)[0] for _, amount in savings_parts(result)]
    exponent = min(int(lever.as_tuple().exponent) for lever in levers if lever)
    assert exponent <= int(saved.as_tuple().exponent)
    exact_saved = Decimal(result.savings.saved_micro_usd) / 1_000_000
    assert sum(levers) == exact_saved.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP)
    return [spend, *parts]


def test_spend_is_bedrock_plus_instance_hours_and_saved_is_baseline_minus_spend(
    catalog: PriceCatalog,
) -> None:
    result = report(light_traffic(catalog), catalog, running=((12.5, 13.5),))
    assert_adds_up(result)
    assert result.instance_micro_usd == G5_HOURLY  # one hour at $1.006, all of it served

    spend = dict(headline(result))["Spend"]
    assert " (Bedrock $0.00" in spend and " + EC2 instance hours $1.00" in spend
    assert len(assert_shown_adds_up(result)) == 3


def test_figures_shown_to_cents_would_not_add_up_so_they_are_shown_finer(
    catalog: PriceCatalog,
) -> None:
    # $1.006 of instance hours beside $0.0031 of Bedrock: to the cent, $1.01 + $0.00 ≠ $1.01 …
    result = report(light_traffic(catalog), catalog, running=((12.5, 13.5),))
    _, bedrock, instance = assert_shown_adds_up(result)
    assert bedrock > 0
    assert instance == Decimal("1.006")


def test_an_idle_instance_makes_the_saving_negative_and_says_why(catalog: PriceCatalog) -> None:
    result = report(light_traffic(catalog)[:3], catalog, running=((0, 24),))
    assert_adds_up(result)
    assert result.savings.by_lever[EC2_IDLE] == -24 * G5_HOURLY
    assert result.savings.saved_micro_usd < 0

    assert_shown_adds_up(result)
    saved = dict(headline(result))["Saved"]
    reason = "the EC2 instance was up 24 h and served 0 requests"
    assert saved.startswith("-$24.1") and " (-" in saved
    assert saved.endswith(f"): {reason}")
    assert saved_reason(result) == reason
    text = report_text(result)
    assert f"  {'EC2 idle time':<20} {'-$24.144000':>12}\n" in text  # as finely as spend


def test_a_week_of_office_hours_with_traffic_still_adds_up(catalog: PriceCatalog) -> None:
    result = report(light_traffic(catalog), catalog, running=OFFICE_HOURS)
    assert_adds_up(result)
    assert result.instance_micro_usd == 60 * G5_HOURLY
    assert "was up 60 h and served 1 request" in dict(headline(result))["Saved"]


def test_no_instance_configured_means_no_instance_hours_anywhere(catalog: PriceCatalog) -> None:
    bedrock_only = light_traffic(catalog)[:3]
    result = report(bedrock_only, catalog, tiers=BEDROCK_ONLY, running=None)
    assert_adds_up(result)
    assert result.instance_micro_usd == 0
    assert result.spend_micro_usd == sum(r.cost_micro_usd or 0 for r in bedrock_only)
    assert assert_shown_adds_up(result) == [Decimal(result.spend_micro_usd) / 1_000_000]
    assert saved_reason(result) == ""
    assert EC2_IDLE not in result.savings.by_lever
    assert "EC2 g5.xlarge: ran" not in report_text(result)


def test_a_filtered_report_charges_no_idle_hours(catalog: PriceCatalog) -> None:
    """Idle hours are nobody's spend: one person's report carries none of them."""
    bedrock_only = light_traffic(catalog)[:3]
    everyone = report(bedrock_only, catalog, running=((0, 24),))
    alone = report(bedrock_only, catalog, running=((0, 24),), scope=ReportFilter("U1"))
    assert everyone.instance_micro_usd == 24 * G5_HOURLY
    assert alone.instance_micro_usd == 0
    assert EC2_IDLE not in alone.savings.by_lever
    assert alone.spend_micro_usd == alone.savings.actual_micro_usd == alone.per_token_micro_usd


@pytest.mark.parametrize(
    ("hours_run", "shown"),
    [("168", "168 h"), ("10.5", "10.5 h"), ("0.25", "15 min"), ("0.0125", "45 s"), ("0", "0 h")],
)
def test_short_runs_are_shown_in_minutes_or_seconds(hours_run: str, shown: str) -> None:
    assert hours(Decimal(hours_run)) == shown


def test_the_chart_keeps_small_bedrock_spend_visible_beside_instance_hours(
    catalog: PriceCatalog,
) -> None:
    result = report(light_traffic(catalog)[:3], catalog, running=((0, 24),))
    figure = Figure()
    FigureCanvasAgg(figure)
    left = figure.add_subplot()
    _draw_daily(left, result)

    right = next(axes for axes in figure.axes if axes is not left)
    bedrock_top = max(bar.get_y() + bar.get_height() for bar in left.patches)
    instance_top = max(bar.get_height() for bar in right.patches)
    # Cents of Bedrock keep a scale of their own (shared with the naive baseline, a few times
    # larger here); the GPU's $24 fills the other. Stacked on one scale, they were 0.01% of it.
    assert left.get_ylim()[1] < instance_top / 100
    assert bedrock_top >= left.get_ylim()[1] / 10
    assert instance_top == pytest.approx(24 * G5_HOURLY / 1e6)
    assert instance_top >= right.get_ylim()[1] / 2
