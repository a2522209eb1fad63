"""The `/llm-cost` report as data: what a period cost, what it saved, and Bedrock vs EC2.

`build_report` turns a period's ledger rows into a `CostReport` of frozen values that the
terminal table, the Slack blocks and the chart all draw from, so the three never disagree.

Money: a Bedrock row's cost is what the ledger recorded. The ec2 backend is billed per instance
hour, not per token, so its rows carry no cost; here the instance's cost for the period (hours
up per `EC2_SCHEDULE` times the hourly price) is spread over the ec2 requests it served, in
proportion to their tokens, and the spread rows then count like any other. An instance with no
traffic still cost its hours: that amount belongs to no row and is shown on the ec2 backend
row and in the EC2 section. A row that cannot be priced is listed per model and counted in
no total — never as $0.

Break-even (Bedrock tiers against the instance for this traffic) is `gateway.break_even`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gateway.break_even import BreakEven, break_even, clock_hour
from gateway.ec2_schedule import Ec2Schedule
from gateway.ledger import DIMENSIONS, LedgerRecord
from gateway.pricing import EC2_BACKEND, Ec2PeriodCost, PriceCatalog, spread_micro_usd
from gateway.savings import SavingsBreakdown, real_levers, savings_by_lever
from gateway.types import Route

PERIODS: Mapping[str, tuple[str, Callable[[datetime.datetime], datetime.datetime]]] = {
    "today": ("today", lambda now: now.replace(hour=0, minute=0, second=0, microsecond=0)),
    "7d": ("last 7 days", lambda now: now - datetime.timedelta(days=7)),
    "30d": ("last 30 days", lambda now: now - datetime.timedelta(days=30)),
}


def period_bounds(
    period: str, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime, str]:
    """`("7d", now)` -> (start, end, "last 7 days"), in UTC; the CLI and Slack share it."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)} (got {period!r})")
    title, start_of = PERIODS[period]
    end = now.astimezone(datetime.UTC)
    return start_of(end), end, title


@dataclass(frozen=True)
class ReportFilter:
    """Only one user's and/or one channel's rows; the EC2 cost is still spread over everyone."""

    user: str | None = None
    channel: str | None = None

    def matches(self, rec: LedgerRecord) -> bool:
        return self.user in (None, rec.user) and self.channel in (None, rec.channel)

    @property
    def is_filtered(self) -> bool:
        return bool(self._chosen())

    def __str__(self) -> str:
        parts = [f"{name} {value}" for name, value in self._chosen().items()]
        return ", ".join(parts) or "everyone"

    def _chosen(self) -> dict[str, str]:
        return {name: value for name, value in dataclasses.asdict(self).items() if value}


@dataclass(frozen=True)
class SpendRow:
    """One user's, channel's, model's or backend's share; spend counts priced rows only."""

    key: str
    requests: int
    input_tokens: int  # billed input + cache reads + cache writes
    output_tokens: int
    spend_micro_usd: int
    unpriced_requests: int
    cache_hits: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class UnpricedModel:
    model: str
    requests: int
    tokens: int


@dataclass(frozen=True)
class DaySpend:
    """One UTC day: per-token spend by model, the instance's hours, and the naive baseline."""

    day: datetime.date
    by_model: Mapping[str, int]  # priced per token; the ec2 backend's rows are not here
    ec2_micro_usd: int
    baseline_micro_usd: int

    @property
    def spend_micro_usd(self) -> int:
        return sum(self.by_model.values()) + self.ec2_micro_usd


@dataclass(frozen=True)
class Ec2Picture:
    """The instance over the whole period, and the part of it this report's rows carry."""

    instance_type: str
    schedule: str
    hours_up: Decimal
    hourly_micro_usd: int | None
    # None when the instance type has no price: every ec2 row is then unpriced.
    period_cost: Ec2PeriodCost | None
    requests: int  # served by the instance, within the report's filter
    tokens: int
    attributed_micro_usd: int
    # Instance cost no row carries (no traffic at all); always 0 in a filtered report.
    idle_micro_usd: int

    @property
    def micro_usd_per_million_tokens(self) -> int | None:
        """The realised price: the whole period's cost over every token it served."""
        return None if self.period_cost is None else self.period_cost.micro_usd_per_million_tokens


