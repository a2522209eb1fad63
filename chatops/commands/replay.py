"""`chatops replay TRACE`: a workload trace through the whole system; cost and latency."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chatops.settings import parse_levers_spec
from chatops.trace import load_trace


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay", help="replay a workload trace through the local stack; cost vs naive, latency"
    )
    parser.add_argument("trace", type=Path, help="a trace (JSONL), e.g. bench/traces/smoke.jsonl")
    parser.add_argument(
        "--levers", default="all", type=parse_levers_spec, help="all, none, or a comma list"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="trace seconds per real second (0: as fast as the bot answers)",
    )
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from chatops.replay import replay

    result = replay(load_trace(args.trace), args.levers, args.speed, args.workers)
    print(json.dumps(result, indent=2) if args.json else report_text(result))
    return 0


def report_text(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    baseline_kind = (
        "replayed with LEVERS=none" if result["baseline_replayed"] else "from the ledger"
    )
    lines = [
        f"{result['events']} events: handled {result['handled']}, skipped {result['skipped']}"
        f" (not handled by the bot yet), {result['failed']} failed, {result['refused']} refused",
        f"cost ${result['cost_usd']:.4f} against a naive ${result['baseline_cost_usd']:.4f}"
        f" ({baseline_kind}): {result['savings_pct']}% saved",
        "savings by lever: "
        + ", ".join(f"{k} ${v:.4f}" for k, v in result["savings_by_lever"].items()),
        f"response-cache hit rate {result['cache_hit_rate']:.1%}; model mix {result['model_mix']}",
    ]
    for name, stats in latency.items():
        if stats.get("n"):
            lines.append(f"{name}: p50 {stats['p50_ms']} ms, p99 {stats['p99_ms']} ms")
    return "\n".join(lines)
