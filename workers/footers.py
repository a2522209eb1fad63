"""The line under an answer: which model answered, the tokens, what it cost — or, for an answer
no model wrote for this request, where it came from and what that saved; with `--explain`, why
it went to that tier."""

from __future__ import annotations

import datetime

from chatops import messages
from gateway.engine import Metered
from gateway.pricing import EC2_BACKEND

_CACHE_HOW = {
    "exact": messages.CACHED_EXACT,
    "semantic": messages.CACHED_SEMANTIC,
    "flight": messages.CACHED_FLIGHT,
}


def footer(metered: Metered, *, explain: bool = False) -> str:
    line = _served(metered) if metered.cache_kind else _called(metered)
    return f"{line}\n{_explained(metered)}" if explain and metered.decision else line


def _called(metered: Metered) -> str:
    usage, record = metered.completion.usage, metered.record
    if record.backend == EC2_BACKEND:
        cost = messages.COST_SELF_HOSTED
    elif record.cost_micro_usd is None:
        cost = messages.COST_UNPRICED
    else:
        cost = messages.usd(record.cost_micro_usd)
    if metered.limited_by:
        cost += " · " + messages.DOWNGRADED.format(tier=record.tier, budget=metered.limited_by)
    skipped = [part.rpartition(": ")[2] for part in metered.route_note.split(", ") if part]
    if skipped and skipped[0].startswith("ec2 "):
        cost += " · " + messages.ROUTE_SKIPPED.format(reason=skipped[0], backend=record.backend)
    return messages.FOOTER.format(
        model=record.model,
        input_tokens=usage.total_input_tokens,
        output_tokens=usage.output_tokens,
        cost=cost,
    )


def _served(metered: Metered) -> str:
    cached = metered.cached
    when = (
        datetime.datetime.fromtimestamp(cached.created_at, datetime.UTC).strftime("%H:%M UTC")
        if cached is not None
        else "earlier"
    )
    return messages.CACHED_FOOTER.format(
        model=metered.completion.route.model,
        how=_CACHE_HOW.get(metered.cache_kind, messages.CACHED_EXACT),
        when=when,
        saved=messages.usd(metered.saved_micro_usd),
    )


def _explained(metered: Metered) -> str:
    decision = metered.decision
    assert decision is not None
    before, after = metered.compacted
    return messages.EXPLAIN.format(
        tier=metered.record.tier,
        reason=metered.record.tier_reason or decision.reason,
        signals=", ".join(decision.signals) or "none",
        before=before,
        after=after,
    )


__all__ = ["footer"]
