"""Single-flight against a real redis-server: twenty identical asks make one model call and
all twenty see the answer while it is written; a leader that fails, or dies holding the
lock, is taken over by one of its followers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis

from gateway import keys
from gateway.errors import LeaderLostError
from gateway.freshness import Freshness, FreshnessPolicy
from gateway.response_cache import CacheKey, ResponseCache, Scope, connect
from gateway.single_flight import Follower, Hit, Leader, SingleFlight
from gateway.types import Completion, LLMRequest, Message, Route, Usage

ROUTE = Route("bedrock", "amazon.nova-micro-v1:0")
POLICY = FreshnessPolicy({"ask": 3_600}, default_ttl_s=0, present_ttl_s=60)
QUESTION = "how do I rotate the staging DB password?"
DELTAS = [f"step {n}. " for n in range(12)]
LEASE_MS = 600


def key_of(question: str = QUESTION) -> CacheKey:
    request = LLMRequest(task="ask", messages=(Message("user", question),), system="sys")
    scope = Scope.of("public", workspace="T1", channel="C1", user="U1")
    return CacheKey.for_request(request, route=ROUTE, scope=scope)


def flight_for(url: str) -> SingleFlight:
    """One worker's view: its own connection, a short lease so a dead leader lapses fast."""
    return SingleFlight(ResponseCache(connect(url)), lease_ms=LEASE_MS, block_ms=50)


@dataclass
class Model:
    """A scripted model: streams `DELTAS` a little apart, counting the calls made."""

    delay_s: float = 0.03
    fail_after: int | None = None
    calls: int = 0
    finished_at: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, leader: Leader) -> Completion:
        with self.lock:
            self.calls += 1
            failing = self.fail_after is not None and self.calls == 1
        for index, delta in enumerate(DELTAS):
            if failing and index == self.fail_after:
                raise RuntimeError("the stream was cut")
            time.sleep(self.delay_s)
            leader.publish(delta)
        self.finished_at.append(time.monotonic())
        usage = Usage(200, 40, model=ROUTE.model, stop_reason="end_turn")
        return Completion("".join(DELTAS), usage, ROUTE, ttft_ms=30, duration_ms=400)


@dataclass
class Seen:
    role: str
    text: str
    first_delta_at: float | None = None
    takeovers: int = 0


def answer(
    flight: SingleFlight, key: CacheKey, freshness: Freshness, model: Callable[[Leader], Completion]
) -> Seen:
    """What a worker does with an ask: hit, follow (taking over if the leader is lost), or lead."""
    takeovers = 0
    while True:
        outcome = flight.lookup(key, freshness)
        if isinstance(outcome, Hit):
            return Seen("hit", outcome.answer.text, takeovers=takeovers)
        if isinstance(outcome, Follower):
            parts: list[str] = []
            first: float | None = None
            try:
                for delta in outcome.deltas():
                    first = first or time.monotonic()
                    parts.append(delta)
            except LeaderLostError:
                takeovers += 1
                continue
            assert outcome.answer is not None and outcome.answer.text == "".join(parts)
            return Seen("follower", "".join(parts), first, takeovers)
        with outcome:
            completion = model(outcome)
            outcome.finish(completion, cost_micro_usd=420)
        return Seen("leader", completion.text, takeovers=takeovers)


def ask_together(url: str, model: Model, count: int = 20) -> list[Seen]:
    key, freshness = key_of(), POLICY.decide("ask", QUESTION)
    barrier = threading.Barrier(count)
    seen: list[Seen] = []

    def worker() -> None:
        flight = flight_for(url)
        barrier.wait()
        try:
            seen.append(answer(flight, key, freshness, model))
        except RuntimeError:
            seen.append(Seen("failed", ""))  # this job's call broke: it would be retried

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return seen


def test_twenty_identical_asks_make_one_call_and_all_stream(redis_url: str) -> None:
    model = Model()
    seen = ask_together(redis_url, model)
    assert model.calls == 1
    assert len(seen) == 20
    assert {s.text for s in seen} == {"".join(DELTAS)}
    assert [s.role for s in seen].count("leader") == 1
    followers = [s for s in seen if s.role == "follower"]
    assert len(followers) == 19
    # Streamed: every follower had text on screen before the leader's call ended.
    assert all(
        s.first_delta_at is not None and s.first_delta_at < model.finished_at[0] for s in followers
    )
    again = flight_for(redis_url).lookup(key_of(), POLICY.decide("ask", QUESTION))
    assert isinstance(again, Hit) and again.answer.cost_micro_usd == 420


def test_a_failed_leader_is_taken_over_by_one_follower(redis_url: str) -> None:
    model = Model(delay_s=0.05, fail_after=4)
    seen = ask_together(redis_url, model, count=8)
    assert model.calls == 2
    roles = [s.role for s in seen]
    # The failed leader's job raised (it would be retried); of the other seven, one took
    # over and the rest followed it (a straggler may find the answer already stored).
    assert (roles.count("failed"), roles.count("leader"), len(roles)) == (1, 1, 8)
    assert set(roles) <= {"failed", "leader", "follower", "hit"}
    assert {s.text for s in seen if s.role != "failed"} == {"".join(DELTAS)}
    assert sum(s.takeovers for s in seen) >= 1


LEADER_SCRIPT = """
import sys, time
from gateway.response_cache import ResponseCache, connect
from gateway.single_flight import Leader, SingleFlight
from tests.integration.test_single_flight import LEASE_MS, POLICY, QUESTION, key_of
flight = SingleFlight(ResponseCache(connect(sys.argv[1])), lease_ms=LEASE_MS)
leader = flight.lookup(key_of(), POLICY.decide("ask", QUESTION))
assert isinstance(leader, Leader)
leader.publish("half of an answer ")
print("leading", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_leader_that_dies_mid_stream_is_taken_over(redis_url: str) -> None:
    doomed = subprocess.Popen(
        [sys.executable, "-c", LEADER_SCRIPT, redis_url],
        stdout=subprocess.PIPE,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert doomed.stdout is not None and doomed.stdout.readline() == b"leading\n"
        key, freshness = key_of(), POLICY.decide("ask", QUESTION)
        follower = flight_for(redis_url).lookup(key, freshness)
        assert isinstance(follower, Follower)
        deltas = follower.deltas()
        assert next(deltas) == "half of an answer "
        os.kill(doomed.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(LeaderLostError):
            next(deltas)
        assert time.monotonic() - started < 5 * LEASE_MS / 1000
    finally:
        doomed.kill()
        doomed.wait(timeout=10)
        if doomed.stdout is not None:
            doomed.stdout.close()
    model = Model(delay_s=0.01)
    seen = ask_together(redis_url, model, count=5)
    assert model.calls == 1
    assert {s.text for s in seen} == {"".join(DELTAS)}


def test_a_cache_redis_that_does_not_answer_is_a_quick_miss(redis_url: str) -> None:
    silent = connect("redis://127.0.0.1:9/0", timeout_s=0.1)  # the discard port: nothing listens
    flight = SingleFlight(ResponseCache(silent))
    started = time.monotonic()
    outcome = flight.lookup(key_of(), POLICY.decide("ask", QUESTION))
    assert isinstance(outcome, Leader) and not outcome.is_shared
    for _ in range(50):
        assert isinstance(flight.lookup(key_of(), POLICY.decide("ask", QUESTION)), Leader)
    assert time.monotonic() - started < 1.0
    assert redis.Redis.from_url(redis_url).keys(keys.flight_lock("*")) == []
