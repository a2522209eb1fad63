"""`chatops cache-check`: the semantic cache's decision on labelled question pairs.

Each pair is judged exactly as a lookup judges a candidate (`gateway.semantic_cache.judge`:
the similarity threshold, then the look-alike guards), with the configured embedder and no
Redis. A false hit is a pair served as the same question that is not; the goal is none.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.embeddings import Embedder
from gateway.errors import ConfigError
from gateway.lookalike import Verdict, compare_facets, facets
from gateway.response_cache import clean_markup
from gateway.semantic_cache import embedding_text, judge


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same_intent: bool


@dataclass(frozen=True)
class PairResult:
    pair: Pair
    similarity: float
    decision: Verdict  # threshold then guards: what the cache would do
    guards: Verdict  # the guards alone

    @property
    def hit(self) -> bool:
        return self.decision.same


@dataclass(frozen=True)
class CheckReport:
    embedder: str
    threshold: float
    results: tuple[PairResult, ...]

    @property
    def positives(self) -> int:
        return sum(r.pair.same_intent for r in self.results)

    @property
    def true_hits(self) -> int:
        return sum(r.hit and r.pair.same_intent for r in self.results)

    @property
    def false_hits(self) -> int:
        return sum(r.hit and not r.pair.same_intent for r in self.results)

    @property
    def precision(self) -> float | None:
        hits = self.true_hits + self.false_hits
        return self.true_hits / hits if hits else None

    @property
    def recall(self) -> float | None:
        return self.true_hits / self.positives if self.positives else None

    @property
    def guard_recall(self) -> float | None:
        """Recall with no threshold at all: the most the guards allow."""
        passed = sum(r.guards.same and r.pair.same_intent for r in self.results)
        return passed / self.positives if self.positives else None

    def refusals(self) -> dict[str, int]:
        """Refusals by kind (`guard:number`, `similarity`, …), most frequent first."""
        kinds = Counter(r.decision.reason.split(" ")[0] for r in self.results if not r.hit)
        return dict(kinds.most_common())


def load_pairs(path: Path) -> list[Pair]:
    pairs = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pair = Pair(str(row["a"]), str(row["b"]), row["same_intent"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: expected {{a, b, same_intent}} JSON") from exc
        if not isinstance(pair.same_intent, bool):
            raise ConfigError(f"{path}:{number}: same_intent must be true or false")
        pairs.append(pair)
    return pairs


def check_pairs(pairs: Sequence[Pair], embedder: Embedder, threshold: float) -> CheckReport:
    if not pairs:
        return CheckReport(embedder.name, threshold, ())
    texts = [clean_markup(text) for pair in pairs for text in (pair.a, pair.b)]
    vectors = embedder.embed([embedding_text(text) for text in texts])
    results = []
    for index, pair in enumerate(pairs):
        similarity = float(vectors[2 * index] @ vectors[2 * index + 1])
        first, second = facets(texts[2 * index]), facets(texts[2 * index + 1])
        results.append(
            PairResult(
                pair=pair,
                similarity=similarity,
                decision=judge(first, second, similarity, threshold),
                guards=compare_facets(first, second),
            )
        )
    return CheckReport(embedder.name, threshold, tuple(results))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def report_text(report: CheckReport) -> str:
    lines = []
    for r in report.results:
        mark = "HIT " if r.hit else "miss"
        wrong = "  <- FALSE HIT" if r.hit and not r.pair.same_intent else ""
        label = "same" if r.pair.same_intent else "diff"
        reason = "" if r.hit else f"  {r.decision.reason}"
        if not r.guards.same and r.guards.reason != r.decision.reason:
            reason += f"; {r.guards.reason}"
        lines.append(
            f"{mark} {label} {r.similarity:.2f}  {r.pair.a!r} / {r.pair.b!r}{reason}{wrong}"
        )
    negatives = len(report.results) - report.positives
    lines += [
        "",
        f"{len(report.results)} pairs ({report.positives} same intent, {negatives} not);"
        f" embedder {report.embedder}, threshold {report.threshold:.2f}",
        f"hits {report.true_hits + report.false_hits}: {report.false_hits} false;"
        f" precision {_pct(report.precision)}, recall {_pct(report.recall)}"
        f" (guards alone allow {_pct(report.guard_recall)})",
        "refusals: " + ", ".join(f"{kind} {n}" for kind, n in report.refusals().items()),
    ]
    return "\n".join(lines)


def report_json(report: CheckReport) -> dict[str, Any]:
    return {
        "embedder": report.embedder,
        "threshold": report.threshold,
        "pairs": len(report.results),
        "same_intent": report.positives,
        "hits": report.true_hits + report.false_hits,
        "false_hits": report.false_hits,
        "precision": report.precision,
        "recall": report.recall,
        "guard_recall": report.guard_recall,
        "refusals": report.refusals(),
        "results": [
            {
                "a": r.pair.a,
                "b": r.pair.b,
                "same_intent": r.pair.same_intent,
                "hit": r.hit,
                "similarity": round(r.similarity, 4),
                "reason": r.decision.reason,
                "guards": r.guards.reason,
            }
            for r in report.results
        ],
    }


__all__ = [
    "CheckReport",
    "Pair",
    "PairResult",
    "check_pairs",
    "load_pairs",
    "report_json",
    "report_text",
]
