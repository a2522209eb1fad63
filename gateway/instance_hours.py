"""The hours the self-hosted instances really ran and what they cost: their one home.

The instance controller records each state change it observes (`InstanceHours.record`) in the
queue Redis, beside the ledger and kept as long. An instance bills while it is `running`
(EC2 on-demand, per second), so its running intervals run from a change to `running` to the
next change away from it; an interval still open runs to the end of the period asked about.

The cost report asks once (`InstanceHours.period`) and gets an `Ec2Hours`: the intervals in
the period priced at the catalog's hourly price for the instance type, what one instance kept
up all period would have cost, the cost spread over the UTC days it ran, and `costed`, which
gives each request the instances served its share of the cost, in proportion to its tokens.

Only configured instances are asked about: with no EC2 instance configured there are no
instance hours at all (`Ec2Hours.configured` is False and nothing is charged).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

import redis

from gateway import keys
from gateway.ledger import DEFAULT_RETENTION_DAYS, LedgerRecord
from gateway.pricing import EC2_BACKEND, PriceCatalog, spread_micro_usd

RUNNING = "running"
_DAY_S = 86_400
_US_PER_S = 1_000_000
_US_PER_HOUR = 3_600 * _US_PER_S
# Enough digits that years of instance time measured to the microsecond keep every one.
_HOURS_PRECISION = 40

# Append a state change unless it repeats the last one or is older than it. A member is
# `{sequence}|{state}`: changes seen at the same time keep their order (a sorted set orders
# equal scores by member). Changes older than the retention are trimmed, keeping the newest
# of them: it says what state the retained period began in.
# KEYS: states, index. ARGV: instance id, state, at, cutoff.
_RECORD = """
local seq = 1
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[1] then
  local last_seq, state = string.match(last[1], '^(%d+)|(.*)$')
  if state == ARGV[2] or tonumber(last[2]) > tonumber(ARGV[3]) then return 0 end
  seq = tonumber(last_seq) + 1
end
redis.call('ZADD', KEYS[1], ARGV[3], string.format('%015d|%s', seq, ARGV[2]))
redis.call('SADD', KEYS[2], ARGV[1])
local old = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[4])
if old > 1 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, old - 2) end
return 1
"""


@dataclass(frozen=True)
class Interval:
    """One stretch of an instance running, in unix seconds."""

    instance_id: str
    start: float
    end: float

    @property
    def microseconds(self) -> int:
        return max(round((self.end - self.start) * _US_PER_S), 0)


@dataclass(frozen=True)
class Ec2Hours:
    """The instances' running time in a period, priced; `hourly_micro_usd` None: unpriced."""

    instance_type: str
    hourly_micro_usd: int | None
    period_start: float
    period_end: float
    intervals: tuple[Interval, ...]
    configured: bool

    @property
    def microseconds(self) -> int:
        return sum(interval.microseconds for interval in self.intervals)

    @property
    def hours(self) -> Decimal:
        return _hours(self.microseconds)

    @property
    def cost_micro_usd(self) -> int | None:
        return self._price(self.microseconds)

    @property
    def always_on_hours(self) -> Decimal:
        """One instance up for the whole period: the baseline idle stopping is measured by."""
        return _hours(self._period_microseconds)

    @property
    def always_on_micro_usd(self) -> int | None:
        return self._price(self._period_microseconds)

    def hours_by_instance(self) -> dict[str, Decimal]:
        running: Counter[str] = Counter()
        for interval in self.intervals:
            running[interval.instance_id] += interval.microseconds
        return {instance: _hours(us) for instance, us in sorted(running.items())}

    def by_day(self, micro_usd: int, days: Sequence[datetime.date]) -> dict[datetime.date, int]:
        """`micro_usd` (the cost, or the part of it a report carries) over the UTC `days` in
        proportion to the instances' running time on each; the parts sum to it whenever they
        ran on any of those days. An instance bills by the hour it is up, so a month of
        instance time must not land on the one day someone used it."""
        running: Counter[str] = Counter()
        for interval in self.intervals:
            for day, us in _split_by_day(interval):
                running[day.isoformat()] += us
        shares = spread_micro_usd(
            micro_usd, {day.isoformat(): running[day.isoformat()] for day in days}
        )
        return {day: shares[day.isoformat()] for day in days}

    def costed(self, records: Sequence[LedgerRecord]) -> list[LedgerRecord]:
        """The rows with each request the instances served given its share of the cost, by
        tokens (shares sum to the cost when anything was served). Unpriced or unconfigured:
        the rows as they are, ec2 rows without a cost."""
        cost = self.cost_micro_usd
        if cost is None or not self.configured:
            return list(records)
        served = [i for i, rec in enumerate(records) if is_served_by_ec2(rec)]
        weights = {f"{i:09d}": _tokens(records[i]) for i in served}
        shares = spread_micro_usd(cost, weights)
        costed = list(records)
        for i in served:
            costed[i] = dataclasses.replace(records[i], cost_micro_usd=shares[f"{i:09d}"])
        return costed

    @property
    def _period_microseconds(self) -> int:
        return max(round((self.period_end - self.period_start) * _US_PER_S), 0)

    def _price(self, microseconds: int) -> int | None:
        """Hours times the hourly price, rounded once (half up), in integers throughout."""
        if self.hourly_micro_usd is None:
            return None
        quotient, remainder = divmod(microseconds * self.hourly_micro_usd, _US_PER_HOUR)
        return quotient + (1 if 2 * remainder >= _US_PER_HOUR else 0)


