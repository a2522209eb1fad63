"""The /llm-cost report built from hand-made ledger rows with known usage and known prices, and
instance hours recorded as the instance controller records them."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import fakeredis
import pytest

from gateway.break_even import ALWAYS_ON, AS_RUN, HOURS_PER_MONTH
from gateway.instance_hours import Ec2Hours, InstanceHours, Interval
from gateway.ledger import LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.report import (
    CostReport,
    ReportFilter,
    build_report,
    period_bounds,
)
from gateway.types import Route
from tests.clock import at as day_at
from tests.clock import today
from tests.ledger_rows import HAIKU, SONNET, ledger_row

NOVA = "amazon.nova-micro-v1:0"
EC2_MODEL = "llama-3.1-8b-instruct"
UNKNOWN = "us.unknown-model-v9:0"
G5_HOURLY = 1_006_000  # g5.xlarge, micro-USD per hour (prices.json)
# The Monday before last, 00:00 UTC, to the next Monday: 168 h.
START = day_at(today() - datetime.timedelta(days=today().weekday() + 14))
END = START + datetime.timedelta(days=7)
INSTANCE = "i-0123456789abcdef0"
# Mon-Fri 07:00-19:00: 60 h of the week, 12 each weekday.
OFFICE_HOURS = tuple((24 * d + 7, 24 * d + 19) for d in range(5))
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


def hours_run(
    catalog: PriceCatalog,
    running: tuple[tuple[float, float], ...] | None,
    *,
    instance_type: str = "g5.xlarge",
    start: datetime.datetime = START,
    end: datetime.datetime = END,
) -> Ec2Hours:
    """The instance running in these (start hour, end hour) stretches of the period; None: no
    instance configured."""
    return Ec2Hours(
        instance_type=instance_type,
        hourly_micro_usd=catalog.instance_hourly_micro_usd(instance_type),
        period_start=start.timestamp(),
        period_end=end.timestamp(),
        intervals=tuple(Interval(INSTANCE, at(a), at(b)) for a, b in running or ()),
        configured=running is not None,
    )


def report(
    records: list[LedgerRecord],
    catalog: PriceCatalog,
    *,
    tiers: Mapping[str, Sequence[Route]] = TIERS,
    running: tuple[tuple[float, float], ...] | None = ((0, 168),),
    scope: ReportFilter | None = None,
) -> CostReport:
    return build_report(
        records,
        catalog,
        period_start=START,
        period_end=END,
        tiers=tiers,
        ec2_hours=hours_run(catalog, running),
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
    result = report(records, catalog, tiers=BEDROCK_ONLY, running=None)

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


def test_ec2_cost_is_the_hours_it_ran_times_price_spread_by_tokens(
    catalog: PriceCatalog,
) -> None:
    records = mixed_week(catalog)
    result = report(records, catalog, running=OFFICE_HOURS)
    ec2 = result.ec2
    assert ec2 is not None and ec2.hours.cost_micro_usd is not None

    assert ec2.hours.hours == 60
    assert ec2.hours.cost_micro_usd == 60 * G5_HOURLY
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
    # Beside it: the same two requests on their tier's Bedrock model (medium: Haiku, 1/5 per
    # 1M), and one instance always on.
    assert ec2.bedrock_micro_usd == (1_000 * 1 + 0) + (2_000 * 1 + 1_000 * 5)
    assert ec2.hours.always_on_micro_usd == 168 * G5_HOURLY


def test_hours_no_request_used_still_show_their_cost(catalog: PriceCatalog) -> None:
    result = report([], catalog, running=OFFICE_HOURS)
    assert result.ec2 is not None

    assert result.requests == 0
    assert result.ec2.idle_micro_usd == 60 * G5_HOURLY
    assert result.ec2.micro_usd_per_million_tokens is None
    assert [(r.key, r.requests, r.spend_micro_usd) for r in result.breakdowns["backend"]] == [
        ("ec2", 0, 60 * G5_HOURLY)
    ]
    assert result.spend_micro_usd == 60 * G5_HOURLY
    assert result.breakdowns["model"] == ()
    # The hours land on the days the instance ran: Monday to Friday, 12 h each.
    assert [day.ec2_micro_usd for day in result.daily] == [12 * G5_HOURLY] * 5 + [0, 0]


def test_no_instance_configured_means_no_instance_hours(catalog: PriceCatalog) -> None:
    """EC2 rows from a server the bot does not control: their hours are unknown, so they stay
    unpriced; nothing is charged for an instance, yet break-even still shows one always on."""
    records = mixed_week(catalog)
    result = report(records, catalog, running=None)

    assert result.ec2 is None
    bedrock_spend = sum(r.cost_micro_usd or 0 for r in records if r.backend == "bedrock")
    assert result.spend_micro_usd == bedrock_spend
    assert all(day.ec2_micro_usd == 0 for day in result.daily)
    unpriced = {u.model: (u.backend, u.requests) for u in result.unpriced}
    assert unpriced[EC2_MODEL] == ("ec2", 2)
    options = {o.kind: o.cost_micro_usd for o in result.break_even.instance_options}
    assert options == {ALWAYS_ON: 168 * G5_HOURLY}


def test_no_ec2_tier_and_no_instance_means_no_instance(catalog: PriceCatalog) -> None:
    result = report([make(catalog)], catalog, tiers=BEDROCK_ONLY, running=None)
    assert result.ec2 is None
    assert [row.key for row in result.breakdowns["backend"]] == ["bedrock"]


def test_daily_spend_covers_every_day_and_adds_up(catalog: PriceCatalog) -> None:
    result = report(mixed_week(catalog), catalog, running=OFFICE_HOURS)

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
    assert u2.ec2.hours == everyone.ec2.hours
    assert u2.ec2.idle_micro_usd == 0
    assert str(u2.filter) == "user U2"
    c2 = report(records, catalog, scope=ReportFilter(channel="C2"))
    assert c2.requests == sum(r.channel == "C2" for r in records)
    assert str(ReportFilter(user="U1", channel="C1")) == "user U1, channel C1"
    assert str(ReportFilter()) == "everyone"


def test_idle_hours_are_nobodys_spend_in_a_filtered_report(catalog: PriceCatalog) -> None:
    result = report([make(catalog)], catalog, scope=ReportFilter(user="U1"))
    assert result.ec2 is not None and result.ec2.hours.cost_micro_usd == 168 * G5_HOURLY
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
    be = report(records, catalog, running=OFFICE_HOURS).break_even

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
    options = [(o.kind, o.hours, o.cost_micro_usd) for o in be.instance_options]
    assert options == [(AS_RUN, 60, 60 * G5_HOURLY), (ALWAYS_ON, 168, 168 * G5_HOURLY)]
    assert be.peak_hour == START + datetime.timedelta(hours=10)
    assert be.peak_hour_output_tokens == 600
    assert not be.exceeds_one_instance


def test_break_even_matches_facts_at_a_three_to_one_mix_without_traffic(
    catalog: PriceCatalog,
) -> None:
    be = report([], catalog, running=None).break_even
    assert not be.mix_is_observed
    assert [round(t.break_even_tokens_per_month or 0, -6) for t in be.tiers] == [
        11_990_000_000,  # FACTS: ~12B Nova Micro tokens
        367_000_000,  # ~367M Claude Haiku 4.5 tokens
        122_000_000,
    ]
    assert [o.kind for o in be.instance_options] == [ALWAYS_ON]
    assert be.peak_hour is None


def test_a_tier_led_by_ec2_is_compared_on_its_bedrock_fallback(catalog: PriceCatalog) -> None:
    tiers = {"small": (Route("ec2", EC2_MODEL), Route("bedrock", NOVA)), "x": (Route("ec2", "m"),)}
    be = report([make(catalog)], catalog, tiers=tiers).break_even
    assert [(t.tier, t.model) for t in be.tiers] == [("small", NOVA)]


def test_hours_are_those_recorded_within_the_period(catalog: PriceCatalog) -> None:
    """State changes as the controller records them: an instance already running when the
    period starts, stopped, started again and still running at its end bills only inside it."""
    client = fakeredis.FakeRedis()
    hours = InstanceHours(client)
    for at_hour, state in [(-5, "running"), (2, "stopping"), (2.01, "stopped"), (30, "pending"),
                           (30.05, "running"), (30.05, "running"), (100, "running")]:  # fmt: skip
        hours.record(INSTANCE, state, at(at_hour))
    hours.record("i-0notconfigured0000", "running", at(1))
    period = hours.period(catalog, "g5.xlarge", (INSTANCE,), START.timestamp(), END.timestamp())

    assert [(i.start, i.end) for i in period.intervals] == [
        (at(0), at(2)),
        (at(30.05), END.timestamp()),
    ]
    assert period.hours == 2 + Decimal("137.95")
    result = build_report(
        [], catalog, period_start=START, period_end=END, tiers=TIERS, ec2_hours=period, title="t"
    )
    assert result.ec2 is not None and result.ec2.hours.cost_micro_usd == round(
        Decimal("139.95") * G5_HOURLY
    )
    assert hours.period(catalog, "g5.xlarge", None, at(0), at(5)).intervals == ()
    tagged = hours.period(catalog, "g5.xlarge", (), at(0), at(5))
    assert {i.instance_id for i in tagged.intervals} == {INSTANCE, "i-0notconfigured0000"}


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
        ec2_hours=hours_run(catalog, ((0, 168),), instance_type="p5.48xlarge"),
        title="t",
    )
    assert result.ec2 is not None and result.ec2.hours.cost_micro_usd is None
    assert result.ec2.hours.hours == 168
    assert [(u.model, u.requests) for u in result.unpriced] == [(EC2_MODEL, 1)]
    assert result.spend_micro_usd == 0
    assert all(o.cost_micro_usd is None for o in result.break_even.instance_options)


def test_period_bounds() -> None:
    now = day_at(today(), 10, 30)
    assert period_bounds("today", now) == (now.replace(hour=0, minute=0), now, "today")
    assert period_bounds("7d", now) == (now - datetime.timedelta(days=7), now, "last 7 days")
    assert period_bounds("30d", now)[0] == now - datetime.timedelta(days=30)
    with pytest.raises(ValueError, match="period must be one of today, 7d, 30d"):
        period_bounds("1y", now)


def test_hours_are_exact_decimals(catalog: PriceCatalog) -> None:
    end = START + datetime.timedelta(minutes=90)
    result = build_report(
        [],
        catalog,
        period_start=START,
        period_end=end,
        tiers=TIERS,
        ec2_hours=hours_run(catalog, ((0, 1.5),), end=end),
        title="t",
    )
    assert result.ec2 is not None and result.ec2.hours.cost_micro_usd is not None
    assert result.ec2.hours.hours == Decimal("1.5")
    assert result.ec2.hours.cost_micro_usd == 1_509_000
    one_second = hours_run(catalog, ((0, 1 / 3600),))
    assert one_second.hours * 3600 == pytest.approx(Decimal(1), abs=Decimal("1e-30"))
    # $1.006 an hour is 279.44… micro-USD a second: rounded once, half up.
    assert one_second.cost_micro_usd == 279
