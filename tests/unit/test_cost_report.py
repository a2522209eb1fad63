"""The /llm-cost report built from hand-made ledger rows with known usage and known prices."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from gateway.break_even import (
    ALWAYS_ON,
    HOURS_PER_MONTH,
    ON_SCHEDULE,
    WHEN_ACTIVE,
)
from gateway.ec2_schedule import Ec2Schedule
from gateway.ledger import LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.report import (
    CostReport,
    ReportFilter,
    build_report,
    period_bounds,
)
from gateway.types import Route
from tests.ledger_rows import HAIKU, SONNET, ledger_row

NOVA = "amazon.nova-micro-v1:0"
EC2_MODEL = "llama-3.1-8b-instruct"
UNKNOWN = "us.unknown-model-v9:0"
G5_HOURLY = 1_006_000  # g5.xlarge, micro-USD per hour (prices.json)
# Monday 2026-11-23 00:00 UTC to the next Monday: 168 h, 60 of them mon-fri 07-19.
START = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
END = START + datetime.timedelta(days=7)
TIERS: Mapping[str, Sequence[Route]] = {
    "small": (Route("bedrock", NOVA), Route("ec2", EC2_MODEL)),
    "medium": (Route("bedrock", HAIKU), Route("ec2", EC2_MODEL)),
    "large": (Route("bedrock", SONNET),),
}
BEDROCK_ONLY = {name: routes[:1] for name, routes in TIERS.items()}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


def at(hours: float) -> float:
    return (START + datetime.timedelta(hours=hours)).timestamp()


def make(catalog: PriceCatalog, n: int = 0, **overrides: Any) -> LedgerRecord:
    """A row priced as the ledger writer prices it: Bedrock per token, ec2 left unpriced."""
    return ledger_row(catalog, overrides.pop("at", at(10)), request_id=f"req-{n}", **overrides)


def report(
    records: list[LedgerRecord],
    catalog: PriceCatalog,
    *,
    tiers: Mapping[str, Sequence[Route]] = TIERS,
    schedule: str = "always",
    scope: ReportFilter | None = None,
) -> CostReport:
    return build_report(
        records,
        catalog,
        period_start=START,
        period_end=END,
        tiers=tiers,
        ec2_instance_type="g5.xlarge",
        ec2_schedule=Ec2Schedule.parse(schedule),
        title="last 7 days",
        filter=scope,
    )


def mixed_week(catalog: PriceCatalog) -> list[LedgerRecord]:
    return [
        make(catalog, 1, model=NOVA, tier="small", input_tokens=800, output_tokens=100),
        make(catalog, 2, user="U2", channel="C2", cache_read_tokens=4_096, at=at(30)),
        make(catalog, 3, model=SONNET, tier="large", compaction_removed_tokens=500, at=at(50)),
        make(catalog, 4, cache_hit=True, user="U2", at=at(51)),
        make(catalog, 5, backend="ec2", model=EC2_MODEL, input_tokens=1_000, output_tokens=0),
        make(catalog, 6, backend="ec2", model=EC2_MODEL, input_tokens=2_000, output_tokens=1_000,
             user="U2", at=at(80)),
        make(catalog, 7, model=UNKNOWN, input_tokens=300, output_tokens=30, channel="C2"),
    ]  # fmt: skip


def test_totals_are_the_sum_of_the_records(catalog: PriceCatalog) -> None:
    records = [r for r in mixed_week(catalog) if r.backend == "bedrock"]
    result = report(records, catalog, tiers=BEDROCK_ONLY)

    priced = [r.cost_micro_usd for r in records if r.cost_micro_usd is not None]
    assert result.spend_micro_usd == sum(priced)
    assert result.requests == len(records)
    assert result.tokens == sum(r.total_input_tokens + r.output_tokens for r in records)
    assert result.cache_hits == 1
    assert result.cache_hit_rate == pytest.approx(1 / len(records))
    assert result.ec2 is None
    for dimension, rows in result.breakdowns.items():
        assert sum(row.spend_micro_usd for row in rows) == result.spend_micro_usd, dimension
        assert sum(row.requests for row in rows) == result.requests, dimension
        assert sum(row.tokens for row in rows) == result.tokens, dimension
    spends = [row.spend_micro_usd for row in result.breakdowns["model"]]
    assert spends == sorted(spends, reverse=True)


def test_savings_parts_sum_to_baseline_minus_actual(catalog: PriceCatalog) -> None:
    result = report(mixed_week(catalog), catalog)
    savings = result.savings

    assert sum(savings.by_lever.values()) == savings.baseline_micro_usd - savings.actual_micro_usd
    assert result.baseline_micro_usd == savings.baseline_micro_usd
    # With traffic on the instance every micro-dollar of it sits on a row, so the savings cover
    # all the spend; only the unpriced row is outside both.
    assert savings.actual_micro_usd == result.spend_micro_usd
    assert savings.unpriced_by_model == {UNKNOWN: 1}
    assert savings.by_lever["compaction"] > 0 and savings.by_lever["prompt_caching"] > 0


def test_unpriced_rows_are_listed_per_model_and_counted_nowhere(catalog: PriceCatalog) -> None:
    records = mixed_week(catalog)
    result = report(records, catalog)
    unknown = next(r for r in records if r.model == UNKNOWN)

    assert [(u.model, u.requests, u.tokens) for u in result.unpriced] == [(UNKNOWN, 1, 330)]
    assert result.unpriced_requests == 1
    row = next(row for row in result.breakdowns["model"] if row.key == UNKNOWN)
    assert (row.requests, row.unpriced_requests, row.spend_micro_usd) == (1, 1, 0)
    without = report([r for r in records if r is not unknown], catalog)
    assert without.spend_micro_usd == result.spend_micro_usd
    assert without.baseline_micro_usd == result.baseline_micro_usd


def test_ec2_cost_is_hours_times_price_spread_by_tokens(catalog: PriceCatalog) -> None:
    records = mixed_week(catalog)
    result = report(records, catalog, schedule="mon-fri 07-19")
    ec2 = result.ec2
    assert ec2 is not None and ec2.period_cost is not None

    assert ec2.hours_up == 60
    assert ec2.period_cost.cost_micro_usd == 60 * G5_HOURLY
    assert (ec2.requests, ec2.tokens) == (2, 4_000)
    # 1,000 and 3,000 tokens: a quarter and three quarters of the instance's period.
    ec2_rows = next(row for row in result.breakdowns["backend"] if row.key == "ec2")
    assert ec2_rows.spend_micro_usd == ec2.attributed_micro_usd == 60 * G5_HOURLY
    by_user = {row.key: row.spend_micro_usd for row in result.breakdowns["user"]}
    bedrock = {
        user: sum(r.cost_micro_usd or 0 for r in records if r.user == user and r.backend != "ec2")
        for user in ("U1", "U2")
    }
    assert by_user["U1"] - bedrock["U1"] == 60 * G5_HOURLY // 4
    assert by_user["U2"] - bedrock["U2"] == 60 * G5_HOURLY * 3 // 4
    assert ec2.micro_usd_per_million_tokens == 60 * G5_HOURLY * 1_000_000 // 4_000
    assert ec2.idle_micro_usd == 0
    bedrock_spend = sum(r.cost_micro_usd or 0 for r in records if r.backend == "bedrock")
    assert result.spend_micro_usd == bedrock_spend + 60 * G5_HOURLY


def test_an_idle_instance_still_shows_its_cost(catalog: PriceCatalog) -> None:
    result = report([], catalog, schedule="mon-fri 07-19")
    assert result.ec2 is not None

    assert result.requests == 0
    assert result.ec2.idle_micro_usd == 60 * G5_HOURLY
    assert result.ec2.micro_usd_per_million_tokens is None
    assert [(r.key, r.requests, r.spend_micro_usd) for r in result.breakdowns["backend"]] == [
        ("ec2", 0, 60 * G5_HOURLY)
    ]
    assert result.spend_micro_usd == 60 * G5_HOURLY
    assert result.breakdowns["model"] == ()
    # The idle hours land on the days the instance was up: Monday to Friday, 12 h each.
    assert [day.ec2_micro_usd for day in result.daily] == [12 * G5_HOURLY] * 5 + [0, 0]


def test_no_ec2_tier_and_no_ec2_rows_means_no_instance(catalog: PriceCatalog) -> None:
    result = report([make(catalog)], catalog, tiers=BEDROCK_ONLY)
    assert result.ec2 is None
    assert [row.key for row in result.breakdowns["backend"]] == ["bedrock"]


def test_daily_spend_covers_every_day_and_adds_up(catalog: PriceCatalog) -> None:
    result = report(mixed_week(catalog), catalog, schedule="mon-fri 07-19")

    assert [day.day for day in result.daily] == [
        START.date() + datetime.timedelta(days=n) for n in range(7)
    ]
    assert sum(day.spend_micro_usd for day in result.daily) == result.spend_micro_usd
    assert sum(day.baseline_micro_usd for day in result.daily) == sum(
        r.baseline_micro_usd or 0 for r in mixed_week(catalog)
    )
    assert EC2_MODEL not in result.daily[0].by_model


def test_a_filter_shows_one_user_with_their_share_of_the_instance(catalog: PriceCatalog) -> None:
    records = mixed_week(catalog)
    everyone = report(records, catalog)
    u2 = report(records, catalog, scope=ReportFilter(user="U2"))
    assert u2.ec2 is not None and everyone.ec2 is not None

    mine = [r for r in records if r.user == "U2"]
    assert u2.requests == len(mine)
    assert [row.key for row in u2.breakdowns["user"]] == ["U2"]
    assert u2.ec2.attributed_micro_usd == everyone.ec2.attributed_micro_usd * 3 // 4
    assert u2.ec2.period_cost == everyone.ec2.period_cost
    assert u2.ec2.idle_micro_usd == 0
    assert str(u2.filter) == "user U2"
    c2 = report(records, catalog, scope=ReportFilter(channel="C2"))
    assert c2.requests == sum(r.channel == "C2" for r in records)
    assert str(ReportFilter(user="U1", channel="C1")) == "user U1, channel C1"
    assert str(ReportFilter()) == "everyone"


def test_idle_hours_are_nobodys_spend_in_a_filtered_report(catalog: PriceCatalog) -> None:
    result = report([make(catalog)], catalog, scope=ReportFilter(user="U1"))
    assert result.ec2 is not None
    assert result.ec2.idle_micro_usd == 0
    assert result.spend_micro_usd == make(catalog).cost_micro_usd


def test_break_even_against_a_hand_computation(catalog: PriceCatalog) -> None:
    # 3,000 input tokens (1,000 of them cache reads) and 1,000 output, in two clock hours.
    records = [
        make(catalog, 1, input_tokens=1_000, cache_read_tokens=1_000, output_tokens=600),
        make(catalog, 2, backend="ec2", model=EC2_MODEL, input_tokens=1_000, output_tokens=400,
             at=at(30.5)),
        make(catalog, 3, cache_hit=True, input_tokens=50_000, output_tokens=9_000, at=at(40)),
    ]  # fmt: skip
    be = report(records, catalog, schedule="mon-fri 07-19").break_even

    assert (be.input_tokens, be.output_tokens, be.tokens) == (3_000, 1_000, 4_000)
    assert be.mix_is_observed
    # Plain rates, USD per 1M = micro-USD per token: nova 0.035/0.14, haiku 1/5, sonnet 3/15.
    assert [(t.tier, t.model, t.traffic_micro_usd) for t in be.tiers] == [
        ("small", NOVA, 105 + 140),
        ("medium", HAIKU, 3_000 + 5_000),
        ("large", SONNET, 9_000 + 15_000),
    ]
    monthly = G5_HOURLY * HOURS_PER_MONTH
    assert be.monthly_always_on_micro_usd == monthly == 734_380_000
    # Break-even: monthly cost / price per token blended 3:1 (this traffic's own mix).
    assert [t.break_even_tokens_per_month for t in be.tiers] == [
        11_989_877_551,  # 734,380,000 / 0.06125
        367_190_000,  # / 2.0
        122_396_667,  # / 6.0
    ]
    options = {o.kind: (o.hours, o.cost_micro_usd) for o in be.instance_options}
    assert options == {
        ALWAYS_ON: (168, 168 * G5_HOURLY),
        ON_SCHEDULE: (60, 60 * G5_HOURLY),
        WHEN_ACTIVE: (2, 2 * G5_HOURLY),  # 10:00 Monday and 06:00 Tuesday
    }
    assert be.peak_hour == START + datetime.timedelta(hours=10)
    assert be.peak_hour_output_tokens == 600
    assert not be.exceeds_one_instance


def test_break_even_matches_facts_at_a_three_to_one_mix_without_traffic(
    catalog: PriceCatalog,
) -> None:
    be = report([], catalog).break_even
    assert not be.mix_is_observed
    assert [round(t.break_even_tokens_per_month or 0, -6) for t in be.tiers] == [
        11_990_000_000,  # FACTS: ~12B Nova Micro tokens
        367_000_000,  # ~367M Claude Haiku 4.5 tokens
        122_000_000,
    ]
    assert [o.kind for o in be.instance_options] == [ALWAYS_ON, WHEN_ACTIVE]
    assert be.instance_options[1].cost_micro_usd == 0
    assert be.peak_hour is None


def test_a_tier_led_by_ec2_is_compared_on_its_bedrock_fallback(catalog: PriceCatalog) -> None:
    tiers = {"small": (Route("ec2", EC2_MODEL), Route("bedrock", NOVA)), "x": (Route("ec2", "m"),)}
    be = report([make(catalog)], catalog, tiers=tiers).break_even
    assert [(t.tier, t.model) for t in be.tiers] == [("small", NOVA)]


def test_stopped_when_idle_never_bills_more_than_the_period(catalog: PriceCatalog) -> None:
    start, end = START + datetime.timedelta(minutes=30), END - datetime.timedelta(minutes=30)
    # A request in each of the 168 clock hours the period touches, the first and last halved.
    records = [make(catalog, n, at=at(n + 0.75)) for n in range(167)] + [
        make(catalog, at=at(167.25))
    ]
    result = build_report(
        records,
        catalog,
        period_start=start,
        period_end=end,
        tiers=TIERS,
        ec2_instance_type="g5.xlarge",
        ec2_schedule=Ec2Schedule.parse("always"),
        title="t",
    )
    hours = {o.kind: o.hours for o in result.break_even.instance_options}
    assert hours[WHEN_ACTIVE] == hours[ALWAYS_ON] == 167


def test_the_busiest_hour_is_flagged_when_one_instance_could_not_decode_it(
    catalog: PriceCatalog,
) -> None:
    busy = [make(catalog, n, output_tokens=30_000, at=at(9 + n / 10)) for n in range(5)]
    be = report(busy, catalog).break_even
    assert be.peak_hour_output_tokens == 150_000 > be.one_instance_output_tokens_per_hour
    assert be.one_instance_output_tokens_per_hour == 37 * 3600
    assert be.exceeds_one_instance


def test_rows_outside_the_period_are_left_out(catalog: PriceCatalog) -> None:
    records = [make(catalog, 1, at=at(-1)), make(catalog, 2), make(catalog, 3, at=at(24 * 7 + 1))]
    assert report(records, catalog, tiers=BEDROCK_ONLY).requests == 1


def test_an_unpriced_instance_type_leaves_ec2_rows_unpriced(catalog: PriceCatalog) -> None:
    records = [make(catalog, backend="ec2", model=EC2_MODEL)]
    result = build_report(
        records,
        catalog,
        period_start=START,
        period_end=END,
        tiers=TIERS,
        ec2_instance_type="p5.48xlarge",
        ec2_schedule=Ec2Schedule.parse("always"),
        title="t",
    )
    assert result.ec2 is not None and result.ec2.period_cost is None
    assert result.ec2.hours_up == 168
    assert [(u.model, u.requests) for u in result.unpriced] == [(EC2_MODEL, 1)]
    assert result.spend_micro_usd == 0
    assert all(o.cost_micro_usd is None for o in result.break_even.instance_options)


def test_period_bounds() -> None:
    now = datetime.datetime(2026, 11, 27, 10, 30, tzinfo=datetime.UTC)
    assert period_bounds("today", now) == (now.replace(hour=0, minute=0), now, "today")
    assert period_bounds("7d", now) == (now - datetime.timedelta(days=7), now, "last 7 days")
    assert period_bounds("30d", now)[0] == now - datetime.timedelta(days=30)
    with pytest.raises(ValueError, match="period must be one of today, 7d, 30d"):
        period_bounds("1y", now)


def test_hours_are_exact_decimals(catalog: PriceCatalog) -> None:
    result = build_report(
        [],
        catalog,
        period_start=START,
        period_end=START + datetime.timedelta(minutes=90),
        tiers=TIERS,
        ec2_instance_type="g5.xlarge",
        ec2_schedule=Ec2Schedule.parse("always"),
        title="t",
    )
    assert result.ec2 is not None and result.ec2.period_cost is not None
    assert result.ec2.hours_up == Decimal("1.5")
    assert result.ec2.period_cost.cost_micro_usd == 1_509_000
