"""The exact response cache on fakeredis: keys, scopes, threads, freshness, what is never
stored, corrupt entries, and a cache Redis that is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import fakeredis
import pytest

from gateway import keys
from gateway.freshness import FreshnessPolicy, about_the_present
from gateway.response_cache import (
    CachedAnswer,
    CacheKey,
    ResponseCache,
    Scope,
    clean_markup,
    fold,
)
from gateway.single_flight import Hit, Leader, SingleFlight
from gateway.types import Completion, LLMRequest, Message, Route, Usage

ROUTE = Route("bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0")
FALLBACK = Route("ec2", "llama-3.1-8b-instruct")
BOT = "UBOT"
PUBLIC = Scope.of("public", workspace="T1", channel="C1", user="U1")
POLICY = FreshnessPolicy({"ask": 86_400, "thread": 3_600}, default_ttl_s=0, present_ttl_s=60)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def client(server: fakeredis.FakeServer) -> Iterator[fakeredis.FakeRedis]:
    redis_client = fakeredis.FakeRedis(server=server)
    yield redis_client
    redis_client.close()


def ask(*texts: str, **changes: object) -> LLMRequest:
    """A request whose conversation alternates user / assistant, ending with a user text."""
    roles = ["user", "assistant"] * len(texts)
    messages = tuple(Message(role, text) for role, text in zip(roles, texts, strict=False))
    request = LLMRequest(
        task="ask", messages=messages, system="You are ChatOps Bot.", max_output_tokens=700
    )
    return replace(request, **changes)


def key_of(request: LLMRequest, scope: Scope = PUBLIC, route: Route = ROUTE) -> CacheKey:
    return CacheKey.for_request(request, route=route, scope=scope, bot_user_id=BOT)


def completion(text: str = "Run `vault rotate staging-db`.", **usage: object) -> Completion:
    counts: dict[str, object] = {"input_tokens": 120, "output_tokens": 30, "model": ROUTE.model}
    counts["stop_reason"] = "end_turn"
    counts.update(usage)
    return Completion(text=text, usage=Usage(**counts), route=ROUTE, ttft_ms=300, duration_ms=900)


# -- keys ------------------------------------------------------------------------------------


def test_what_does_not_change_the_meaning_does_not_change_the_key() -> None:
    variants = [
        "How do I rotate the staging DB password?",
        "how do i rotate the staging db password",
        "  How   do I rotate the\nstaging DB password?!  ",
        "<@UBOT> How do I rotate the staging DB password?",
        "How do I rotate the *staging* DB password?",
    ]
    digests = {key_of(ask(text)).digest for text in variants}
    assert len(digests) == 1


def test_slack_markup_reads_as_a_person_sees_it() -> None:
    text = (
        "<@UBOT> ask <@U42|maria> in <#C9|ops> about"
        " <https://wiki.example.com/db/|the runbook> &amp; <!here>"
    )
    assert clean_markup(text, BOT) == "ask @U42 in #C9 about wiki.example.com/db & @here"
    assert fold(clean_markup(text, BOT)) == "ask @u42 in #c9 about wiki.example.com/db & @here"


def test_different_words_numbers_or_settings_make_different_keys() -> None:
    base = key_of(ask("scale checkout to 3 replicas"))
    others = [
        key_of(ask("scale checkout to 5 replicas")),
        key_of(ask("scale checkout to 3 replicas", tier="large")),
        key_of(ask("scale checkout to 3 replicas", system="Another prompt.")),
        key_of(ask("scale checkout to 3 replicas", max_output_tokens=300)),
        key_of(ask("scale checkout to 3 replicas", temperature=0.9)),
        key_of(ask("scale checkout to 3 replicas", task="dm")),
        key_of(ask("scale checkout to 3 replicas"), route=FALLBACK),
    ]
    assert base.digest not in {other.digest for other in others}
    assert len({other.digest for other in others}) == len(others)


def test_one_question_in_a_dm_a_private_and_a_public_channel_is_three_keys() -> None:
    request = ask("who owns the billing-events topic?")
    where = {"dm": "D1", "private": "G1", "public": "C1"}
    digests = {
        key_of(request, Scope.of(kind, workspace="T1", channel=channel, user="U1")).digest
        for kind, channel in where.items()
    }
    assert len(digests) == 3


def test_two_people_in_public_channels_of_one_workspace_share_one_key() -> None:
    request = ask("who owns the billing-events topic?")
    first = Scope.of("public", workspace="T1", channel="C1", user="U1")
    second = Scope.of("public", workspace="T1", channel="C2", user="U2")
    other_workspace = Scope.of("public", workspace="T2", channel="C1", user="U1")
    assert key_of(request, first).digest == key_of(request, second).digest
    assert key_of(request, first).digest != key_of(request, other_workspace).digest


def test_private_channels_and_dms_never_share() -> None:
    request = ask("what is the incident bridge number?")
    private = [Scope.of("private", workspace="T1", channel=c, user="U1") for c in ("G1", "G2")]
    dms = [Scope.of("dm", workspace="T1", channel="D1", user=u) for u in ("U1", "U2")]
    assert key_of(request, private[0]).digest != key_of(request, private[1]).digest
    assert key_of(request, dms[0]).digest != key_of(request, dms[1]).digest


def test_an_unknown_channel_kind_takes_the_narrowest_scope() -> None:
    request = ask("what is the incident bridge number?")
    unknown = [Scope.of("", workspace="T1", channel="C1", user=u) for u in ("U1", "U2")]
    wider = [Scope.of(k, workspace="T1", channel="C1", user="U1") for k in ("public", "private")]
    digests = [key_of(request, scope).digest for scope in (*unknown, *wider)]
    assert len(set(digests)) == 4


def test_a_follow_up_carries_its_thread_so_the_same_words_never_share() -> None:
    after_staging = key_of(
        ask("how do I restart redis in staging?", "Run …", "what about the logs?")
    )
    after_prod = key_of(ask("how do I restart redis in prod?", "Run …", "what about the logs?"))
    top_level = key_of(ask("what about the logs?"))
    assert len({after_staging.digest, after_prod.digest, top_level.digest}) == 3
    assert after_staging.is_follow_up and not top_level.is_follow_up
    assert after_staging.partition == top_level.partition
    assert after_staging.question == "what about the logs?"


# -- freshness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "who is on call now?",
        "Who's on-call for payments",
        "is the notification service down?",
        "what's the current version of auth?",
        "what failed today",
        "status of the deploy pipeline",
        "latest release of the ingress chart",
        "errors in the last 24 hours",
        "anything odd right now?",
    ],
)
def test_questions_about_the_present_are_recognised(question: str) -> None:
    assert about_the_present(question)
    decision = POLICY.decide("ask", question)
    assert (
        decision.ttl_s == 60 and decision.max_age_s == 60 and decision.reason.startswith("present:")
    )


@pytest.mark.parametrize(
    "question",
    [
        "how do I rotate the staging DB password?",
        "is it possible to set up a VPN to the lab",
        "what does OPS-1423 say about the cert rotation",
    ],
)
def test_questions_not_about_the_present_keep_the_task_ttl(question: str) -> None:
    decision = POLICY.decide("ask", question)
    assert (decision.read, decision.ttl_s, decision.reason) == (True, 86_400, "task")


def test_fresh_reads_nothing_but_replaces_the_answer() -> None:
    decision = POLICY.decide("ask", "how do I rotate the staging DB password?", fresh=True)
    assert not decision.read and decision.ttl_s == 86_400


def test_present_questions_are_skipped_when_their_ttl_is_zero() -> None:
    never = FreshnessPolicy({"ask": 86_400}, default_ttl_s=0, present_ttl_s=0)
    decision = never.decide("ask", "who is on call now?")
    assert not decision.read and not decision.write
    assert not POLICY.decide("jira_summary", "summarize OPS-1").write  # no TTL: not cached


def test_an_answer_from_yesterday_is_not_served_to_a_question_about_now(
    client: fakeredis.FakeRedis,
) -> None:
    clock = Clock(time.time() - 86_400)
    cache = ResponseCache(client, clock=clock)
    question = ask("who is on call for payments right now?")
    key = key_of(question)
    assert cache.put(key, completion("Maria."), cost_micro_usd=900, ttl_s=86_400) == "stored"
    clock.now = time.time()
    present = POLICY.decide("ask", key.question)
    assert cache.get(key, max_age_s=present.max_age_s) is None
    assert cache.get(key, max_age_s=86_400 + 60) is not None


# -- what is stored ----------------------------------------------------------------------------


def test_a_hit_says_when_and_what_the_original_call_cost(client: fakeredis.FakeRedis) -> None:
    cache = ResponseCache(client, clock=Clock(1_000.0))
    key = key_of(ask("how do I rotate the staging DB password?"))
    assert cache.get(key) is None
    assert cache.put(key, completion(), cost_micro_usd=1_234, ttl_s=600) == "stored"
    answer = cache.get(key)
    assert answer is not None
    assert (answer.text, answer.route, answer.tier) == (completion().text, ROUTE, "medium")
    assert (answer.created_at, answer.cost_micro_usd, answer.usage.input_tokens) == (
        1_000.0,
        1_234,
        120,
    )
    assert 0 < client.ttl(keys.response_cache(key.digest)) <= 600


@pytest.mark.parametrize(
    ("finished", "outcome"),
    [
        (completion(stop_reason="max_tokens"), "not_stored:truncated"),
        (completion(output_tokens=700, stop_reason=""), "not_stored:truncated"),
        (completion(stop_reason="content_filtered"), "not_stored:stopped"),
        (completion(stop_reason="guardrail_intervened"), "not_stored:stopped"),
        (completion(estimated=True, stop_reason=""), "not_stored:estimated_usage"),
        (completion("   "), "not_stored:empty"),
        (completion("I'm sorry, but I can't help with that."), "not_stored:refusal"),
        (completion("I cannot assist with rotating production secrets."), "not_stored:refusal"),
        (replace(completion(), route=FALLBACK), "not_stored:fallback_route"),
    ],
)
def test_truncated_stopped_cut_empty_refused_or_fallback_answers_are_never_stored(
    client: fakeredis.FakeRedis, finished: Completion, outcome: str
) -> None:
    cache = ResponseCache(client)
    key = key_of(ask("how do I rotate the staging DB password?"))
    assert cache.put(key, finished, cost_micro_usd=10, ttl_s=600) == outcome
    assert cache.get(key) is None
    assert client.keys("*") == []


def test_a_failed_call_stores_nothing_and_releases_the_flight(client: fakeredis.FakeRedis) -> None:
    flight = SingleFlight(ResponseCache(client))
    freshness = POLICY.decide("ask", "how do I rotate the staging DB password?")
    key = key_of(ask("how do I rotate the staging DB password?"))
    leader = flight.lookup(key, freshness)
    assert isinstance(leader, Leader)
    with pytest.raises(RuntimeError), leader:
        leader.publish("Run `vault")
        raise RuntimeError("the stream was cut")
    assert client.get(keys.response_cache(key.digest)) is None
    assert client.get(keys.flight_lock(key.digest)) is None
    assert isinstance(flight.lookup(key, freshness), Leader)


def test_a_corrupt_entry_is_dropped_and_read_as_a_miss(client: fakeredis.FakeRedis) -> None:
    cache = ResponseCache(client)
    key = key_of(ask("how do I rotate the staging DB password?"))
    for junk in (b"{not json", b'{"text": "x"}', b'{"text": "", "route": "bedrock:m"}'):
        client.set(keys.response_cache(key.digest), junk)
        assert cache.get(key) is None
        assert client.exists(keys.response_cache(key.digest)) == 0


def test_the_stored_answer_round_trips() -> None:
    key = key_of(ask("q"))
    answer = CachedAnswer.of(key, completion(), cost_micro_usd=None, now=5.0)
    assert CachedAnswer.from_json(answer.to_json()) == answer


# -- a cache Redis that is down ---------------------------------------------------------------


def test_a_cache_that_is_down_is_a_miss_and_then_stays_out_of_the_way(
    server: fakeredis.FakeServer, client: fakeredis.FakeRedis
) -> None:
    cache = ResponseCache(client)
    flight = SingleFlight(cache)
    key = key_of(ask("how do I rotate the staging DB password?"))
    freshness = POLICY.decide("ask", key.question)
    server.connected = False
    assert cache.get(key) is None
    assert cache.breaker.is_open
    outcome = flight.lookup(key, freshness)
    assert isinstance(outcome, Leader) and not outcome.is_shared
    with outcome:
        outcome.publish("Run it.")
        assert outcome.finish(completion(), cost_micro_usd=5) == "not_stored:cache_unavailable"
    server.connected = True
    assert cache.get(key) is None  # still cooling off: not even asked
    assert client.get(keys.response_cache(key.digest)) is None


def test_a_stored_answer_is_a_hit_for_the_next_identical_question(
    client: fakeredis.FakeRedis,
) -> None:
    flight = SingleFlight(ResponseCache(client))
    key = key_of(ask("how do I rotate the staging DB password?"))
    freshness = POLICY.decide("ask", key.question)
    leader = flight.lookup(key, freshness)
    assert isinstance(leader, Leader)
    with leader:
        assert leader.finish(completion(), cost_micro_usd=77) == "stored"
    again = flight.lookup(key_of(ask("How do I rotate the staging DB password")), freshness)
    assert isinstance(again, Hit) and again.source == "exact"
    assert again.answer.cost_micro_usd == 77
    fresh = POLICY.decide("ask", key.question, fresh=True)
    assert isinstance(flight.lookup(key, fresh), Leader)
