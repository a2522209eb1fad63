"""Ledger rows for tests, priced as the cost engine prices them: Bedrock per token from the
catalog, ec2 left to the period pass (None), a response-cache hit at 0, the baseline on
Sonnet 4.5 with the full uncompacted input."""

from __future__ import annotations

from typing import Any

from gateway.ledger import LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.types import Usage

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"

DEFAULTS: dict[str, Any] = {
    "request_id": "req-1",
    "source": "slash",
    "user": "U1",
    "channel": "C1",
    "workspace": "T1",
    "task": "ask",
    "backend": "bedrock",
    "model": HAIKU,
    "tier": "medium",
    "tier_reason": "task default",
    "input_tokens": 1_000,
    "output_tokens": 200,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "baseline_model": SONNET,
    "ttft_ms": 300,
    "total_ms": 1_500,
}


def ledger_row(catalog: PriceCatalog, at: float, **overrides: Any) -> LedgerRecord:
    values = {**DEFAULTS, "at": at, **overrides}
    usage = Usage(
        values["input_tokens"],
        values["output_tokens"],
        values["cache_read_tokens"],
        values["cache_write_tokens"],
        model=values["model"],
    )
    if values.get("cache_hit"):
        values.setdefault("cost_micro_usd", 0)
    elif values["backend"] == "ec2":
        values.setdefault("cost_micro_usd", None)
    values.setdefault("cost_micro_usd", catalog.cost_micro_usd(usage))
    removed = values.get("compaction_removed_tokens", 0)
    values.setdefault(
        "baseline_micro_usd", catalog.naive_baseline_micro_usd(SONNET, usage, removed)
    )
    return LedgerRecord(**values)


__all__ = ["HAIKU", "SONNET", "ledger_row"]