@dataclass(frozen=True)
class CostReport:
    title: str
    period_start: datetime.datetime
    period_end: datetime.datetime
    filter: ReportFilter
    requests: int
    tokens: int
    cache_hits: int
    # Priced rows' cost, EC2 shares included, plus the ec2 idle cost of an unfiltered report.
    spend_micro_usd: int
    savings: SavingsBreakdown
    # dimension (user, channel, model, backend) -> rows sorted by spend, biggest first.
    breakdowns: Mapping[str, tuple[SpendRow, ...]]
    unpriced: tuple[UnpricedModel, ...]
    daily: tuple[DaySpend, ...]
    ec2: Ec2Picture | None  # None when no tier uses ec2 and no ec2 row is in the period
    break_even: BreakEven

    @property
    def baseline_micro_usd(self) -> int:
        """The naive way's cost for the rows in `savings` (those with a cost and a baseline)."""
        return self.savings.baseline_micro_usd

    @property
    def cache_hit_rate(self) -> float | None:
        return self.cache_hits / self.requests if self.requests else None

    @property
    def unpriced_requests(self) -> int:
        return sum(model.requests for model in self.unpriced)


def build_report(
    records: list[LedgerRecord],
    catalog: PriceCatalog,
    *,
    period_start: datetime.datetime,
    period_end: datetime.datetime,
    tiers: Mapping[str, Sequence[Route]],
    ec2_instance_type: str,
    ec2_schedule: Ec2Schedule,
    title: str,
    filter: ReportFilter | None = None,
) -> CostReport:
    """The report for `[period_start, period_end]`. Pass every row of the period, unfiltered:
    the EC2 spread needs all of the instance's requests even when the report shows one user."""
    scope = filter or ReportFilter()
    lo, hi = period_start.timestamp(), period_end.timestamp()
    in_period = [rec for rec in records if lo <= rec.at <= hi]
    hours_up = ec2_schedule.hours_up(period_start, period_end)
    costed, period_cost = _with_ec2_costs(in_period, catalog, ec2_instance_type, hours_up)
    rows = [rec for rec in costed if scope.matches(rec)]
    ec2 = None
    uses_ec2 = any(r.backend == EC2_BACKEND for routes in tiers.values() for r in routes)
    if uses_ec2 or any(rec.backend == EC2_BACKEND for rec in in_period):
        ec2 = _ec2_picture(
            rows, costed, ec2_schedule, hours_up, period_cost, catalog, ec2_instance_type
        )
        ec2 = dataclasses.replace(ec2, idle_micro_usd=0) if scope.is_filtered else ec2
    idle_micro_usd = ec2.idle_micro_usd if ec2 else 0
    calls = [rec for rec in rows if not rec.cache_hit]
    return CostReport(
        title=title,
        period_start=period_start,
        period_end=period_end,
        filter=scope,
        requests=len(rows),
        tokens=sum(_tokens(rec) for rec in rows),
        cache_hits=len(rows) - len(calls),
        spend_micro_usd=sum(rec.cost_micro_usd or 0 for rec in rows) + idle_micro_usd,
        savings=real_levers(savings_by_lever(rows, catalog)),
        breakdowns=_breakdowns(rows, idle_micro_usd),
        unpriced=_unpriced(rows),
        daily=_daily(
            rows,
            (period_start, period_end),
            ec2_schedule,
            ec2.attributed_micro_usd + ec2.idle_micro_usd if ec2 else 0,
        ),
        ec2=ec2,
        break_even=break_even(
            calls, catalog, tiers, ec2_instance_type, ec2_schedule, (period_start, period_end)
        ),
    )


def _tokens(rec: LedgerRecord) -> int:
    return rec.total_input_tokens + rec.output_tokens


def _is_served_by_ec2(rec: LedgerRecord) -> bool:
    """A response-cache hit ran no model, so the instance did not serve it."""
    return rec.backend == EC2_BACKEND and not rec.cache_hit


def _with_ec2_costs(
    records: list[LedgerRecord], catalog: PriceCatalog, instance_type: str, hours_up: Decimal
) -> tuple[list[LedgerRecord], Ec2PeriodCost | None]:
    """The rows with each served ec2 row's share of the period's instance cost filled in."""
    served = [i for i, rec in enumerate(records) if _is_served_by_ec2(rec)]
    weights = {f"{i:09d}": _tokens(records[i]) for i in served}
    period_cost = catalog.ec2_cost_for_period(instance_type, hours_up, sum(weights.values()))
    if period_cost is None:
        return records, None
    shares = spread_micro_usd(period_cost.cost_micro_usd, weights)
    costed = list(records)
    for i in served:
        costed[i] = dataclasses.replace(records[i], cost_micro_usd=shares[f"{i:09d}"])
    return costed, period_cost


