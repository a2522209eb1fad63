"""The response caches' own time per request, against a real redis-server, with a scope
holding a realistic number of questions (2,000): an exact hit, an exact miss, a semantic
lookup (embedding with the embedded wordllama model, one read of the scope's vectors, the
scoring, the guards, and the answer's read on a hit), and everything a new question pays
before its model call (`SingleFlight.lookup` returning the lead, then letting go).

    python -m bench.cache_lookup     # prints JSON
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from chatops.percentiles import summary_ms
from chatops.stack import redis_server
from gateway.embeddings import WordLlamaEmbedder
from gateway.freshness import FreshnessPolicy
from gateway.response_cache import CacheKey, ResponseCache, Scope, connect
from gateway.semantic_cache import SemanticCache
from gateway.single_flight import Hit, Leader, SingleFlight
from gateway.types import Completion, LLMRequest, Message, Route, Usage

ROUTE = Route("bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0")
SCOPE = Scope.of("public", workspace="T1", channel="C1", user="U1")
POLICY = FreshnessPolicy({"ask": 86_400}, default_ttl_s=0, present_ttl_s=60)
SERVICES = (
    "billing",
    "checkout",
    "search",
    "auth",
    "payments",
    "ledger",
    "inventory",
    "orders",
    "invoices",
    "notifications",
    "gateway",
    "ingest",
    "reporting",
    "analytics",
    "scheduler",
    "indexer",
    "catalog",
    "pricing",
    "shipping",
    "returns",
    "profile",
    "sessions",
    "media",
    "thumbnails",
    "exports",
    "imports",
    "webhooks",
    "audit",
    "metrics",
    "alerts",
    "kafka",
    "redis",
    "postgres",
    "vault",
    "grafana",
    "loki",
    "jenkins",
    "runners",
    "registry",
    "dns",
)
ASKED = (
    "how do I restart the {s} service in {e}?",
    "who owns the {s} service?",
    "where are the runbooks for {s} in {e}?",
    "why is the {s} service slow in {e}?",
    "how do I roll back {s} in {e}?",
    "what is the memory limit of {s} in {e}?",
    "how many replicas does {s} run in {e}?",
    "how do I get read access to the {s} database in {e}?",
    "what port does {s} listen on in {e}?",
    "how do I tail the {s} logs in {e}?",
    "which alerts page for {s} in {e}?",
    "how do I scale {s} up in {e}?",
    "how do I scale {s} down in {e}?",
    "what is the SLO for {s}?",
    "how do I deploy {s} to {e}?",
    "where is the dashboard for {s} in {e}?",
    "how do I rotate the {s} database password in {e}?",
    "what does the {s} error budget look like?",
    "how do I enable debug logging for {s} in {e}?",
    "how do I disable debug logging for {s} in {e}?",
    "what depends on {s}?",
    "how is {s} backed up in {e}?",
)
# Asked again in other words: a semantic hit where the guards agree.
REWORDED = {
    "who owns the {s} service?": "who is the owner of the {s} service",
    "how do I restart the {s} service in {e}?": "how can I restart the {s} service in {e}",
    "how do I tail the {s} logs in {e}?": "how can I tail the {s} logs in {e}",
}
ENVIRONMENTS = ("prod", "staging", "dev")


def _key(question: str) -> CacheKey:
    request = LLMRequest(task="ask", messages=(Message("user", question),), system="sys")
    return CacheKey.for_request(request, route=ROUTE, scope=SCOPE)


def _questions(count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    every = [(t, s, e) for t in ASKED for s in SERVICES for e in ENVIRONMENTS]
    unique = {t.format(s=s, e=e): (t, s, e) for t, s, e in every}
    return rng.sample(sorted(unique.values()), count)


def _fill(
    flight: SingleFlight, semantic: SemanticCache, stored: list[tuple[str, str, str]]
) -> None:
    usage = Usage(300, 120, model=ROUTE.model, stop_reason="end_turn")
    for template, service, env in stored:
        key = _key(template.format(s=service, e=env))
        leader = flight.lookup(key, POLICY.decide("ask", key.question))
        assert isinstance(leader, Leader)
        text = f"The {service} answer for {env}: " + "run the documented steps. " * 12
        leader.finish(Completion(text, usage, ROUTE, 400, 2_000), cost_micro_usd=900)


def _timed(calls: int, step: Callable[[int], object]) -> list[float]:
    for n in range(10):
        step(n)
    times = []
    for n in range(calls):
        started = time.perf_counter()
        step(n)
        times.append(time.perf_counter() - started)
    return times


def run(stored_questions: int = 2_000, calls: int = 400) -> dict[str, Any]:
    rng = random.Random(11)
    embedder = WordLlamaEmbedder()
    embedder.warm()
    with redis_server() as url:
        cache = ResponseCache(connect(url))
        semantic = SemanticCache(cache, embedder, capacity=stored_questions)
        flight = SingleFlight(cache, semantic=semantic)
        stored = _questions(stored_questions, rng)
        _fill(flight, semantic, stored)
        hit_keys = [_key(t.format(s=s, e=e)) for t, s, e in stored]
        reworded = [_key(REWORDED[t].format(s=s, e=e)) for t, s, e in stored if t in REWORDED]
        unseen = [
            _key(f"how do I page the {s} team about ticket OPS-{n}?")
            for n, s in enumerate(rng.choices(SERVICES, k=calls + 10))
        ]
        freshness = POLICY.decide("ask", "how do I")

        def exact_hit(n: int) -> None:
            assert isinstance(flight.lookup(hit_keys[n % len(hit_keys)], freshness), Hit)

        def semantic_lookup(n: int) -> None:
            semantic.lookup(reworded[n % len(reworded)])

        def new_question(n: int) -> None:
            outcome = flight.lookup(unseen[n], freshness)
            assert isinstance(outcome, Leader)
            outcome.fail()

        semantic_hits = sum(semantic.lookup(key).is_hit for key in reworded)
        return {
            "stored_questions_per_scope": stored_questions,
            "calls": calls,
            "exact_hit": summary_ms(_timed(calls, exact_hit)),
            "exact_miss": summary_ms(_timed(calls, lambda n: cache.get(unseen[n]))),
            "semantic_lookup": summary_ms(_timed(calls, semantic_lookup)),
            "embedding_only": summary_ms(
                _timed(calls, lambda n: embedder.embed([reworded[n % len(reworded)].question]))
            ),
            "new_question_before_its_call": summary_ms(_timed(calls, new_question)),
            "semantic_hit_rate_on_rewordings": round(semantic_hits / len(reworded), 3),
        }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
