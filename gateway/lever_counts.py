"""What the router and the caches decided, counted from ledger rows: spend and model mix by
routing reason, hits and saving per cache kind, why the semantic cache said no, and how many
answers stopped at max tokens.

The report (`gateway.report`), `chatops replay --json` and the bench all read these from the
rows themselves, so no ledger aggregate is kept for them. A cache hit costs nothing; what it
saved is its row's naive baseline — the amount `gateway.savings` credits to the
`response_cache` lever — so the savings per kind add up to that lever's part (unpriced rows
are left out of both).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.ledger import LedgerRecord

# The ways a request is answered without a model call of its own, in the order reports list
# them: the exact response cache, the semantic cache, a follower of an identical request in
# flight, an unchanged issue's posted summary.
CACHE_KINDS = ("exact", "semantic", "flight", "summary")
GUARD_PREFIX = "guard:"
# A model stopped here: the answer was cut.
TRUNCATED_STOP = "max_tokens"
NO_CALL_PREFIX = "no call: "
UNKNOWN_REASON = "(none)"


@dataclass(frozen=True)
class ReasonMix:
    """The requests one routing reason sent, what they cost, and the models that ran."""

    reason: str
    requests: int
    spend_micro_usd: int  # priced rows only
    models: Mapping[str, int]


@dataclass(frozen=True)
class CacheUse:
    kind: str
    hits: int
    saved_micro_usd: int


def reason_of(rec: LedgerRecord) -> str:
    """The row's routing reason as reports group it; a message that needed no model is
    `no call: thanks`, never mixed with routed requests."""
    reason = rec.tier_reason or UNKNOWN_REASON
    return NO_CALL_PREFIX + reason if rec.no_call else reason


def by_reason(rows: Iterable[LedgerRecord]) -> tuple[ReasonMix, ...]:
    """Every reason with its requests, spend and model mix; the dearest first."""
    grouped: dict[str, list[LedgerRecord]] = defaultdict(list)
    for rec in rows:
        grouped[reason_of(rec)].append(rec)
    mixes = (
        ReasonMix(
            reason=reason,
            requests=len(recs),
            spend_micro_usd=sum(rec.cost_micro_usd or 0 for rec in recs),
            models=dict(Counter(rec.model or UNKNOWN_REASON for rec in recs).most_common()),
        )
        for reason, recs in grouped.items()
    )
    return tuple(sorted(mixes, key=lambda m: (-m.spend_micro_usd, -m.requests, m.reason)))


def by_cache(rows: Iterable[LedgerRecord]) -> tuple[CacheUse, ...]:
    """Hits and saving per cache kind: every kind in `CACHE_KINDS` (0 when unused), then any
    other kind a row names."""
    hits: Counter[str] = Counter()
    saved: Counter[str] = Counter()
    for rec in rows:
        if not rec.cache_hit:
            continue
        kind = rec.cache_kind or CACHE_KINDS[0]
        hits[kind] += 1
        if rec.baseline_micro_usd is not None and rec.cost_micro_usd is not None:
            saved[kind] += rec.baseline_micro_usd - rec.cost_micro_usd
    kinds = [*CACHE_KINDS, *sorted(set(hits) - set(CACHE_KINDS))]
    return tuple(CacheUse(kind, hits[kind], saved[kind]) for kind in kinds)


def semantic_misses(rows: Iterable[LedgerRecord]) -> dict[str, int]:
    """Why the semantic cache had no answer for the calls it was asked about, by family:
    `guard:number`, `similarity`, `empty`, `confirm:no`, … (most frequent first)."""
    families: Counter[str] = Counter()
    for rec in rows:
        note = rec.cache_note
        if rec.cache_hit or not note or note in ("fresh", "off") or note.startswith("present:"):
            continue
        families[note.split(" ", 1)[0]] += 1
    return dict(families.most_common())


def guard_refusals(rows: Iterable[LedgerRecord]) -> dict[str, int]:
    """The look-alike guards' refusals, by guard (`number`, `env`, `opposite`, …)."""
    return {
        family.removeprefix(GUARD_PREFIX): count
        for family, count in semantic_misses(rows).items()
        if family.startswith(GUARD_PREFIX)
    }


def truncated(rows: Iterable[LedgerRecord]) -> int:
    """Model calls whose answer stopped at max tokens."""
    return sum(rec.stop_reason == TRUNCATED_STOP for rec in rows)


def tier_mix(rows: Iterable[LedgerRecord]) -> dict[str, int]:
    """Model calls per tier (cache hits and messages that needed no model ran none)."""
    calls = Counter(rec.tier for rec in rows if rec.model and not rec.cache_hit and not rec.no_call)
    return dict(calls.most_common())


__all__ = [
    "CACHE_KINDS",
    "CacheUse",
    "ReasonMix",
    "by_cache",
    "by_reason",
    "guard_refusals",
    "reason_of",
    "semantic_misses",
    "tier_mix",
    "truncated",
]
