"""The router's own time per request, and where it sends the eval questions.

Times `gateway.router.route` over every question of bench/eval/questions.jsonl — alone, and as
a follow-up in a thread that the question started (the root is measured too) — and
`gateway.no_call.no_call`, which runs on every message before the router. Many rounds, each
round visiting every question, so drift hits them alike; the first round warms up and is not
counted. Also reports the share of the eval set per tier and how the router's tier compares
with each question's expected tier: `under_routed` (weaker than expected) is the mistake that
costs quality, `over_routed` the one that costs money.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from chatops.percentiles import percentile
from gateway.no_call import no_call
from gateway.router import TIERS, RouteInput, route, tier_rank

QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.jsonl"
FOLLOW_UP = "restarting didn't help, same thing again. what now?"

T = TypeVar("T")


def load_questions(path: Path = QUESTIONS) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _summary_us(nanoseconds: Sequence[int]) -> dict[str, float]:
    """Median, p99 and mean in microseconds: the router is far below the ms others report."""
    return {
        "n": len(nanoseconds),
        "p50_us": round(percentile(nanoseconds, 50) / 1000, 2),
        "p99_us": round(percentile(nanoseconds, 99) / 1000, 2),
        "mean_us": round(statistics.fmean(nanoseconds) / 1000, 2),
    }


def _time(call: Callable[[T], object], inputs: Sequence[T], rounds: int) -> dict[str, Any]:
    """All samples' percentiles, plus the slowest input's own median: on a shared machine a
    p99 over all samples mostly measures the scheduler, the slowest median measures us."""
    by_input: list[list[int]] = [[] for _ in inputs]
    for round_number in range(rounds + 1):
        for samples, item in zip(by_input, inputs, strict=True):
            started = time.perf_counter_ns()
            call(item)
            elapsed = time.perf_counter_ns() - started
            if round_number:
                samples.append(elapsed)
    slowest = max(statistics.median(samples) for samples in by_input)
    return _summary_us([ns for samples in by_input for ns in samples]) | {
        "slowest_input_p50_us": round(slowest / 1000, 2)
    }


def _mix(questions: Sequence[dict[str, str]], tiers: Sequence[str]) -> dict[str, Any]:
    pairs = [(q["expected_tier"], tier) for q, tier in zip(questions, tiers, strict=True)]
    count = Counter(tiers)
    return {
        "tier_share": {tier: round(count[tier] / len(tiers), 3) for tier in TIERS},
        "matches_expected": round(sum(e == t for e, t in pairs) / len(pairs), 3),
        "under_routed": [
            q["id"]
            for q, (e, t) in zip(questions, pairs, strict=True)
            if tier_rank(t) < tier_rank(e)
        ],
        "over_routed": [
            q["id"]
            for q, (e, t) in zip(questions, pairs, strict=True)
            if tier_rank(t) > tier_rank(e)
        ],
        "routed_by_expected": {
            expected: {tier: n for (e, tier), n in sorted(Counter(pairs).items()) if e == expected}
            for expected in TIERS
        },
    }


def run(rounds: int = 300) -> dict[str, Any]:
    questions = load_questions()
    alone = [RouteInput("ask", q["question"], "medium") for q in questions]
    in_thread = [
        RouteInput("thread", FOLLOW_UP, "medium", prior_turns=2, thread_root=q["question"])
        for q in questions
    ]
    texts = [q["question"] for q in questions]
    decisions = [route(request) for request in alone]
    reasons = Counter(decision.reason for decision in decisions)
    return {
        "questions": len(questions),
        "rounds": rounds,
        "router": _time(route, alone, rounds),
        "router_follow_up": _time(route, in_thread, rounds),
        "no_call": _time(no_call, texts, rounds),
        **_mix(questions, [decision.tier for decision in decisions]),
        "reasons": dict(reasons.most_common()),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
