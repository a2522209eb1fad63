"""The cost ledger: one row per model call or cache hit, plus daily totals, in Redis.

It lives in the queue/state instance (noeviction): an evicted row would silently understate
spend. Layout (key builders in `gateway.keys`), per UTC day:

    chatops:ledger:records:{YYYY-MM-DD}          ZSET  member: the row as JSON, score: `at`
    chatops:ledger:agg:{YYYY-MM-DD}:{dimension}  HASH  field `{metric}:{value}` -> integer

and, never expiring, `chatops:ledger:totals` (HASH, field `{metric}:{backend}|{model}`).

with dimension one of user, channel, model, backend. Every key of a day expires
`retention_days` after the day ends. A row and all its totals are written in one MULTI
round trip, so a reader never sees a row without its totals.

Each row carries its call's `call_id`, so two calls that look alike in every other field stay
two rows (a sorted-set member is the row's JSON). `record()` is not idempotent: each call is one
billed model call, and a retried job that calls the model again spent the money again. Recording
each call exactly once is the cost engine's job (`gateway.call_journal`).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Literal

import redis

from gateway import keys

Source = Literal["slash", "mention", "dm", "jira", "webhook", "cli", "api", "eval"]

DEFAULT_RETENTION_DAYS = 90
_DAY_S = 86_400


@dataclass(frozen=True)
class LedgerRecord:
    """One model call (or response-cache hit): usage, cost, and the lever decisions behind it.

    `cost_micro_usd` is None when the call could not be priced per token: an id missing from
    the catalog, or the ec2 backend (priced per period, see `gateway.pricing`). `baseline_model`
    names the model `baseline_micro_usd` was priced on, so savings can be split by lever later
    even after the strongest tier changes.
    """

    request_id: str
    at: float
    source: Source
    user: str
    channel: str
    workspace: str
    task: str
    backend: str
    model: str
    tier: str
    tier_reason: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_micro_usd: int | None
    baseline_micro_usd: int | None
    baseline_model: str
    ttft_ms: int
    total_ms: int
    cache_hit: bool = False
    compaction_removed_tokens: int = 0
    windows: int = 0
    batch_id: str = ""
    estimated_usage: bool = False
    failovers: int = 0
    # Unique per model call (or cache hit): what keeps two identical-looking calls two rows.
    call_id: str = ""
    # Why the model stopped (`end_turn`, `max_tokens`, …); `max_tokens` is a truncated answer.
    stop_reason: str = ""
    # Batching (`gateway.batching`): the items this call carried (0: no batch), whether it
    # re-ran one item alone after a packed answer failed for it, and — for a packed call — the
    # input and output tokens the items it answered would have taken run singly, each alone
    # with the shared instruction repeated (the batching counterfactual).
    batch_items: int = 0
    batch_rerun: bool = False
    single_input_tokens: int = 0
    single_output_tokens: int = 0
    # What the naive way would have sent as input for this call: the whole context,
    # uncompacted (0 on rows from before compaction: the same as what was sent).
    uncompacted_input_tokens: int = 0
    # How a cache answered without a model call: `exact`, `semantic`, `flight` (a follower of
    # an identical request in flight), `summary` (an unchanged issue's posted summary).
    cache_kind: str = ""
    # A message that needed no model at all (thanks, ok, +1, an emoji, a greeting).
    no_call: bool = False
    # Secrets the edge removed from the person's text before it went anywhere.
    redactions: int = 0
    # Why routes before the one that answered were passed over (`ec2 stopped`, `throttled`).
    route_note: str = ""
    # Why the answer caches did not answer, when they were asked: the semantic cache's
    # reason (`guard:number 3≠5`, `similarity 0.71 < 0.85`, `empty`), or what kept the cache
    # from being read (`fresh`, `present:now`); on a semantic hit, how close the match was.
    cache_note: str = ""

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def is_packed(self) -> bool:
        return self.batch_items > 1

    @property
    def unbatched_input_tokens(self) -> int:
        """Input tokens without batching: the singles' for a packed call, else what was sent."""
        return self.single_input_tokens if self.is_packed else self.total_input_tokens

    @property
    def unbatched_output_tokens(self) -> int:
        return self.single_output_tokens if self.is_packed else self.output_tokens

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> LedgerRecord:
        """Unknown fields are ignored so an older reader survives rows from a newer writer."""
        data = json.loads(raw)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class AggregateRow:
    """A day's totals for one user, channel, model or backend."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micro_usd: int = 0  # priced requests only; see `unpriced`
    baseline_micro_usd: int = 0
    cache_hits: int = 0
    unpriced: int = 0

    def __add__(self, other: AggregateRow) -> AggregateRow:
        return AggregateRow(**{m: getattr(self, m) + getattr(other, m) for m in METRICS})


METRICS = tuple(f.name for f in fields(AggregateRow))

DIMENSIONS: Mapping[str, Callable[[LedgerRecord], str]] = {
    "user": lambda rec: rec.user,
    "channel": lambda rec: rec.channel,
    "model": lambda rec: rec.model,
    "backend": lambda rec: rec.backend,
}


@dataclass(frozen=True)
class DailyAggregates:
    day: datetime.date
    # dimension -> value -> totals, e.g. by_dimension["model"]["amazon.nova-micro-v1:0"].
    by_dimension: Mapping[str, Mapping[str, AggregateRow]]

    @property
    def total(self) -> AggregateRow:
        """Every request has exactly one backend, so the backend rows add up to the day."""
        return sum(self.by_dimension["backend"].values(), AggregateRow())


class Ledger:
    """Writes and reads ledger rows and daily totals in the queue/state Redis."""

    def __init__(
        self, redis_client: redis.Redis, retention_days: int = DEFAULT_RETENTION_DAYS
    ) -> None:
        if retention_days < 1:
            raise ValueError(f"retention_days must be at least 1 (got {retention_days})")
        self._redis = redis_client
        self._retention_s = retention_days * _DAY_S

    def record(self, rec: LedgerRecord, pipe: redis.client.Pipeline | None = None) -> None:
        """Store the row and bump its day's totals in one MULTI/EXEC round trip.

        With `pipe`, the commands are queued there instead, for the caller to execute with
        its own (a call's close writes the row and settles its budget in one transaction).
        """
        own = pipe is None
        pipe = self._redis.pipeline(transaction=True) if pipe is None else pipe
        day = _utc_day(rec.at)
        expire_at = _day_end(day) + self._retention_s
        records_key = keys.ledger_records(day.isoformat())
        pipe.zadd(records_key, {rec.to_json(): rec.at})
        pipe.expireat(records_key, expire_at)
        increments = {metric: n for metric, n in _metrics(rec).items() if n}
        for dimension, value_of in DIMENSIONS.items():
            aggregate_key = keys.ledger_aggregate(day.isoformat(), dimension)
            value = value_of(rec)
            for metric, amount in increments.items():
                pipe.hincrby(aggregate_key, f"{metric}:{value}", amount)
            pipe.expireat(aggregate_key, expire_at)
        for metric, amount in increments.items():
            pipe.hincrby(keys.ledger_totals(), f"{metric}:{rec.backend}|{rec.model}", amount)
        if own:
            pipe.execute()

    def records(self, since: float, until: float) -> list[LedgerRecord]:
        """Rows with `since <= at <= until` (unix seconds), oldest first, in one round trip."""
        since = max(since, until - self._retention_s - _DAY_S)
        days = _days_between(_utc_day(since), _utc_day(until))
        pipe = self._redis.pipeline(transaction=False)
        for day in days:
            pipe.zrangebyscore(keys.ledger_records(day.isoformat()), since, until)
        batches: list[list[str | bytes]] = pipe.execute()
        return [LedgerRecord.from_json(raw) for batch in batches for raw in batch]

    def aggregates(self, day: datetime.date) -> DailyAggregates:
        """One UTC day's totals by user, channel, model and backend."""
        pipe = self._redis.pipeline(transaction=False)
        for dimension in DIMENSIONS:
            pipe.hgetall(keys.ledger_aggregate(day.isoformat(), dimension))
        hashes: list[dict[str | bytes, str | bytes]] = pipe.execute()
        by_dimension = {
            dimension: _parse_aggregate(raw)
            for dimension, raw in zip(DIMENSIONS, hashes, strict=True)
        }
        return DailyAggregates(day=day, by_dimension=by_dimension)

    def totals(self) -> dict[tuple[str, str], AggregateRow]:
        """Totals since the ledger began, by (backend, model): counters that only grow, for
        /metrics. Never expire; one small hash."""
        by_value = _parse_aggregate(self._redis.hgetall(keys.ledger_totals()))
        return {
            (backend, model): row
            for value, row in by_value.items()
            for backend, _, model in [value.partition("|")]
        }


def _metrics(rec: LedgerRecord) -> dict[str, int]:
    return {
        "requests": 1,
        "input_tokens": rec.input_tokens,
        "output_tokens": rec.output_tokens,
        "cache_read_tokens": rec.cache_read_tokens,
        "cache_write_tokens": rec.cache_write_tokens,
        "cost_micro_usd": rec.cost_micro_usd or 0,
        "baseline_micro_usd": rec.baseline_micro_usd or 0,
        "cache_hits": int(rec.cache_hit),
        "unpriced": int(rec.cost_micro_usd is None),
    }


def _parse_aggregate(raw: Mapping[str | bytes, str | bytes]) -> dict[str, AggregateRow]:
    """`{"requests:U1": "3", "cost_micro_usd:U1": "120"}` -> `{"U1": AggregateRow(3, …)}`."""
    counts: dict[str, dict[str, int]] = {}
    for field, amount in raw.items():
        metric, _, value = _text(field).partition(":")
        if metric in METRICS:
            counts.setdefault(value, {})[metric] = int(amount)
    return {value: AggregateRow(**metrics) for value, metrics in counts.items()}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _utc_day(at: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).date()


def _day_end(day: datetime.date) -> int:
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    return int(start.timestamp()) + _DAY_S


def _days_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "DIMENSIONS",
    "METRICS",
    "AggregateRow",
    "DailyAggregates",
    "Ledger",
    "LedgerRecord",
    "Source",
]
