"""Never paying twice for one answer, as people in Slack meet it, through the running system
(the bot under gunicorn, four worker processes, a real redis-server, the emulators): identical
questions asked together make one model call and every asker sees the answer stream; answers
are shared only within their privacy scope and their thread; `--fresh`, *Answer fresh* and a
question about the present bypass or outlive the cache; a cut stream or a failed call is never
stored. The model emulator's request count is the number of calls paid for."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from chatops.messages import root_message
from chatops.stack import SIGNING_SECRET, Stack
from gateway import keys
from gateway.ledger import Ledger, LedgerRecord
from sandbox.llm import Pace
from sandbox.server import Fault
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import finished_replies, running_stack, wait_for

CHANNEL = "C_GENERAL"
PRESENT_TTL_S = 1.0
CACHE_ENV = {"CACHE_TTL_PRESENT_S": str(int(PRESENT_TTL_S))}
WORKERS = 4
TOGETHER = 20


@pytest.fixture(scope="module")
def cache_stack(redis_server: str) -> Iterator[Stack]:
    for stack in running_stack(redis_server, 10, CACHE_ENV):
        for _ in range(WORKERS - 1):
            stack.start_worker()
        yield stack


@pytest.fixture
def driver(cache_stack: Stack) -> Iterator[SlackDriver]:
    cache_stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=400)
    yield SlackDriver(cache_stack.bot_url, SIGNING_SECRET, cache_stack.slack)
    for emulator in (cache_stack.slack, cache_stack.bedrock, cache_stack.ec2):
        emulator.clear()


def model_calls(stack: Stack) -> int:
    return len(stack.bedrock.requests_to("/converse-stream")) + len(stack.ec2.requests_to("/chat/"))


def ask(
    stack: Stack, driver: SlackDriver, text: str, *, user: str = "U_ALICE", channel: str = CHANNEL
) -> dict[str, Any]:
    """`/ask text` and its finished answer message (the newest root quoting it)."""
    before = {m["ts"] for m in stack.slack.messages(channel)}
    assert driver.slash("/ask", text, user, channel).status == 200

    def rooted() -> dict[str, Any] | None:
        quoted = root_message(user, text)
        fresh = [m for m in stack.slack.messages(channel) if m["ts"] not in before]
        return next((m for m in fresh if m.get("bot_id") and m["text"] == quoted), None)

    root = wait_for(rooted, "the root message")
    [answer] = wait_for(lambda: finished_replies(stack, channel, root["ts"]), "the answer")
    return answer


def body(message: dict[str, Any]) -> str:
    """The answer without its footer."""
    return str(message["text"]).rsplit("\n\n", 1)[0]


def rows(stack: Stack, since: float) -> list[LedgerRecord]:
    ledger = Ledger(redis.Redis.from_url(stack.redis_url))
    return ledger.records(since, time.time() + 60)


@pytest.mark.slow
def test_identical_asks_together_make_one_call_and_all_stream(
    cache_stack: Stack, driver: SlackDriver
) -> None:
    since = time.time()
    # Slow enough that the first four (one per worker) are in flight together, even on a
    # loaded machine where a worker takes a second or two to pick up its next job.
    cache_stack.bedrock.pace = Pace(ttft_ms=1000, tokens_per_s=60)
    question = "How do I rotate the staging database password?"
    with ThreadPoolExecutor(TOGETHER) as pool:
        sent = list(
            pool.map(lambda _: driver.slash("/ask", question, "U_ALICE", CHANNEL), range(TOGETHER))
        )
    assert [r.status for r in sent] == [200] * TOGETHER

    def all_answered() -> list[dict[str, Any]] | None:
        quoted = root_message("U_ALICE", question)
        roots = [m for m in cache_stack.slack.messages(CHANNEL) if m["text"] == quoted]
        answers = [finished_replies(cache_stack, CHANNEL, root["ts"]) for root in roots]
        done = [a[0] for a in answers if a]
        return done if len(done) == TOGETHER else None

    answers = wait_for(all_answered, f"{TOGETHER} answers", timeout_s=90)

    assert model_calls(cache_stack) == 1
    assert len({body(a) for a in answers}) == 1
    assert all(len(a["edits"]) > 1 for a in answers), [len(a["edits"]) for a in answers]
    recorded = rows(cache_stack, since)
    assert len(recorded) == TOGETHER
    kinds = sorted(r.cache_kind for r in recorded)
    assert kinds.count("") == 1  # the one model call; the rest cost nothing
    assert {r.cost_micro_usd for r in recorded if r.cache_kind} == {0}
    followers = [r for r in recorded if r.cache_kind == "flight"]
    assert followers, kinds  # asked while the answer was being written
    for row in followers:
        [ts] = _messages_of(cache_stack, row.request_id)
        edits = cache_stack.slack.message(CHANNEL, ts)["edits"]
        assert len(edits) >= 3, edits  # the text grew as the leader wrote it


def _messages_of(stack: Stack, request_id: str) -> list[str]:
    raw = redis.Redis.from_url(stack.redis_url).hget(keys.reply_state(request_id), "messages")
    return list(json.loads(raw or "[]"))


def test_answers_stay_in_their_privacy_scope(cache_stack: Stack, driver: SlackDriver) -> None:
    since = time.time()
    cache_stack.slack.add_channel("G_INCIDENT", "incident-42", private=True)
    question = "What does the payments runbook say about a stuck settlement batch?"
    dm = cache_stack.slack.dm_channel("U_ALICE")
    in_dm = ask(cache_stack, driver, question, channel=dm)
    ask(cache_stack, driver, question, channel="G_INCIDENT")
    ask(cache_stack, driver, question, channel=CHANNEL)
    assert model_calls(cache_stack) == 3  # a DM, a private channel and a public one: no sharing

    by_bob = ask(cache_stack, driver, question, user="U_BOB", channel=CHANNEL)
    assert model_calls(cache_stack) == 3  # the public channel's answer, for anyone there
    assert "the same question's answer from" in by_bob["text"]
    assert "the same question's answer from" not in in_dm["text"]
    hits = [(r.channel, r.user) for r in rows(cache_stack, since) if r.cache_hit]
    assert hits == [(CHANNEL, "U_BOB")]


def test_the_same_follow_up_in_two_threads_is_answered_twice(
    cache_stack: Stack, driver: SlackDriver
) -> None:
    first = ask(cache_stack, driver, "How do I add a read replica to the orders database?")
    second = ask(cache_stack, driver, "How do I add a node pool to the batch cluster?")
    for answer in (first, second):
        thread = answer["thread_ts"]
        driver.mention("U_CAROL", CHANNEL, "and what about staging?", thread)
        wait_for(
            lambda t=thread: len(finished_replies(cache_stack, CHANNEL, t) or []) == 2,
            "the follow-up's answer",
        )

    assert model_calls(cache_stack) == 4


def test_fresh_bypasses_the_cache(cache_stack: Stack, driver: SlackDriver) -> None:
    question = "How do I restart the ingress controller pods?"
    ask(cache_stack, driver, question)
    cached = ask(cache_stack, driver, question, user="U_BOB")
    assert model_calls(cache_stack) == 1
    assert "the same question's answer from" in cached["text"]

    fresh = ask(cache_stack, driver, f"--fresh {question}", user="U_CAROL")
    assert model_calls(cache_stack) == 2
    assert "saved" not in fresh["text"].rsplit("\n\n", 1)[1]


def test_answer_fresh_replaces_a_cached_answer_in_place(
    cache_stack: Stack, driver: SlackDriver
) -> None:
    question = "How do I drain a node before patching it?"
    ask(cache_stack, driver, question)
    cached = ask(cache_stack, driver, question, user="U_BOB")
    assert model_calls(cache_stack) == 1
    actions = [e.get("action_id") for b in cached["blocks"] for e in b.get("elements", [])]
    assert "answer_fresh" in actions

    driver.click("U_BOB", CHANNEL, cached, "answer_fresh")

    def answered_anew() -> dict[str, Any] | None:
        message = cache_stack.slack.message(CHANNEL, cached["ts"])
        footer = str(message["text"]).rsplit("\n\n", 1)[-1]
        return message if "saved" not in footer and not message["streaming"] else None

    message = wait_for(answered_anew, "the answer made anew")
    assert model_calls(cache_stack) == 2
    assert len(cache_stack.slack.thread(CHANNEL, cached["thread_ts"])) == 2  # still one answer
    assert "answer_fresh" not in [
        e.get("action_id") for b in message.get("blocks") or [] for e in b.get("elements", [])
    ]


def test_a_question_about_the_present_is_not_served_once_stale(
    cache_stack: Stack, driver: SlackDriver
) -> None:
    timeless = "How do I list the cron jobs in a namespace?"
    present = "Who is on call for the platform team now?"
    for question in (timeless, present):
        ask(cache_stack, driver, question)
    time.sleep(PRESENT_TTL_S + 0.5)
    again = {q: ask(cache_stack, driver, q, user="U_BOB") for q in (timeless, present)}

    assert model_calls(cache_stack) == 3  # the present one was asked anew, the other served
    assert "the same question's answer from" in again[timeless]["text"]
    assert "the same question's answer from" not in again[present]["text"]


@pytest.mark.parametrize(
    ("faults", "failed_calls"),
    [
        ([Fault("cut", path="converse-stream", after=5)], 1),
        # Every route of the tier fails before its first token: the call errors out.
        ([Fault("error", path="converse-stream"), Fault("error", path="/chat/")], 2),
    ],
    ids=["cut stream", "error"],
)
def test_a_failed_answer_is_not_stored(
    cache_stack: Stack, driver: SlackDriver, faults: list[Fault], failed_calls: int
) -> None:
    question = f"How do I rotate the kafka TLS certificates? ({faults[0].kind})"
    cache_stack.bedrock.inject(faults[0])
    for fault in faults[1:]:
        cache_stack.ec2.inject(fault)
    # The failed attempt, then the job's retry: a stored failure would have answered it.
    first = ask(cache_stack, driver, question)
    assert model_calls(cache_stack) == failed_calls + 1
    again = ask(cache_stack, driver, question, user="U_BOB")

    assert model_calls(cache_stack) == failed_calls + 1  # the good answer was stored, and served
    assert body(again) == body(first)
    assert "the same question's answer from" in again["text"]


def test_a_look_alike_is_refused_by_the_guards_and_the_refusal_recorded(
    cache_stack: Stack, driver: SlackDriver
) -> None:
    since = time.time()
    ask(cache_stack, driver, "How do I scale the staging checkout deployment to 3 replicas?")
    five = ask(cache_stack, driver, "How do I scale the staging checkout deployment to 5 replicas?")

    assert model_calls(cache_stack) == 2
    assert "asked differently" not in five["text"]
    second = max(rows(cache_stack, since), key=lambda r: r.at)
    assert second.cache_note == "guard:number 5≠3"  # the asking question first
