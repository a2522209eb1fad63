"""Savings by lever, derived from ledger rows.

Each row carries what the call cost (`cost_micro_usd`) and what the naive way would have cost
(`baseline_micro_usd`: strongest model, full uncompacted input, no caching). The difference is
split by undoing nothing and applying the levers one after another, in `LEVERS` order:

    baseline -> no call -> response cache -> windowing -> compaction -> batching
             -> right-sizing -> prompt caching = actual

Each lever's function gives the row's cost with it and every earlier lever applied; a lever's
saving is the step down from the previous point. The points telescope from the stored baseline
to the stored actual, so the parts sum exactly to baseline - actual for every row, whatever
rounding happens in between. A lever's part can be negative (a prompt-cache write used once
costs 25% more than not caching, and a windowed summary's map calls cost more than nothing).
Adding a lever is one `Lever` entry at its place in the order; the last entry always ends at the
billed cost.

A windowed document's calls share one naive baseline — the whole document in one call on the
strongest tier — carried by its final call (the reduce); the map calls have a baseline of 0
(the naive way makes no such call). Windowing's saving over the job is that baseline less what
the windowed calls would have cost, uncompacted, on the strongest tier.

A row with no cost, no baseline, or a model the catalog cannot price is counted as unpriced,
never as free: it adds to neither the baseline nor the actual total.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from gateway.ledger import LedgerRecord
from gateway.levers import LEVER_NAMES
from gateway.pricing import PriceCatalog

CostAfter = Callable[[LedgerRecord, PriceCatalog], int | None]


@dataclass(frozen=True)
class Lever:
    name: str
    cost_after: CostAfter


@dataclass(frozen=True)
class SavingsBreakdown:
    """Totals over priced rows; `by_lever` values sum to `saved_micro_usd`."""

    baseline_micro_usd: int
    actual_micro_usd: int
    by_lever: Mapping[str, int]
    priced_requests: int
    unpriced_requests: int
    # model id -> unpriced rows, so the report can say what to add to the price file.
    unpriced_by_model: Mapping[str, int]

    @property
    def saved_micro_usd(self) -> int:
        return self.baseline_micro_usd - self.actual_micro_usd


def _billed(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    return rec.cost_micro_usd


def _model_calls_only(after: CostAfter) -> CostAfter:
    """A cache hit or a message that needed no model ran none: once served, no later lever
    moves it."""

    def cost_after(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
        return rec.cost_micro_usd if rec.cache_hit or rec.no_call else after(rec, catalog)

    return cost_after


def _after_no_call(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    return rec.cost_micro_usd if rec.no_call else rec.baseline_micro_usd


def _after_response_cache(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    return rec.cost_micro_usd if rec.cache_hit or rec.no_call else rec.baseline_micro_usd


def _after_windowing(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    """A windowed call as the naive way would have priced it alone: its whole input,
    uncompacted, on the strongest tier. Any other row: its baseline, unchanged."""
    if not rec.windows:
        return rec.baseline_micro_usd
    return catalog.uncached_cost_micro_usd(
        rec.baseline_model, rec.uncompacted_input_tokens, rec.output_tokens
    )


def _after_compaction(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    """Still the strongest model, uncached, but only the tokens that were actually sent — the
    items of a packed call each as if sent alone, since batching comes next."""
    return catalog.uncached_cost_micro_usd(
        rec.baseline_model, rec.unbatched_input_tokens, rec.unbatched_output_tokens
    )


def _after_batching(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    """The packed call's own tokens; still the strongest model, uncached.

    The counterfactual: a packed call's row carries the tokens the items it answered would
    have taken run singly — each item alone with the shared instruction repeated, the same
    answer without its JSON wrapping (`LedgerRecord.single_input_tokens`, from
    `gateway.batching.batch_fields`; the stored baseline is priced on them too). Until this
    step the row is priced on those, from here on on what was sent: the difference — the
    instruction sent once instead of once per item, less the wrapping — is batching's. It is
    negative when a packed reply was unusable and its items ran again alone, each of which has
    its own row. Any other row has the same tokens on both sides: 0.
    """
    return catalog.uncached_cost_micro_usd(
        rec.baseline_model, rec.total_input_tokens, rec.output_tokens
    )


def _after_right_sizing(rec: LedgerRecord, catalog: PriceCatalog) -> int | None:
    """The model that ran, same tokens, uncached.

    A model with no per-token price (the ec2 backend) has no uncached counterfactual: its
    whole difference from the strongest model is right-sizing, taken against the billed cost,
    which stays None — unpriced — until a period pass attributes instance cost to the row.
    """
    if catalog.price(rec.model) is None:
        return rec.cost_micro_usd
    return catalog.uncached_cost_micro_usd(rec.model, rec.total_input_tokens, rec.output_tokens)


LEVERS: tuple[Lever, ...] = (
    Lever("no_call", _after_no_call),
    Lever("response_cache", _after_response_cache),
    Lever("windowing", _model_calls_only(_after_windowing)),
    Lever("compaction", _model_calls_only(_after_compaction)),
    Lever("batching", _model_calls_only(_after_batching)),
    Lever("right_sizing", _model_calls_only(_after_right_sizing)),
    Lever("prompt_caching", _billed),
)


def record_savings(
    rec: LedgerRecord, catalog: PriceCatalog, levers: tuple[Lever, ...] = LEVERS
) -> dict[str, int] | None:
    """One row's saving per lever, or None when the row cannot be priced."""
    points = [rec.baseline_micro_usd, *(lever.cost_after(rec, catalog) for lever in levers)]
    known = [point for point in points if point is not None]
    if len(known) != len(points):
        return None
    if known[-1] != rec.cost_micro_usd:
        raise ValueError(f"the last lever ({levers[-1].name}) must end at the billed cost")
    return {lever.name: known[i] - known[i + 1] for i, lever in enumerate(levers)}