class InstanceHours:
    """Instance state changes in the queue Redis (noeviction: lost changes would lose hours)."""

    def __init__(self, client: redis.Redis, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._redis = client
        self._retention_s = retention_days * _DAY_S
        self._record = client.register_script(_RECORD)

    def record(self, instance_id: str, state: str, at: float) -> bool:
        """Note that `instance_id` was seen in `state` at `at`; True if that is a change."""
        keys_ = [keys.ec2_instance_states(instance_id), keys.ec2_instances_seen()]
        args = [instance_id, state, repr(at), repr(at - self._retention_s)]
        return bool(self._record(keys=keys_, args=args))

    def instance_ids(self) -> frozenset[str]:
        """Every instance whose changes are held (a tag-named fleet's members over time)."""
        return frozenset(_text(raw) for raw in self._redis.smembers(keys.ec2_instances_seen()))

    def intervals(
        self, instance_ids: Iterable[str], start: float, end: float
    ) -> tuple[Interval, ...]:
        """Each instance's running intervals within `[start, end]`, by instance then time."""
        ids = sorted(set(instance_ids))
        pipe = self._redis.pipeline(transaction=False)
        for instance_id in ids:
            state_key = keys.ec2_instance_states(instance_id)
            pipe.zrevrangebyscore(state_key, f"({start!r}", "-inf", start=0, num=1, withscores=True)
            pipe.zrangebyscore(state_key, repr(start), repr(end), withscores=True)
        replies = pipe.execute()
        found: list[Interval] = []
        for n, instance_id in enumerate(ids):
            before, changes = replies[2 * n], replies[2 * n + 1]
            found += _running(instance_id, [*before, *changes], start, end)
        return tuple(found)

    def period(
        self,
        catalog: PriceCatalog,
        instance_type: str,
        instance_ids: Collection[str] | None,
        start: float,
        end: float,
    ) -> Ec2Hours:
        """The report's one question: the configured instances' hours in the period, priced.

        `instance_ids` None: no instance is configured, so no hours; empty (a fleet named by
        tag): every instance the ledger has changes for.
        """
        configured = instance_ids is not None
        ids = instance_ids or (self.instance_ids() if configured else ())
        return Ec2Hours(
            instance_type=instance_type,
            hourly_micro_usd=catalog.instance_hourly_micro_usd(instance_type),
            period_start=start,
            period_end=end,
            intervals=self.intervals(ids, start, end) if ids else (),
            configured=configured,
        )


def is_served_by_ec2(rec: LedgerRecord) -> bool:
    """A response-cache hit ran no model, so no instance served it."""
    return rec.backend == EC2_BACKEND and not rec.cache_hit


def _running(
    instance_id: str, changes: Sequence[tuple[bytes | str, float]], start: float, end: float
) -> list[Interval]:
    intervals = []
    state, since = "", start
    for member, at in changes:
        changed_to = _text(member).partition("|")[2]
        at = max(at, start)
        if state == RUNNING and changed_to != RUNNING:
            intervals.append(Interval(instance_id, since, at))
        if changed_to == RUNNING and state != RUNNING:
            since = at
        state = changed_to
    if state == RUNNING and end > since:
        intervals.append(Interval(instance_id, since, end))
    return [interval for interval in intervals if interval.end > interval.start]


def _split_by_day(interval: Interval) -> list[tuple[datetime.date, int]]:
    parts = []
    start = interval.start
    while start < interval.end:
        day = datetime.datetime.fromtimestamp(start, datetime.UTC).date()
        next_midnight = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
        ).timestamp()
        end = min(interval.end, next_midnight)
        parts.append((day, Interval(interval.instance_id, start, end).microseconds))
        start = end
    return parts


def _hours(microseconds: int) -> Decimal:
    with localcontext() as context:
        context.prec = _HOURS_PRECISION
        return Decimal(microseconds) / _US_PER_HOUR


def _tokens(rec: LedgerRecord) -> int:
    return rec.total_input_tokens + rec.output_tokens


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


__all__ = ["RUNNING", "Ec2Hours", "InstanceHours", "Interval", "is_served_by_ec2"]
