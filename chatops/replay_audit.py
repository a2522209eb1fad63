"""The replay's audit: every trace event joined with the ledger rows its request wrote, what
the bot did with it, and what the traffic would cost on Bedrock against the EC2 instance.

The join is by request id. The bot names each request from what Slack sent it — the slash
command's `trigger_id`, or a message event's channel and ts — and the cost engine writes that
id on every ledger row of the request; the replay sent those ids itself, so it knows each
event's id without reading anything the bot posted. A row that joins no event is counted
(`ledger_rows_unmatched`): it would mean the two stopped agreeing on names.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatops.settings import Settings
from chatops.trace import Trace, TraceEvent
from gateway.break_even import ALWAYS_ON, AS_RUN, HOURS_PER_MONTH, break_even, clock_hour
from gateway.instance_hours import Ec2Hours, Interval
from gateway.ledger import LedgerRecord
from gateway.lever_counts import (
    by_cache,
    by_reason,
    guard_refusals,
    semantic_misses,
    tier_mix,
    truncated,
)
from gateway.pricing import PriceCatalog

if TYPE_CHECKING:
    from chatops.replay import EventResult, RunResult

# What the bot did with an event, in the order a report lists them.
DID = ("answered", "cached", "no call", "refused", "failed", "skipped")
# A version 1 trace has no start time: its t 0 is taken as a Monday 00:00 UTC (team-week's),
# so that an EC2 schedule by weekday prices its hours sensibly.
V1_STARTED_AT = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)
_HOUR_S = 3600
# The instance "as run" in a replay is one started only for the hours that had a model call.
_OPTION_NAMES = {ALWAYS_ON: "always_on", AS_RUN: "stopped_when_idle"}


def did(result: EventResult | None, rows: list[LedgerRecord]) -> str:
    """The outcome: what the person saw first, then what the ledger says was spent."""
    if result is None:
        return "skipped"
    if result.shown in ("failure", "timeout"):
        return "failed"
    if result.shown == "refusal":
        return "refused"
    if any(_is_call(rec) for rec in rows):
        return "answered"
    if any(rec.cache_hit for rec in rows):
        return "cached"
    if any(rec.no_call for rec in rows):
        return "no call"
    return "answered" if result.shown in ("answer", "chart") else "no call"


def _is_call(rec: LedgerRecord) -> bool:
    """A row of a real model call: not a cache hit, not a message that needed no model."""
    return bool(rec.model) and not rec.cache_hit and not rec.no_call


def _by_request(records: Iterable[LedgerRecord]) -> dict[str, list[LedgerRecord]]:
    rows: dict[str, list[LedgerRecord]] = defaultdict(list)
    for rec in records:
        rows[rec.request_id].append(rec)
    return rows


def outcome_counts(trace: Trace, run: RunResult) -> dict[str, Any]:
    """Every event counted once by outcome (they sum to the events), and the ledger rows
    that joined no event."""
    rows = _by_request(run.records)
    outcomes = Counter(
        did(result, rows.get(result.request_id, []) if result else []) for result in run.results
    )
    ids = {result.request_id for result in run.outcomes}
    return {
        "outcomes": {name: outcomes[name] for name in DID},
        "ledger_rows_unmatched": sum(len(recs) for rid, recs in rows.items() if rid not in ids),
    }


def event_rows(trace: Trace, run: RunResult, baseline: RunResult | None) -> list[dict[str, Any]]:
    """One audit row per trace event, in trace order."""
    rows, naive = _by_request(run.records), _by_request(baseline.records if baseline else ())
    out = []
    for index, (line, event) in enumerate(trace.numbered()):
        result = run.results[index] if index < len(run.results) else None
        naive_result = baseline.results[index] if baseline else None
        recs = rows.get(result.request_id, []) if result else []
        naive_recs = naive.get(naive_result.request_id, []) if naive_result else []
        out.append(_row(line, event, result, recs, naive_recs if baseline else None))
    return out


def _row(
    line: int,
    event: TraceEvent,
    result: EventResult | None,
    recs: list[LedgerRecord],
    naive: list[LedgerRecord] | None,
) -> dict[str, Any]:
    calls = [rec for rec in recs if _is_call(rec)]
    first = recs[0] if recs else None
    row: dict[str, Any] = {
        "line": line,
        "t": event.t,
        "kind": event.kind,
        "user": event.user,
        "channel": event.channel,
        "thread": event.thread,
        "request_id": result.request_id if result else None,
        "did": did(result, recs),
        "shown": result.shown if result else None,
        "tier": first.tier if first else None,
        "tier_reason": first.tier_reason if first else None,
        "model": ", ".join(dict.fromkeys(rec.model for rec in recs if rec.model)) or None,
        "backend": ", ".join(dict.fromkeys(rec.backend for rec in recs if rec.backend)) or None,
        "model_calls": len(calls),
        "cache": _cache_kind(recs),
    }
    for counter in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        row[counter] = sum(getattr(rec, counter) for rec in recs)
    # What the naive way would have sent as input (whole context, uncompacted).
    row["uncompacted_input_tokens"] = sum(rec.uncompacted_input_tokens for rec in recs)
    row["cost_usd"] = _usd(rec.cost_micro_usd for rec in recs)
    row["naive_cost_usd"] = _usd(rec.baseline_micro_usd for rec in recs)
    row["replayed_naive_cost_usd"] = (
        None if naive is None else _usd(r.cost_micro_usd for r in naive)
    )
    row |= _latency(result, recs)
    if event.slack_ts is not None:
        row["slack_ts"] = event.slack_ts
    return row


def _cache_kind(recs: list[LedgerRecord]) -> str | None:
    for rec in recs:
        if rec.cache_hit:
            return rec.cache_kind or "response"
    if any(rec.cache_read_tokens for rec in recs):
        return "prompt read"
    if any(rec.cache_write_tokens for rec in recs):
        return "prompt write"
    return None


def _usd(amounts: Iterable[int | None]) -> float | None:
    """The sum in USD; None when nothing was priced (an unpriced row is never $0)."""
    known = [amount for amount in amounts if amount is not None]
    return sum(known) / 1e6 if known else None


def _latency(result: EventResult | None, recs: list[LedgerRecord]) -> dict[str, int | None]:
    def ms(seconds: float | None) -> int | None:
        return None if seconds is None else round(seconds * 1000)

    return {
        "ack_ms": ms(result.ack_s) if result else None,
        "first_visible_ms": ms(result.first_visible_s) if result else None,
        "total_ms": ms(result.total_s) if result else None,
        "model_ttft_ms": recs[0].ttft_ms if recs else None,
        "model_ms": sum(rec.total_ms for rec in recs) if recs else None,
    }


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = (json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def lever_decisions(run: RunResult, baseline: RunResult | None) -> dict[str, Any]:
    """What the router and the caches decided over the run (`gateway.lever_counts`): the
    model mix and spend by routing reason, model calls per tier, answers cut at max tokens
    (with the levers and in the naive run), hits and saving per cache, and why the semantic
    cache said no — its look-alike guards' refusals apart."""
    rows = run.records
    return {
        "model_mix_by_reason": {mix.reason: dict(mix.models) for mix in by_reason(rows)},
        "spend_by_reason_usd": {mix.reason: mix.spend_micro_usd / 1e6 for mix in by_reason(rows)},
        "tier_mix": tier_mix(rows),
        "truncated": {
            "levers": truncated(rows),
            "naive": truncated(baseline.records) if baseline is not None else None,
        },
        "caches": {
            use.kind: {"hits": use.hits, "saved_usd": use.saved_micro_usd / 1e6}
            for use in by_cache(rows)
        },
        "semantic_misses": semantic_misses(rows),
        "semantic_guard_refusals": guard_refusals(rows),
    }


