"""Faults between the queue and the thread, through the running system: each one ends with
exactly one ledger row per model call made, every budget reservation settled (nothing held
beyond what the ledger says was spent), no call left open in the journal, and the person seeing
one complete answer or one clear message."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from chatops import messages
from chatops.messages import root_message
from chatops.stack import SIGNING_SECRET, Stack
from gateway import keys
from gateway.budgets import BudgetCaps, Budgets
from gateway.ledger import Ledger, LedgerRecord
from sandbox.llm import Pace
from sandbox.server import Fault
from sandbox.slack_driver import DriverResponse, SlackDriver
from sandbox.tcp_proxy import TcpProxy
from tests.e2e.conftest import (
    bot_message,
    expected_answer,
    finished_replies,
    running_stack,
    wait_for,
)

CHANNEL = "C_GENERAL"
LONG_QUESTION = " ".join(["Walk me through the full staging database failover runbook."] * 25)
FAULT_ENV = {
    # A cap, so that every call reserves and settles.
    "BUDGET_USER_DAILY_MICRO_USD": "5000000",
    # A call's lease in the journal is the read timeout + 10 s: a dead worker's call is
    # closed by another ~12 s after its last sign of life.
    "MODEL_READ_TIMEOUT_S": "2",
}


@dataclass(frozen=True)
class Money:
    rows: list[LedgerRecord]
    held_micro_usd: int  # reserved beyond what the ledger says was spent
    open_calls: int


def money(stack: Stack, user: str) -> Money:
    client = redis.Redis.from_url(stack.redis_url)
    now = time.time()
    rows = [r for r in Ledger(client).records(now - 3600, now + 60) if r.user == user]
    spent = Budgets(client, BudgetCaps()).spent_micro_usd("user", user)
    held = spent - sum(r.cost_micro_usd or 0 for r in rows)
    return Money(rows, held, int(client.zcard(keys.open_calls())))


def settled(stack: Stack, user: str, calls: int) -> Money:
    """Once every call made is accounted for: `calls` rows, nothing held, nothing open."""

    def check() -> Money | None:
        state = money(stack, user)
        ok = len(state.rows) == calls and state.held_micro_usd == 0 and state.open_calls == 0
        return state if ok else None

    return wait_for(check, f"{calls} ledger rows, nothing held, nothing open", 60)


def converse_calls(stack: Stack) -> int:
    return len(stack.bedrock.requests_to("/converse-stream"))


@pytest.fixture(scope="module")
def fault_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 3, FAULT_ENV)


@pytest.fixture
def stack(fault_stack: Stack) -> Iterator[Stack]:
    fault_stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=300)
    yield fault_stack
    for emulator in (fault_stack.slack, fault_stack.bedrock, fault_stack.ec2):
        emulator.clear()


def person(stack: Stack, name: str) -> str:
    """A fresh person per test, so each test's ledger rows and budget are its own."""
    user = f"U_{name.upper()}"
    stack.slack.add_user(user, name)
    return user


def driver(stack: Stack) -> SlackDriver:
    return SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)


def said_privately(stack: Stack, response: DriverResponse) -> dict[str, object]:
    """What the bot sent to the slash command's response_url (the person alone sees it)."""
    url = parse_qs(response.request.body.decode())["response_url"][0]
    [said] = wait_for(lambda: stack.slack.responses(url), "the private answer")
    assert said.get("response_type", "ephemeral") == "ephemeral"
    return said


def answer_in_thread(stack: Stack, channel: str, root: str) -> dict[str, object]:
    [reply] = wait_for(lambda: finished_replies(stack, channel, root), "the answer", 60)
    return reply


def bot_replies(stack: Stack, channel: str, root: str) -> list[dict[str, object]]:
    return [m for m in stack.slack.thread(channel, root)[1:] if m.get("bot_id")]


def streaming_started(stack: Stack, channel: str, root: str) -> bool:
    replies = bot_replies(stack, channel, root)
    return bool(replies) and len(replies[0]["edits"]) >= 3  # type: ignore[arg-type]