def savings_by_lever(
    records: Iterable[LedgerRecord], catalog: PriceCatalog, levers: tuple[Lever, ...] = LEVERS
) -> SavingsBreakdown:
    by_lever = dict.fromkeys((lever.name for lever in levers), 0)
    baseline = actual = priced = 0
    unpriced: Counter[str] = Counter()
    for rec in records:
        parts = record_savings(rec, catalog, levers)
        if parts is None:
            unpriced[rec.model] += 1
            continue
        # record_savings priced the row, so both amounts are known.
        assert rec.baseline_micro_usd is not None and rec.cost_micro_usd is not None
        priced += 1
        baseline += rec.baseline_micro_usd
        actual += rec.cost_micro_usd
        for name, saved in parts.items():
            by_lever[name] += saved
    return SavingsBreakdown(
        baseline_micro_usd=baseline,
        actual_micro_usd=actual,
        by_lever=by_lever,
        priced_requests=priced,
        unpriced_requests=sum(unpriced.values()),
        unpriced_by_model=dict(unpriced),
    )


# Instance hours no request used: spend the naive way (Bedrock alone) never makes.
EC2_IDLE = "ec2_idle"


def with_idle_hours(savings: SavingsBreakdown, idle_micro_usd: int) -> SavingsBreakdown:
    """`savings` with the instances' idle hours counted as spend and as a negative part of
    their own, so the parts still add up to the baseline minus everything spent."""
    if not idle_micro_usd:
        return savings
    return dataclasses.replace(
        savings,
        actual_micro_usd=savings.actual_micro_usd + idle_micro_usd,
        by_lever={**savings.by_lever, EC2_IDLE: -idle_micro_usd},
    )


def real_levers(savings: SavingsBreakdown) -> SavingsBreakdown:
    """Only levers that exist (`gateway.levers`) or saved something: a lever not built yet is
    not shown as saving $0."""
    shown = {
        name: amount for name, amount in savings.by_lever.items() if name in LEVER_NAMES or amount
    }
    return dataclasses.replace(savings, by_lever=shown)


__all__ = [
    "EC2_IDLE",
    "LEVERS",
    "Lever",
    "SavingsBreakdown",
    "real_levers",
    "record_savings",
    "savings_by_lever",
    "with_idle_hours",
]
