"""Percentiles of measured durations, for the replay report and the benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p from 0 to 100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / mean of durations given in seconds, in milliseconds, 2 decimals."""
    millis = [s * 1000 for s in seconds]
    if not millis:
        return {"n": 0}
    return {
        "n": len(millis),
        "p50_ms": round(percentile(millis, 50), 2),
        "p99_ms": round(percentile(millis, 99), 2),
        "mean_ms": round(statistics.fmean(millis), 2),
    }


__all__ = ["percentile", "summary_ms"]