# -- Slack refuses ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_slack_error_mid_stream_is_recorded_and_the_retry_answers_once(stack: Stack) -> None:
    user = person(stack, "slackerr")
    root = stack.slack.post_as_user(CHANNEL, user, "context")
    stack.slack.inject(Fault(kind="internal_error", path="/api/chat.startStream"))
    stack.slack.inject(Fault(kind="internal_error", path="/api/chat.postMessage"))

    driver(stack).mention(user, CHANNEL, "How do I rotate the staging DB password?", root)
    reply = answer_in_thread(stack, CHANNEL, root)

    state = settled(stack, user, calls=2)
    assert converse_calls(stack) == 2
    assert [r.estimated_usage for r in state.rows] == [True, False]
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))


@pytest.mark.slow
def test_a_slack_error_once_the_answer_is_finished_delivers_it_without_a_new_call(
    stack: Stack,
) -> None:
    user = person(stack, "afterdone")
    root = stack.slack.post_as_user(CHANNEL, user, "context")
    for method in ("chat.stopStream", "chat.update"):
        stack.slack.inject(Fault(kind="internal_error", path=f"/api/{method}"))

    question = "How do I drain a Kafka consumer group before a broker restart?"
    driver(stack).mention(user, CHANNEL, question, root)
    reply = answer_in_thread(stack, CHANNEL, root)

    state = settled(stack, user, calls=1)
    assert converse_calls(stack) == 1  # the kept answer was delivered again, not asked again
    assert [r.estimated_usage for r in state.rows] == [False]
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))
    assert len(stack.slack.requests_to("chat.stopStream")) >= 2


def test_rate_limits_outside_the_stream_are_waited_out(stack: Stack) -> None:
    user = person(stack, "limited")
    root = stack.slack.post_as_user(CHANNEL, user, "The deploy of payments failed at 09:12.")
    for method in ("conversations.replies", "chat.startStream"):
        stack.slack.inject(Fault(kind="ratelimited", path=f"/api/{method}", retry_after=1))

    driver(stack).mention(user, CHANNEL, "why did it fail?", root)
    reply = answer_in_thread(stack, CHANNEL, root)

    assert "The deploy of payments failed" in expected_prompt(stack)
    assert len(stack.slack.requests_to("conversations.replies")) == 2  # refused, then waited
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))
    settled(stack, user, calls=1)


def test_a_rate_limited_root_post_is_waited_out_and_answered_once(stack: Stack) -> None:
    user = person(stack, "rootlimited")
    question = "How do I roll back an Argo CD application to the previous sync?"
    stack.slack.inject(Fault(kind="ratelimited", path="/api/chat.postMessage", retry_after=1))

    assert driver(stack).slash("/ask", question, user, CHANNEL).status == 200
    quoted = root_message(user, question)
    root = wait_for(
        lambda: next((m for m in stack.slack.messages(CHANNEL) if m["text"] == quoted), None),
        "the root, once Slack lets it through",
    )
    reply = answer_in_thread(stack, CHANNEL, str(root["ts"]))

    assert [m["text"] for m in stack.slack.messages(CHANNEL)].count(quoted) == 1
    assert len(stack.slack.requests_to("chat.postMessage")) >= 2  # refused, then waited out
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))
    settled(stack, user, calls=1)


def expected_prompt(stack: Stack) -> str:
    body = stack.bedrock.requests[-1].body
    return " ".join(c["text"] for m in body["messages"] for c in m["content"] if "text" in c)


def test_ask_where_the_bot_may_not_post_says_how_to_invite_it_and_calls_no_model(
    stack: Stack,
) -> None:
    user = person(stack, "private")
    stack.slack.add_channel("G_SECRET", "secret", private=True, bot_is_member=False)
    question = "How do I rotate the staging DB password?"
    response = driver(stack).slash("/ask", question, user, "G_SECRET")
    assert response.status == 200
    assert said_privately(stack, response)["text"] == messages.NOT_IN_CHANNEL
    assert converse_calls(stack) == 0
    assert money(stack, user) == Money([], 0, 0)


