"""The `/llm-cost` report as data: what a period cost, what it saved, and Bedrock vs EC2.

`build_report` turns a period's ledger rows into a `CostReport` of frozen values that the
terminal table, the Slack blocks and the chart all draw from, so the three never disagree.

Money: a Bedrock row's cost is what the ledger recorded. The ec2 backend is billed per instance
hour, not per token, so its rows carry no cost; the report asks `gateway.instance_hours` once
for the period (`Ec2Hours`: the hours the configured instances really ran, priced), and that
cost is spread over the ec2 requests they served, in proportion to their tokens; the spread
rows then count like any other. Hours no request used still cost: that amount belongs to no
row and is shown on the ec2 backend row, in the EC2 section, and in the savings as a negative
part of its own (`ec2_idle`), so that spend is Bedrock plus instance hours and saved is the
baseline minus spend, negative when the instances cost more than they saved. With no instance
configured there are no instance hours, and ec2 rows stay unpriced. A row that cannot be priced
is listed per model and counted in no total — never as $0.

Break-even (Bedrock tiers against the instances for this traffic) is `gateway.break_even`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gateway.break_even import BreakEven, bedrock_routes, break_even, clock_hour
from gateway.instance_hours import Ec2Hours, is_served_by_ec2
from gateway.ledger import DIMENSIONS, LedgerRecord
from gateway.lever_counts import CacheUse, by_cache, reason_of
from gateway.pricing import EC2_BACKEND, PriceCatalog, round_micro_usd
from gateway.savings import SavingsBreakdown, real_levers, savings_by_lever, with_idle_hours
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
    backend: str = ""


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
    """The configured instances over the whole period, and the part of them this report's
    rows carry."""

    hours: Ec2Hours
    tokens_served: int  # by every request the instances served in the period
    requests: int  # served by the instances, within the report's filter
    tokens: int
    attributed_micro_usd: int
    # Instance cost no row carries (hours no request used); always 0 in a filtered report.
    idle_micro_usd: int
    # The same requests (within the filter) on their tiers' Bedrock models, uncached; None
    # when one of them has no priced Bedrock route.
    bedrock_micro_usd: int | None

    @property
    def instance_type(self) -> str:
        return self.hours.instance_type

    @property
    def micro_usd_per_million_tokens(self) -> int | None:
        """The realised price: the whole period's cost over every token served."""
        cost = self.hours.cost_micro_usd
        if cost is None or not self.tokens_served:
            return None
        return round_micro_usd(Decimal(cost) * 1_000_000 / self.tokens_served)


# Where requests came in: Slack's three kinds are one edge, as are Jira's two.
EDGES: Mapping[str, str] = {
    "slash": "slack",
    "mention": "slack",
    "dm": "slack",
    "api": "api",
    "jira": "jira",
    "webhook": "jira",
    "cli": "cli",
}
API_SOURCE = "api"


@dataclass(frozen=True)
class EdgeSpend:
    """Spend by edge (Slack, the API, Jira, the CLI), and the API's by team and by token.

    Apart from `breakdowns`: the API's rows are a part of the period, not all of it. A
    token is one person's: a report that shows no one's spend leaves `api_by_token` out
    (`without_tokens`).
    """

    by_edge: tuple[SpendRow, ...] = ()
    api_by_team: tuple[SpendRow, ...] = ()
    api_by_token: tuple[SpendRow, ...] = ()

    @property
    def has_api(self) -> bool:
        return bool(self.api_by_team)

    def without_tokens(self) -> EdgeSpend:
        return dataclasses.replace(self, api_by_token=())


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
    ec2: Ec2Picture | None  # None when no instance is configured
    break_even: BreakEven
    edges: EdgeSpend = EdgeSpend()
    # Spend by routing reason (`pasted log + why → large`, `override`, `no call: thanks`),
    # biggest first, and hits and saving per cache kind (`gateway.lever_counts`).
    by_reason: tuple[SpendRow, ...] = ()
    caches: tuple[CacheUse, ...] = ()

    @property
    def baseline_micro_usd(self) -> int:
        """The naive way's cost for the rows in `savings` (those with a cost and a baseline)."""
        return self.savings.baseline_micro_usd

    @property
    def instance_micro_usd(self) -> int:
        """The part of the spend that is instance hours: the requests' shares, plus the idle
        hours in an unfiltered report."""
        return self.ec2.attributed_micro_usd + self.ec2.idle_micro_usd if self.ec2 else 0

    @property
    def per_token_micro_usd(self) -> int:
        """The part of the spend billed per token (Bedrock): the rest of it."""
        return self.spend_micro_usd - self.instance_micro_usd

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
    ec2_hours: Ec2Hours,
    title: str,
    filter: ReportFilter | None = None,
) -> CostReport:
    """The report for `[period_start, period_end]`. Pass every row of the period, unfiltered:
    the EC2 spread needs all of the instances' requests even when the report shows one user."""
    scope = filter or ReportFilter()
    lo, hi = period_start.timestamp(), period_end.timestamp()
    in_period = [rec for rec in records if lo <= rec.at <= hi]
    costed = ec2_hours.costed(in_period)
    rows = [rec for rec in costed if scope.matches(rec)]
    ec2 = None
    if ec2_hours.configured:
        ec2 = _ec2_picture(rows, costed, ec2_hours, _bedrock_cost(rows, catalog, tiers))
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
        savings=with_idle_hours(real_levers(savings_by_lever(rows, catalog)), idle_micro_usd),
        breakdowns=_breakdowns(rows, idle_micro_usd),
        unpriced=_unpriced(rows),
        daily=_daily(
            rows,
            (period_start, period_end),
            ec2_hours,
            ec2.attributed_micro_usd + ec2.idle_micro_usd if ec2 else 0,
        ),
        ec2=ec2,
        break_even=break_even(calls, catalog, tiers, ec2_hours),
        edges=_edge_spend(rows),
        by_reason=_grouped(rows, reason_of),
        caches=by_cache(rows),
    )


