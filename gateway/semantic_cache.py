"""The semantic cache: an earlier answer to a question asked in other words, when — and only
when — the look-alike guards agree the two questions ask the same thing.

For top-level questions only (a follow-up's meaning depends on its thread). Candidates come
from the same `CacheKey.partition` — the same scope, prompt, route and generation settings —
so the exact cache's privacy scopes hold here too. Each partition keeps its most recent
`capacity` questions in plain Redis (no Redis Stack), as a ring of slots:

    chatops:cache:semantic:{partition}:vectors   STRING  slot i at byte i·dims·2 (float16)
    chatops:cache:semantic:{partition}:entries   HASH    i -> {"q": question, "d": digest},
                                                         "next" (ring counter), "dims"

A lookup reads the whole vector string in one round trip, scores it with one matrix product,
and walks the best candidates above `threshold`: the guards (`gateway.lookalike`) refuse
look-alikes, an optional `confirm(a, b)` may refuse too, and the answer itself must still be
in the exact cache (its TTL carries freshness). The threshold only buys recall: embeddings
rank near-misses ("pause" / "resume the rollout") above most paraphrases.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import redis

from gateway import keys
from gateway.embeddings import Embedder, Vectors, embed_within
from gateway.lookalike import Facets, Verdict, compare_facets, facets
from gateway.response_cache import CachedAnswer, CacheKey, ResponseCache, fold

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.75
DEFAULT_CAPACITY = 2_000
# Candidates above the threshold that the guards may look at, best first.
DEFAULT_CANDIDATES = 5

Confirm = Callable[[str, str], bool]

# Claim the ring's next slot and write a vector and its entry there, atomically. A stored
# vector width that differs (another embedder's dimensions) resets the ring.
_REMEMBER = """
local size = tonumber(ARGV[4])
if tonumber(redis.call('HGET', KEYS[2], 'dims') or size) ~= size then
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('HSET', KEYS[2], 'dims', size)
local slot = (redis.call('HINCRBY', KEYS[2], 'next', 1) - 1) % tonumber(ARGV[3])
redis.call('SETRANGE', KEYS[1], slot * size * 2, ARGV[1])
redis.call('HSET', KEYS[2], tostring(slot), ARGV[2])
local ttl = tonumber(ARGV[5])
for _, name in ipairs(KEYS) do
  if redis.call('PTTL', name) < ttl then redis.call('PEXPIRE', name, ttl) end