def test_a_missing_scope_is_named(stack: Stack) -> None:
    user = person(stack, "scopes")
    stack.slack.add_channel("C_PUBLIC", "public", bot_is_member=False)
    stack.slack.scopes.discard("chat:write.public")
    try:
        response = driver(stack).slash("/ask", "Where are the runbooks?", user, "C_PUBLIC")
        assert said_privately(stack, response)["text"] == messages.NOT_IN_CHANNEL

        stack.slack.scopes.discard("chat:write")
        response = driver(stack).slash("/ask", "Where are the runbooks?", user, "C_OPS")
        said = said_privately(stack, response)
        assert said["text"] == messages.MISSING_SCOPE.format(scope="chat:write")
    finally:
        stack.slack.scopes |= {"chat:write", "chat:write.public"}
    assert converse_calls(stack) == 0


# -- the job dies ----------------------------------------------------------------------------


@pytest.fixture
def short_timeout_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 6, {**FAULT_ENV, "JOB_TIMEOUT_S": "6"})


@pytest.mark.slow
def test_a_job_timeout_is_recorded_and_the_retry_answers(short_timeout_stack: Stack) -> None:
    stack = short_timeout_stack
    user = person(stack, "timeout")
    root = stack.slack.post_as_user(CHANNEL, user, "context")
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=25)  # ~12 s: past JOB_TIMEOUT_S=6
    driver(stack).mention(user, CHANNEL, LONG_QUESTION, root)

    wait_for(lambda: money(stack, user).rows, "the timed-out call's row", 30)
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=2000)
    reply = answer_in_thread(stack, CHANNEL, root)

    state = settled(stack, user, calls=2)
    assert converse_calls(stack) == 2
    assert state.rows[0].estimated_usage and not state.rows[1].estimated_usage
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))


@pytest.mark.slow
def test_worker_killed_mid_stream_still_gives_exactly_one_complete_answer(stack: Stack) -> None:
    user = person(stack, "killed")
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=60)
    driver(stack).slash("/ask", LONG_QUESTION, user, CHANNEL)
    root = wait_for(lambda: bot_message(stack, CHANNEL, root_message(user, LONG_QUESTION)), "root")
    wait_for(lambda: streaming_started(stack, CHANNEL, root["ts"]), "the answer to stream")

    [worker] = [w for w in stack.workers if w.poll() is None]
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = time.monotonic()
    partial = str(bot_replies(stack, CHANNEL, root["ts"])[0]["text"])
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=2000)
    stack.start_worker()

    reply = answer_in_thread(stack, CHANNEL, root["ts"])
    recovered_s = time.monotonic() - killed_at
    answer = expected_answer(stack.bedrock.requests[-1])
    assert reply["text"].startswith(answer) and len(answer) > len(partial)
    assert [m for m in stack.slack.messages(CHANNEL) if m["text"].startswith(f"<@{user}> asked")]
    assert len(stack.slack.thread(CHANNEL, root["ts"])) == 2  # the root and one answer

    # The killed call is closed by the new worker once its lease lapses: estimated, settled.
    state = settled(stack, user, calls=2)
    assert converse_calls(stack) == 2
    assert sorted(r.estimated_usage for r in state.rows) == [False, True]
    print(f"recovered {recovered_s:.1f} s after the kill")


@pytest.fixture
def last_attempt_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 4, {**FAULT_ENV, "JOB_RETRIES": "0"})


@pytest.mark.slow
def test_worker_killed_on_the_last_attempt_leaves_one_clear_message(
    last_attempt_stack: Stack,
) -> None:
    stack = last_attempt_stack
    user = person(stack, "last")
    root = stack.slack.post_as_user(CHANNEL, user, "context")
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=60)
    driver(stack).mention(user, CHANNEL, LONG_QUESTION, root)
    wait_for(lambda: streaming_started(stack, CHANNEL, root), "the answer to stream")
    [worker] = stack.workers
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    stack.start_worker()

    def told() -> list[dict[str, object]] | None:
        replies = bot_replies(stack, CHANNEL, root)
        done = replies and not replies[0]["streaming"] and ":warning:" in replies[0]["text"]
        return replies if done else None

    [reply] = wait_for(told, "the failure message", 90)
    assert "couldn't finish this answer" in str(reply["text"])
    state = settled(stack, user, calls=1)
    assert converse_calls(stack) == 1 and state.rows[0].estimated_usage