def _tokens(rec: LedgerRecord) -> int:
    return rec.total_input_tokens + rec.output_tokens


def _ec2_picture(
    rows: list[LedgerRecord],
    every_row: list[LedgerRecord],
    hours: Ec2Hours,
    bedrock_micro_usd: int | None,
) -> Ec2Picture:
    """What the report's rows got of the instances, and what no row carries (idle).

    Idle is the instances' cost minus every share: all of it with no traffic, nothing
    otherwise. The caller zeroes it in a filtered report: idle hours are nobody's spend.
    """
    served = [rec for rec in rows if is_served_by_ec2(rec)]
    every_served = [rec for rec in every_row if is_served_by_ec2(rec)]
    shares = sum(rec.cost_micro_usd or 0 for rec in every_served)
    cost = hours.cost_micro_usd
    return Ec2Picture(
        hours=hours,
        tokens_served=sum(_tokens(rec) for rec in every_served),
        requests=len(served),
        tokens=sum(_tokens(rec) for rec in served),
        attributed_micro_usd=sum(rec.cost_micro_usd or 0 for rec in served),
        idle_micro_usd=0 if cost is None else cost - shares,
        bedrock_micro_usd=bedrock_micro_usd,
    )


def _bedrock_cost(
    rows: list[LedgerRecord], catalog: PriceCatalog, tiers: Mapping[str, Sequence[Route]]
) -> int | None:
    """The requests the instances served, priced on their tier's Bedrock model, uncached."""
    routes = bedrock_routes(tiers)
    total = 0
    for rec in (rec for rec in rows if is_served_by_ec2(rec)):
        route = routes.get(rec.tier)
        priced = (
            None
            if route is None
            else catalog.uncached_cost_micro_usd(
                route.model, rec.total_input_tokens, rec.output_tokens
            )
        )
        if priced is None:
            return None
        total += priced
    return total


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


def _edge_spend(rows: list[LedgerRecord]) -> EdgeSpend:
    api = [rec for rec in rows if rec.source == API_SOURCE]
    return EdgeSpend(
        by_edge=_grouped(rows, lambda rec: EDGES.get(rec.source, rec.source)),
        api_by_team=_grouped(api, lambda rec: rec.workspace),
        api_by_token=_grouped(api, lambda rec: rec.user),
    )


def _grouped(
    rows: list[LedgerRecord], value_of: Callable[[LedgerRecord], str]
) -> tuple[SpendRow, ...]:
    by_key: dict[str, list[LedgerRecord]] = defaultdict(list)
    for rec in rows:
        by_key[value_of(rec)].append(rec)
    spend = (_spend_row(key, recs) for key, recs in by_key.items())
    return tuple(sorted(spend, key=_biggest_first))


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
    backends: dict[str, str] = {}
    for rec in rows:
        if rec.cost_micro_usd is None:
            requests[rec.model] += 1
            tokens[rec.model] += _tokens(rec)
            backends.setdefault(rec.model, rec.backend)
    return tuple(
        UnpricedModel(model, n, tokens[model], backends[model])
        for model, n in requests.most_common()
    )


def _daily(
    rows: list[LedgerRecord],
    period: tuple[datetime.datetime, datetime.datetime],
    hours: Ec2Hours,
    ec2_micro_usd: int,
) -> tuple[DaySpend, ...]:
    """Every UTC day of the period, empty ones too, so a chart's time axis has no gaps.

    Per-token spend falls on its request's day; the instances' part (what this report carries
    of it) falls on the days they ran, by their running time (`Ec2Hours.by_day`).
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
        if rec.cost_micro_usd is not None and not is_served_by_ec2(rec):
            spend[day][rec.model] += rec.cost_micro_usd
        baseline[day] += rec.baseline_micro_usd or 0
    ec2 = hours.by_day(ec2_micro_usd, sorted(spend))
    return tuple(DaySpend(day, dict(spend[day]), ec2[day], baseline[day]) for day in sorted(spend))


__all__ = [
    "PERIODS",
    "CostReport",
    "DaySpend",
    "Ec2Picture",
    "EdgeSpend",
    "ReportFilter",
    "SpendRow",
    "UnpricedModel",
    "build_report",
    "period_bounds",
]