def _ec2_picture(
    rows: list[LedgerRecord],
    every_row: list[LedgerRecord],
    schedule: Ec2Schedule,
    hours_up: Decimal,
    period_cost: Ec2PeriodCost | None,
    catalog: PriceCatalog,
    instance_type: str,
) -> Ec2Picture:
    """What the report's rows got of the instance, and what no row carries (idle).

    Idle is the instance cost minus every share: all of it with no traffic, nothing otherwise.
    The caller zeroes it in a filtered report: idle hours are nobody's spend.
    """
    served = [rec for rec in rows if _is_served_by_ec2(rec)]
    shares = sum(rec.cost_micro_usd or 0 for rec in every_row if _is_served_by_ec2(rec))
    return Ec2Picture(
        instance_type=instance_type,
        schedule=str(schedule),
        hours_up=hours_up,
        hourly_micro_usd=catalog.instance_hourly_micro_usd(instance_type),
        period_cost=period_cost,
        requests=len(served),
        tokens=sum(_tokens(rec) for rec in served),
        attributed_micro_usd=sum(rec.cost_micro_usd or 0 for rec in served),
        idle_micro_usd=0 if period_cost is None else period_cost.cost_micro_usd - shares,
    )


def _breakdowns(
    rows: list[LedgerRecord], ec2_idle_micro_usd: int
) -> dict[str, tuple[SpendRow, ...]]:
    grouped: dict[str, dict[str, SpendRow]] = {}
    for dimension, value_of in DIMENSIONS.items():
        by_key: dict[str, list[LedgerRecord]] = defaultdict(list)
        for rec in rows:
            by_key[value_of(rec)].append(rec)
        grouped[dimension] = {key: _spend_row(key, recs) for key, recs in by_key.items()}
    if ec2_idle_micro_usd:
        backends = grouped["backend"]
        row = backends.get(EC2_BACKEND) or _spend_row(EC2_BACKEND, [])
        backends[EC2_BACKEND] = dataclasses.replace(
            row, spend_micro_usd=row.spend_micro_usd + ec2_idle_micro_usd
        )
    return {
        dimension: tuple(sorted(by_key.values(), key=_biggest_first))
        for dimension, by_key in grouped.items()
    }


def _spend_row(key: str, recs: list[LedgerRecord]) -> SpendRow:
    return SpendRow(
        key=key,
        requests=len(recs),
        input_tokens=sum(rec.total_input_tokens for rec in recs),
        output_tokens=sum(rec.output_tokens for rec in recs),
        spend_micro_usd=sum(rec.cost_micro_usd or 0 for rec in recs),
        unpriced_requests=sum(rec.cost_micro_usd is None for rec in recs),
        cache_hits=sum(rec.cache_hit for rec in recs),
    )


def _biggest_first(row: SpendRow) -> tuple[int, int, str]:
    return (-row.spend_micro_usd, -row.requests, row.key)


def _unpriced(rows: Iterable[LedgerRecord]) -> tuple[UnpricedModel, ...]:
    requests: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    for rec in rows:
        if rec.cost_micro_usd is None:
            requests[rec.model] += 1
            tokens[rec.model] += _tokens(rec)
    return tuple(UnpricedModel(model, n, tokens[model]) for model, n in requests.most_common())


def _daily(
    rows: list[LedgerRecord],
    period: tuple[datetime.datetime, datetime.datetime],
    schedule: Ec2Schedule,
    ec2_micro_usd: int,
) -> tuple[DaySpend, ...]:
    """Every UTC day of the period, empty ones too, so a chart's time axis has no gaps.

    Per-token spend falls on its request's day. The instance's part (what this report carries
    of it) falls on the days it was up, by its hours: it bills by the hour, so a month of
    instance time must not land on the one week someone used it.
    """
    start, end = (at.astimezone(datetime.UTC) for at in period)
    last = (end - datetime.timedelta(microseconds=1)).date()
    days = [
        start.date() + datetime.timedelta(days=n) for n in range((last - start.date()).days + 1)
    ]
    spend: dict[datetime.date, Counter[str]] = {day: Counter() for day in days}
    baseline: Counter[datetime.date] = Counter()
    for rec in rows:
        day = clock_hour(rec.at).date()
        spend.setdefault(day, Counter())
        if rec.cost_micro_usd is not None and not _is_served_by_ec2(rec):
            spend[day][rec.model] += rec.cost_micro_usd
        baseline[day] += rec.baseline_micro_usd or 0
    up = {day.isoformat(): _microseconds_up(schedule, day, (start, end)) for day in spend}
    ec2 = spread_micro_usd(ec2_micro_usd, up)
    return tuple(
        DaySpend(day, dict(spend[day]), ec2[day.isoformat()], baseline[day])
        for day in sorted(spend)
    )


def _microseconds_up(
    schedule: Ec2Schedule, day: datetime.date, period: tuple[datetime.datetime, datetime.datetime]
) -> int:
    midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    start, end = max(midnight, period[0]), min(midnight + datetime.timedelta(days=1), period[1])
    return round(schedule.hours_up(start, end) * 3_600_000_000)


__all__ = [
    "PERIODS",
    "CostReport",
    "DaySpend",
    "Ec2Picture",
    "ReportFilter",
    "SpendRow",
    "UnpricedModel",
    "build_report",
    "period_bounds",
]
