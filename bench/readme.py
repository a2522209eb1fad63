"""Writes the measured numbers into README.md between its performance markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

README = Path(__file__).parent.parent / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def table(results: dict[str, Any]) -> str:
    latency = results["pipeline"]["latency"]
    rows = [
        "| measure | p50 | p99 |",
        "|---|---|---|",
        _row("Slack ack (signed HTTP → 200)", latency["ack"]),
        _row(
            "Slack request → model call (bot + RQ hop + worker)", latency["request_to_model_call"]
        ),
        _row(
            "first visible text in Slack − model's time to first token",
            latency["first_visible_minus_ttft"],
        ),
    ]
    for rate, ack in results["pipeline"]["ack_under_load"].items():
        rows.append(_row(f"ack under load, {rate}", ack))
    overheads = dict(results["gateway_overhead"])
    engine = overheads.pop("cost_engine")
    for backend, overhead in overheads.items():
        rows.append(
            f"| gateway's own time per call, {backend} (vs the client called directly) "
            f"| +{overhead['added_p50_ms']:.2f} ms (×{overhead['ratio_p50']:.3f}) | |"
        )
    rows.append(
        f"| cost engine's own time per call (pricing + ledger row in Redis), over the gateway "
        f"| +{engine['added_p50_ms']:.2f} ms | |"
    )
    throughput = results["pipeline"]["throughput"]
    rows.append(
        f"| worker throughput, zero-latency model | "
        f"{throughput['jobs_per_s_per_worker']} jobs/s per worker process | |"
    )
    return "\n".join(rows)


def cost_table(replay: dict[str, Any]) -> str:
    levers = ", ".join(
        f"{name.replace('_', ' ')} ${amount:.4f}"
        for name, amount in replay["savings_by_lever"].items()
    )
    skipped = ", ".join(f"{n} {kind}" for kind, n in replay["skipped"].items()) or "none"
    latency = replay["latency_ms"]
    return "\n".join(
        [
            "| team-week trace (`chatops replay bench/traces/team-week.jsonl`) | |",
            "|---|---|",
            f"| events | {replay['events']:,} ({replay['model_calls']:,} model calls; skipped, "
            f"not handled by the bot yet: {skipped}) |",
            f"| naive way, replayed with `LEVERS=none` | ${replay['baseline_cost_usd']:.4f} |",
            f"| with the levers | ${replay['cost_usd']:.4f} ({replay['savings_pct']}% cheaper) |",
            f"| saved by lever (from the ledger) | {levers} |",
            f"| response-cache hit rate | {replay['cache_hit_rate']:.1%} |",
            f"| ack p50 / p99 | {latency['ack']['p50_ms']:.1f} / "
            f"{latency['ack']['p99_ms']:.1f} ms |",
            "| first visible text − time to first token, p50 / p99 (4 requests in flight) | "
            f"{latency['first_visible_minus_ttft']['p50_ms']:.0f} / "
            f"{latency['first_visible_minus_ttft']['p99_ms']:.0f} ms |",
        ]
    )


def _row(label: str, stats: dict[str, float]) -> str:
    return f"| {label} | {stats['p50_ms']:.1f} ms | {stats['p99_ms']:.1f} ms |"


def update_readme(results: dict[str, Any]) -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    measured = f"Measured by `make bench` ({results['machine']}, {results['seconds']} s):\n\n"
    body = (
        f"{measured}{table(results)}\n\n{cost_table(results['replay'])}\n\n"
        "![Cost of the team-week trace by lever](bench/cost-by-lever.png)\n"
    )
    README.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")


__all__ = ["table", "update_readme"]