def traffic_break_even(
    trace: Trace, run: RunResult, settings: Settings, catalog: PriceCatalog
) -> dict[str, Any]:
    """Bedrock against an EC2 instance for the trace's own traffic, over the trace's own span
    (at least an hour): the run's model calls placed back at their events' trace times, priced
    on each tier's Bedrock model, against one instance kept up all period and one started
    only in the clock hours that had a model call."""
    start = trace.header.started_at or V1_STARTED_AT
    at_t = {r.request_id: e.t for r, e in zip(run.results, trace.events, strict=False) if r}
    calls = [
        replace(rec, at=start.timestamp() + at_t[rec.request_id])
        for rec in run.records
        if _is_call(rec) and rec.request_id in at_t
    ]
    span_s = max(trace.events[-1].t if trace.events else 0.0, _HOUR_S)
    period = (start.timestamp(), start.timestamp() + span_s)
    busy = sorted({clock_hour(rec.at).timestamp() for rec in calls})
    hours = Ec2Hours(
        instance_type=settings.ec2_instance_type,
        hourly_micro_usd=catalog.instance_hourly_micro_usd(settings.ec2_instance_type),
        period_start=period[0],
        period_end=period[1],
        intervals=tuple(
            Interval("busy-hours", max(h, period[0]), min(h + _HOUR_S, period[1])) for h in busy
        ),
        configured=True,
    )
    found = break_even(calls, catalog, settings.tiers, hours)
    spent = sum(rec.cost_micro_usd or 0 for rec in run.records)
    options = {_OPTION_NAMES[o.kind]: o for o in found.instance_options}
    ec2_costs = [o.cost_micro_usd for o in options.values() if o.cost_micro_usd is not None]
    month_share = Decimal(HOURS_PER_MONTH * _HOUR_S) / Decimal(span_s)
    return {
        "period_hours": round(span_s / _HOUR_S, 2),
        "model_call_tokens": found.tokens,
        "tokens_per_month_at_this_rate": round(found.tokens * month_share),
        "bedrock_cost_usd": spent / 1e6,
        "bedrock_tiers": [
            {
                "tier": tier.tier,
                "model": tier.model,
                "cost_usd": _usd([tier.traffic_micro_usd]),
                "break_even_tokens_per_month": tier.break_even_tokens_per_month,
            }
            for tier in found.tiers
        ],
        "ec2": {
            "instance_type": found.instance_type,
            "monthly_always_on_usd": _usd([found.monthly_always_on_micro_usd]),
            **{f"{name}_usd": _usd([option.cost_micro_usd]) for name, option in options.items()},
            **{f"{name}_hours": round(float(option.hours), 3) for name, option in options.items()},
        },
        "exceeds_one_instance": found.exceeds_one_instance,
        "cheaper": _cheaper(spent, min(ec2_costs, default=None)),
    }


def _cheaper(bedrock_micro_usd: int, ec2_micro_usd: int | None) -> str | None:
    if ec2_micro_usd is None:
        return None
    return "bedrock" if bedrock_micro_usd <= ec2_micro_usd else "ec2"


__all__ = [
    "DID",
    "did",
    "event_rows",
    "lever_decisions",
    "outcome_counts",
    "traffic_break_even",
    "write_rows",
]