end
return slot
"""


@dataclass(frozen=True)
class SemanticMatch:
    """The outcome of one lookup: an answer, or the reason there is none.

    `reason` is `hit`, or one of `off`, `follow_up`, `embedding_unavailable`,
    `cache_unavailable`, `empty`, `similarity 0.71 < 0.85`, a guard's refusal
    (`guard:number 3≠5`), `confirm:no`, `answer_gone`."""

    answer: CachedAnswer | None
    reason: str
    similarity: float = 0.0
    question: str = ""  # the stored question that matched or was refused
    # The asking question's vector, so `remember` need not embed it again.
    vector: Vectors | None = field(default=None, compare=False, repr=False)

    @property
    def is_hit(self) -> bool:
        return self.answer is not None


def embedding_text(question: str) -> str:
    """What is embedded: the question folded as the exact key folds it (case and trailing
    punctuation change the vector, not the meaning). The guards read the question as asked."""
    return fold(question)


def judge(a: Facets, b: Facets, similarity: float, threshold: float) -> Verdict:
    """The decision for one candidate: the threshold first, then the guards."""
    if similarity < threshold:
        return Verdict(False, f"similarity {similarity:.2f} < {threshold:.2f}")
    return compare_facets(a, b)


class SemanticCache:
    def __init__(
        self,
        responses: ResponseCache,
        embedder: Embedder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        capacity: int = DEFAULT_CAPACITY,
        candidates: int = DEFAULT_CANDIDATES,
        embed_budget_s: float = 0.2,
        confirm: Confirm | None = None,
    ) -> None:
        self.responses = responses
        self.embedder = embedder
        self.threshold = threshold
        self.capacity = capacity
        self.candidates = candidates
        self.embed_budget_s = embed_budget_s
        self.confirm = confirm
        self._client = responses.client
        self._remember = self._client.register_script(_REMEMBER)

    def lookup(self, key: CacheKey, *, max_age_s: float | None = None) -> SemanticMatch:
        """An earlier answer to the same question in other words, or why there is none."""
        if key.is_follow_up:
            return SemanticMatch(None, "follow_up")
        if self.responses.breaker.is_open:
            return SemanticMatch(None, "cache_unavailable")
        vector = embed_within(self.embedder, embedding_text(key.question), self.embed_budget_s)
        if vector is None:
            return SemanticMatch(None, "embedding_unavailable")
        try:
            stored = self._client.get(keys.semantic_vectors(self._partition(key)))
            ranked = self._rank(stored, vector)
            entries = self._entries(key, [slot for slot, _ in ranked])
        except redis.RedisError as exc:
            self.responses.breaker.trip("semantic_lookup", exc)
            return SemanticMatch(None, "cache_unavailable", vector=vector)
        return self._choose(key, vector, ranked, entries, max_age_s)

    def remember(self, key: CacheKey, ttl_s: int, *, vector: Vectors | None = None) -> bool:
        """Index a top-level question whose answer was just stored under `key.digest`."""
        if key.is_follow_up or ttl_s <= 0 or self.responses.breaker.is_open:
            return False
        if vector is None:
            vector = embed_within(self.embedder, embedding_text(key.question), self.embed_budget_s)
        if vector is None:
            return False
        entry = json.dumps({"q": key.question, "d": key.digest}, separators=(",", ":"))
        partition = self._partition(key)
        try:
            self._remember(
                keys=[keys.semantic_vectors(partition), keys.semantic_entries(partition)],
                args=[
                    vector.astype(np.float16).tobytes(),
                    entry,
                    self.capacity,
                    vector.shape[0],
                    ttl_s * 1000,
                ],
            )
        except redis.RedisError as exc:
            self.responses.breaker.trip("semantic_remember", exc)
            return False
        return True

    def _partition(self, key: CacheKey) -> str:
        return f"{key.partition}:{self.embedder.name}"

    def _rank(self, stored: bytes | str | None, vector: Vectors) -> list[tuple[int, float]]:
        """(slot, similarity) of the best stored vectors at or above the threshold, best first."""
        dims = vector.shape[0]
        if not isinstance(stored, bytes) or not stored or len(stored) % (dims * 2):
            return []
        matrix = np.frombuffer(stored, dtype=np.float16).reshape(-1, dims)
        scores = matrix.astype(np.float32) @ vector
        count = min(self.candidates, scores.shape[0])
        best = np.argpartition(-scores, count - 1)[:count]
        ordered = sorted(best.tolist(), key=lambda slot: -scores[slot])
        above = [(slot, float(scores[slot])) for slot in ordered if scores[slot] >= self.threshold]
        # With none above the threshold the best is kept, to say how close it came.
        return above or [(slot, float(scores[slot])) for slot in ordered[:1]]

    def _entries(self, key: CacheKey, slots: list[int]) -> list[dict[str, str] | None]:
        if not slots:
            return []
        raw = self._client.hmget(
            keys.semantic_entries(self._partition(key)), [str(s) for s in slots]
        )
        entries: list[dict[str, str] | None] = []
        for item in raw:
            try:
                entry = json.loads(item) if item else None
                entries.append({"q": str(entry["q"]), "d": str(entry["d"])} if entry else None)
            except (ValueError, KeyError, TypeError):
                entries.append(None)
        return entries

    def _choose(
        self,
        key: CacheKey,
        vector: Vectors,
        ranked: list[tuple[int, float]],
        entries: list[dict[str, str] | None],
        max_age_s: float | None,
    ) -> SemanticMatch:
        asked = facets(key.question)
        refusal: SemanticMatch | None = None
        for (_, similarity), entry in zip(ranked, entries, strict=True):
            if entry is None or entry["d"] == key.digest:
                continue
            verdict = judge(asked, facets(entry["q"]), similarity, self.threshold)
            if not verdict.same:
                refusal = refusal or SemanticMatch(
                    None, verdict.reason, similarity, entry["q"], vector
                )
                continue
            if self.confirm is not None and not self.confirm(key.question, entry["q"]):
                refusal = refusal or SemanticMatch(
                    None, "confirm:no", similarity, entry["q"], vector
                )
                continue
            answer = self.responses.get_digest(entry["d"], max_age_s=max_age_s)
            if answer is None:
                refusal = refusal or SemanticMatch(
                    None, "answer_gone", similarity, entry["q"], vector
                )
                continue
            log.info("semantic_hit digest=%s similarity=%.3f", key.digest, similarity)
            return SemanticMatch(answer, "hit", similarity, entry["q"], vector)
        return refusal or SemanticMatch(None, "empty", vector=vector)


__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_THRESHOLD",
    "Confirm",
    "SemanticCache",
    "SemanticMatch",
    "embedding_text",
    "judge",
]
