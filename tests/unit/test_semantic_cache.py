"""The semantic cache on fakeredis with the embedded wordllama model: paraphrases served in
their own scope only, look-alikes refused with the guard's reason, follow-ups never served,
an embedder that fails or dawdles skipped; and `chatops cache-check` on small pair files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import fakeredis
import numpy as np
import pytest

from chatops import cli
from gateway import keys
from gateway.embeddings import Vectors, WordLlamaEmbedder
from gateway.errors import EmbeddingUnavailableError
from gateway.freshness import FreshnessPolicy
from gateway.response_cache import CacheKey, ResponseCache, Scope
from gateway.semantic_cache import SemanticCache
from gateway.single_flight import Hit, Leader, SingleFlight
from gateway.types import Completion, LLMRequest, Message, Route, Usage

ROUTE = Route("bedrock", "amazon.nova-micro-v1:0")
POLICY = FreshnessPolicy({"ask": 86_400, "thread": 3_600}, default_ttl_s=0, present_ttl_s=60)
ASKED = "How do I rotate the staging DB password?"
PARAPHRASE = "how can I rotate the staging database password"
PUBLIC = Scope.of("public", workspace="T1", channel="C1", user="U1")


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbedder:
    embedder = WordLlamaEmbedder()
    embedder.warm()
    return embedder


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    redis_client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield redis_client
    redis_client.close()


def key_of(*texts: str, scope: Scope = PUBLIC) -> CacheKey:
    roles = ["user", "assistant"] * len(texts)
    messages = tuple(Message(r, t) for r, t in zip(roles, texts, strict=False))  # type: ignore[arg-type]
    request = LLMRequest(task="ask", messages=messages, system="You are ChatOps Bot.")
    return CacheKey.for_request(request, route=ROUTE, scope=scope)


def answer_and_index(flight: SingleFlight, key: CacheKey, text: str) -> None:
    leader = flight.lookup(key, POLICY.decide("ask", key.question))
    assert isinstance(leader, Leader)
    with leader:
        usage = Usage(100, 20, model=ROUTE.model, stop_reason="end_turn")
        completion = Completion(text, usage, ROUTE, ttft_ms=1, duration_ms=2)
        assert leader.finish(completion, cost_micro_usd=17) == "stored"


def semantic(client: fakeredis.FakeRedis, embedder: object, **options: object) -> SemanticCache:
    return SemanticCache(ResponseCache(client), embedder, **options)  # type: ignore[arg-type]


def test_a_paraphrase_in_the_same_scope_is_served(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder
) -> None:
    cache = semantic(client, wordllama)
    flight = SingleFlight(cache.responses, semantic=cache)
    answer_and_index(flight, key_of(ASKED), "Run `vault rotate staging-db`.")
    other_words = key_of(PARAPHRASE)
    outcome = flight.lookup(other_words, POLICY.decide("ask", other_words.question))
    assert isinstance(outcome, Hit) and outcome.source == "semantic"
    assert outcome.answer.text == "Run `vault rotate staging-db`."
    assert outcome.match is not None and outcome.match.question == ASKED
    assert outcome.match.similarity >= cache.threshold


@pytest.mark.parametrize(
    "scope",
    [
        Scope.of("dm", workspace="T1", channel="D1", user="U1"),
        Scope.of("private", workspace="T1", channel="G1", user="U1"),
        Scope.of("public", workspace="T2", channel="C1", user="U1"),
    ],
)
def test_a_paraphrase_is_never_served_across_scopes(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder, scope: Scope
) -> None:
    cache = semantic(client, wordllama)
    flight = SingleFlight(cache.responses, semantic=cache)
    answer_and_index(flight, key_of(ASKED), "public answer")
    elsewhere = key_of(PARAPHRASE, scope=scope)
    outcome = flight.lookup(elsewhere, POLICY.decide("ask", elsewhere.question))
    assert isinstance(outcome, Leader)
    assert outcome.semantic_match is not None and outcome.semantic_match.reason == "empty"
    outcome.fail()


@pytest.mark.parametrize(
    ("asked", "reason"),
    [
        ("How do I rotate the prod DB password?", "guard:env prod≠staging"),
        ("How do I rotate the staging DB password without downtime?", "guard:negation"),
        ("Why did we rotate the staging DB password?", ""),
    ],
)
def test_a_look_alike_is_refused_and_says_why(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder, asked: str, reason: str
) -> None:
    cache = semantic(client, wordllama, threshold=0.5)
    answer_and_index(SingleFlight(cache.responses, semantic=cache), key_of(ASKED), "staging")
    match = cache.lookup(key_of(asked))
    assert match.answer is None
    assert match.reason.startswith(reason or "guard:")
    assert match.question == ASKED


def test_below_the_threshold_the_reason_gives_the_similarity(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder
) -> None:
    cache = semantic(client, wordllama, threshold=0.99)
    answer_and_index(SingleFlight(cache.responses, semantic=cache), key_of(ASKED), "staging")
    match = cache.lookup(key_of(PARAPHRASE))
    assert match.answer is None and match.reason.startswith("similarity 0.")
    assert match.reason.endswith("< 0.99")


def test_follow_ups_are_never_served_nor_indexed(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder
) -> None:
    cache = semantic(client, wordllama)
    flight = SingleFlight(cache.responses, semantic=cache)
    answer_and_index(flight, key_of("what is our Redis version?", "7.2", ASKED), "a")
    assert client.keys(keys.semantic_entries("*")) == []
    answer_and_index(flight, key_of(ASKED), "b")
    assert cache.lookup(key_of("what is the Redis version?", "7.0", PARAPHRASE)).reason == (
        "follow_up"
    )


def test_confirm_has_the_last_word(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder
) -> None:
    asked_pairs: list[tuple[str, str]] = []

    def no(a: str, b: str) -> bool:
        asked_pairs.append((a, b))
        return False

    cache = semantic(client, wordllama, confirm=no)
    answer_and_index(SingleFlight(cache.responses, semantic=cache), key_of(ASKED), "a")
    assert cache.lookup(key_of(PARAPHRASE)).reason == "confirm:no"
    assert asked_pairs == [(PARAPHRASE, ASKED)]
    assert cache.lookup(key_of("How do I rotate the prod DB password?")).reason.startswith("guard")
    assert len(asked_pairs) == 1  # the guards refused first: no paid call


def test_an_expired_answer_is_not_served(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder
) -> None:
    cache = semantic(client, wordllama)
    answer_and_index(SingleFlight(cache.responses, semantic=cache), key_of(ASKED), "a")
    client.delete(keys.response_cache(key_of(ASKED).digest))
    assert cache.lookup(key_of(PARAPHRASE)).reason == "answer_gone"


def test_each_scope_keeps_only_its_most_recent_questions(
    client: fakeredis.FakeRedis, wordllama: WordLlamaEmbedder
) -> None:
    cache = semantic(client, wordllama, capacity=3)
    flight = SingleFlight(cache.responses, semantic=cache)
    services = ["billing", "search", "checkout", "auth", "payments"]
    for service in services:
        answer_and_index(flight, key_of(f"who owns the {service} service?"), f"{service} team")
    served = {
        service: cache.lookup(key_of(f"who owns {service} service")).answer for service in services
    }
    assert [s for s, answer in served.items() if answer] == ["checkout", "auth", "payments"]
    assert served["auth"] is not None and served["auth"].text == "auth team"


class BrokenEmbedder:
    name = "broken-8"

    def warm(self) -> None:
        return None

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise EmbeddingUnavailableError("the embedding service is down")


class SlowEmbedder:
    name = "slow-8"

    def warm(self) -> None:
        return None

    def embed(self, texts: Sequence[str]) -> Vectors:
        time.sleep(0.05)
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


@pytest.mark.parametrize("embedder", [BrokenEmbedder(), SlowEmbedder()])
def test_an_embedder_that_fails_or_dawdles_is_a_miss(
    client: fakeredis.FakeRedis, embedder: object
) -> None:
    cache = semantic(client, embedder, embed_budget_s=0.02)
    flight = SingleFlight(cache.responses, semantic=cache)
    answer_and_index(flight, key_of(ASKED), "answer")
    assert client.keys(keys.semantic_vectors("*")) == []
    outcome = flight.lookup(key_of(PARAPHRASE), POLICY.decide("ask", PARAPHRASE))
    assert isinstance(outcome, Leader)
    assert outcome.semantic_match is not None
    assert outcome.semantic_match.reason == "embedding_unavailable"
    outcome.fail()


def write_pairs(path: Path, rows: list[tuple[str, str, bool]]) -> Path:
    lines = [json.dumps({"a": a, "b": b, "same_intent": same}) for a, b, same in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cache_check_reports_decisions_and_counts_false_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = [
        (ASKED, "How can I rotate the staging DB password", True),
        (ASKED, "How do I rotate the prod DB password?", False),
        ("who owns the billing service?", "who owns billing service", False),  # mislabelled
    ]
    pairs = write_pairs(tmp_path / "pairs.jsonl", rows)
    assert cli.main(["cache-check", str(pairs), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["pairs"], report["hits"], report["false_hits"]) == (3, 2, 1)
    assert report["precision"] == 0.5 and report["recall"] == 1.0
    assert report["results"][1]["reason"] == "guard:env staging≠prod"
    assert cli.main(["cache-check", str(write_pairs(pairs, rows[:2]))]) == 0
    text = capsys.readouterr().out
    assert "guard:env staging≠prod" in text
    assert "hits 1: 0 false; precision 100.0%, recall 100.0%" in text


def test_cache_check_names_a_bad_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"a": "x", "b": "y", "same_intent": true}\n{"a": "x"}\n')
    assert cli.main(["cache-check", str(pairs)]) == 2
    assert (
        capsys.readouterr().err.strip().endswith("pairs.jsonl:2: expected {a, b, same_intent} JSON")
    )
