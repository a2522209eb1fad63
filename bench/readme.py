"""Writes the measured numbers into README.md between its performance markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

README = Path(__file__).parent.parent / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
REASONS_SHOWN = 5


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


def levers_table(results: dict[str, Any]) -> str:
    """Each lever's own time per request, from its benchmark (`python -m bench.<name>`)."""
    router, compaction = results["router"], results["compaction"]
    caches, redaction = results["cache_lookup"], results["redaction"]
    log = compaction["log_40k"]
    stored = f"{caches['stored_questions_per_scope']:,}"
    rows = [
        "| a lever's own time per request | p50 | p99 |",
        "|---|---|---|",
        _us_row(f"router, a new question ({router['questions']} eval questions)", router["router"]),
        _us_row("router, a follow-up in a thread", router["router_follow_up"]),
        _us_row("no-call check (thanks, ok, emoji)", router["no_call"]),
        _ms_row(
            f"compaction, a {log['chars']:,}-character pasted log"
            f" ({log['tokens_before']:,} → {log['tokens_after']:,} tokens)",
            log,
        ),
        _ms_row("exact cache, a hit (real redis-server)", caches["exact_hit"]),
        _ms_row("exact cache, a miss", caches["exact_miss"]),
        _ms_row(
            f"semantic cache lookup, {stored} questions in the scope", caches["semantic_lookup"]
        ),
        _ms_row(
            "a new question's cache work before its model call",
            caches["new_question_before_its_call"],
        ),
        _ms_row(
            "secret redaction, a 40,000-character paste with secrets",
            redaction["paste_40k_with_secrets"],
        ),
        _ms_row("secret redaction, a 300-character question", redaction["question_300"]),
    ]
    share = ", ".join(f"{tier} {part:.0%}" for tier, part in router["tier_share"].items())
    rows.append(
        f"| router on the eval set: {share}; {router['matches_expected']:.0%} at the expected"
        f" tier, {len(router['under_routed'])} under-routed | | |"
    )
    return "\n".join(rows)


def decisions_table(replay: dict[str, Any]) -> str:
    """What the router and the caches decided over the team-week replay."""
    if "model_mix_by_reason" not in replay:
        return ""
    reasons = sorted(replay["model_mix_by_reason"].items(), key=lambda item: -sum(item[1].values()))
    mix = "; ".join(
        f"{reason} {sum(models.values()):,}" for reason, models in reasons[:REASONS_SHOWN]
    )
    caches = ", ".join(
        f"{kind} {use['hits']:,} (${use['saved_usd']:.4f})"
        for kind, use in replay["caches"].items()
        if use["hits"] or kind in ("exact", "semantic", "flight")
    )
    guards = ", ".join(f"{g} {n}" for g, n in replay["semantic_guard_refusals"].items()) or "none"
    truncated = replay["truncated"]
    tiers = ", ".join(f"{tier} {n:,}" for tier, n in replay["tier_mix"].items())
    return "\n".join(
        [
            "| team-week: what the levers decided | |",
            "|---|---|",
            f"| model calls per tier | {tiers} |",
            f"| requests by routing reason (top {REASONS_SHOWN}) | {mix} |",
            f"| answered by a cache: hits (saved) | {caches} |",
            f"| semantic cache's look-alike guards refused | {guards} |",
            f"| answers cut at max tokens | {truncated['levers']} with the levers,"
            f" {truncated['naive']} the naive way |",
        ]
    )


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


def _ms_row(label: str, stats: dict[str, float]) -> str:
    """Sub-millisecond times keep two decimals."""
    p50, p99 = (
        f"{stats[k]:.2f}" if stats[k] < 10 else f"{stats[k]:.1f}" for k in ("p50_ms", "p99_ms")
    )
    return f"| {label} | {p50} ms | {p99} ms |"


def _us_row(label: str, stats: dict[str, float]) -> str:
    return f"| {label} | {stats['p50_us']:.0f} µs | {stats['p99_us']:.0f} µs |"


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
        f"{measured}{table(results)}\n\n{levers_table(results)}\n\n"
        f"{cost_table(results['replay'])}\n\n{decisions_table(results['replay'])}\n\n"
        "![Cost of the team-week trace by lever](bench/cost-by-lever.png)\n"
    )
    README.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")


__all__ = ["cost_table", "decisions_table", "levers_table", "table", "update_readme"]