# -- Redis fails -----------------------------------------------------------------------------


@pytest.fixture
def proxied_stack(redis_server: str) -> Iterator[tuple[Stack, TcpProxy]]:
    """A stack whose worker reaches Redis through a proxy the test can cut."""
    for stack in running_stack(redis_server, 5, FAULT_ENV):
        target = urlsplit(stack.redis_url)
        with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
            [direct] = stack.workers
            direct.send_signal(signal.SIGTERM)
            direct.wait(timeout=20)
            stack.workers.clear()
            proxied = stack.redis_url.replace(f":{target.port}/", f":{proxy.port}/")
            stack.start_worker(env={"REDIS_URL": proxied})
            yield stack, proxy
            # Stop the workers while Redis still answers through the proxy: cut off, one
            # would sit in RQ's reconnect back-off until the stack's stop kills it.
            proxy.restore()
            stack.stop()


@pytest.mark.slow
def test_redis_down_when_the_answer_ends_loses_no_money_record(
    proxied_stack: tuple[Stack, TcpProxy],
) -> None:
    stack, proxy = proxied_stack
    user = person(stack, "ledger")
    root = stack.slack.post_as_user(CHANNEL, user, "context")
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=80)
    driver(stack).mention(user, CHANNEL, LONG_QUESTION, root)
    wait_for(lambda: streaming_started(stack, CHANNEL, root), "the answer to stream")

    proxy.cut()  # the ledger write at the end of this answer fails, and what follows it
    time.sleep(6)  # the answer (~3 s at this pace) has ended meanwhile
    proxy.restore()

    reply = answer_in_thread(stack, CHANNEL, root)
    calls = converse_calls(stack)
    settled(stack, user, calls=calls)
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))


@pytest.mark.slow
def test_a_heartbeat_blip_does_not_make_two_workers_answer(
    proxied_stack: tuple[Stack, TcpProxy],
) -> None:
    stack, proxy = proxied_stack
    stack.start_worker()  # a second worker, straight to Redis: it runs maintenance meanwhile
    user = person(stack, "blip")
    root = stack.slack.post_as_user(CHANNEL, user, "context")
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=30)  # ~10 s of streaming
    driver(stack).mention(user, CHANNEL, LONG_QUESTION, root)
    wait_for(lambda: streaming_started(stack, CHANNEL, root), "the answer to stream")

    proxy.cut()  # longer than the job's heartbeat TTL (3 × 1 s): RQ requeues it
    time.sleep(5)
    proxy.restore()

    reply = answer_in_thread(stack, CHANNEL, root)
    settled(stack, user, calls=1)
    assert converse_calls(stack) == 1
    assert reply["text"].startswith(expected_answer(stack.bedrock.requests[-1]))
    time.sleep(2)  # a second answer would have started by now
    assert len(bot_replies(stack, CHANNEL, root)) == 1


def test_an_event_the_queue_refused_is_answered_when_slack_retries(stack: Stack) -> None:
    user = person(stack, "enqueue")
    slack = driver(stack)
    client = redis.Redis.from_url(stack.redis_url)
    text = f"<@{stack.slack.bot_user_id}> where are the runbooks?"
    ts = stack.slack.post_as_user(CHANNEL, user, text)
    event = slack._message_event("app_mention", user, CHANNEL, text, ts, None)
    # Redis takes the dedupe claim, then refuses the enqueue (nothing of it is executed).
    client.acl_setuser("default", enabled=True, commands=["-rpush", "-lpush"])
    try:
        first = slack._deliver(event, False)
    finally:
        client.acl_setuser("default", enabled=True, commands=["+@all"])
    assert first.status == 500
    assert not client.exists(keys.dedupe("msg", f"{CHANNEL}:{ts}")), "the claim was released"

    assert slack.retry(first.request).status == 200
    answer_in_thread(stack, CHANNEL, ts)
    assert slack.retry(first.request, retry_num=2).status == 200
    time.sleep(1)
    assert len(bot_replies(stack, CHANNEL, ts)) == 1
    settled(stack, user, calls=1)
