"""Right-sizing as a person meets it in Slack, through the running system: `--tier` and
`--model` obeyed, a channel's minimum tier, a bad option refused without a model call, a
"thanks" answered with a reaction, and the buttons under an answer — *Not helpful* and an
answer cut at max tokens send the thread's next answer one tier up, *Answer again with the
large model* rewrites the answer in place. Each asserts on the model the emulator was asked
for (its request path), what Slack shows, and the ledger's rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chatops.messages import root_message
from chatops.stack import SIGNING_SECRET, Stack
from gateway.ledger import Ledger, LedgerRecord
from sandbox.llm import Pace
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import bot_message, finished_replies, model_of, running_stack, wait_for

SMALL = "amazon.nova-micro-v1:0"
MEDIUM = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
LARGE = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
CHANNEL = "C_GENERAL"
FLOOR_CHANNEL = "C_OPS"  # its answers come from the large tier at least
ROUTING_ENV = {"CHANNEL_MIN_TIERS": f"{FLOOR_CHANNEL}=large"}
# Questions the router leaves on the task's default tier (medium): one per test, so that no
# test is answered from another's cached answer.
MEDIUM_QUESTIONS = {
    "model": "Why do the staging DB password rotations keep failing on the replica?",
    "thanks": "Why does the nightly backup job keep failing on the replica?",
    "not_helpful": "Why does the cert renewal keep failing on the ingress?",
    "cut": "Why do the canary deploys keep failing on the payments service?",
    "again": "Why does the log shipper keep failing on the batch nodes?",
}


@pytest.fixture(scope="module")
def routing_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 9, ROUTING_ENV)


@pytest.fixture
def since() -> float:
    """When the test started: its ledger rows are the ones after."""
    return time.time()


@pytest.fixture
def driver(routing_stack: Stack) -> Iterator[SlackDriver]:
    routing_stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=400)
    yield SlackDriver(routing_stack.bot_url, SIGNING_SECRET, routing_stack.slack)
    for emulator in (routing_stack.slack, routing_stack.bedrock, routing_stack.ec2):
        emulator.clear()


def models_called(stack: Stack) -> list[str]:
    return [model_of(r) for r in stack.bedrock.requests_to("/converse-stream")]


def rows(stack: Stack, since: float, request_prefix: str = "") -> list[LedgerRecord]:
    """The ledger's rows since `since`, oldest first (of requests whose id starts so)."""
    ledger = Ledger(redis.Redis.from_url(stack.redis_url))
    found = ledger.records(since, time.time() + 60)
    return [r for r in found if r.request_id.startswith(request_prefix)]


def private_lines(stack: Stack, user: str) -> list[str]:
    return [e["text"] for e in stack.slack.ephemerals() if e["user"] == user]


def ask(stack: Stack, driver: SlackDriver, text: str, channel: str = CHANNEL) -> dict[str, Any]:
    """`/ask text` and its finished answer message."""
    response = driver.slash("/ask", text, "U_ALICE", channel)
    assert response.status == 200
    root = wait_for(
        lambda: bot_message(stack, channel, root_message("U_ALICE", text)), "the root message"
    )
    [answer] = wait_for(lambda: finished_replies(stack, channel, root["ts"]), "the answer")
    return answer


def buttons_of(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    ]


def test_tier_and_model_overrides_are_obeyed(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    ask(routing_stack, driver, "--tier large what does HTTP 429 mean?")
    ask(routing_stack, driver, f"--model {SMALL} {MEDIUM_QUESTIONS['model']}")

    assert models_called(routing_stack) == [LARGE, SMALL]
    by_model = {r.model: r for r in rows(routing_stack, since)}
    assert (by_model[LARGE].tier, by_model[LARGE].tier_reason) == ("large", "override")
    assert (by_model[SMALL].tier, by_model[SMALL].tier_reason) == ("small", "override")


def test_a_channel_minimum_is_honoured(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    # A short lookup: the router alone would send it to the small tier.
    ask(routing_stack, driver, "what does HTTP 503 mean?", FLOOR_CHANNEL)

    assert models_called(routing_stack) == [LARGE]
    [row] = rows(routing_stack, since)
    assert (row.channel, row.tier, row.tier_reason) == (FLOOR_CHANNEL, "large", "channel minimum")


def test_an_unknown_tier_is_one_private_line_and_no_model_call(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    seen = len(private_lines(routing_stack, "U_ALICE"))
    response = driver.slash("/ask", "--tier huge what is a pod?", "U_ALICE", CHANNEL)
    assert response.status == 200

    said = wait_for(lambda: private_lines(routing_stack, "U_ALICE")[seen:], "the private reply")
    assert said == ["Unknown tier `huge`: use small, medium or large."]
    assert models_called(routing_stack) == []
    assert rows(routing_stack, since) == []


def test_thanks_in_a_thread_gets_a_reaction_and_no_model_call(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    answer = ask(routing_stack, driver, MEDIUM_QUESTIONS["thanks"])
    thread = answer["thread_ts"]
    thanks = driver.mention("U_ALICE", CHANNEL, "thanks!", thread)

    reacted = wait_for(
        lambda: routing_stack.slack.message(CHANNEL, thanks.ts or "").get("reactions"),
        "a reaction on the thanks",
    )
    assert [r["users"] for r in reacted] == [["U_CHATOPS"]]
    [row] = wait_for(lambda: rows(routing_stack, since, "ev-"), "the thanks' ledger row")
    assert (row.no_call, row.cost_micro_usd, row.model) == (True, 0, "none")
    assert (row.baseline_micro_usd or 0) > 0  # what the naive way would have spent
    assert len(models_called(routing_stack)) == 1  # the question's, not the thanks'
    assert len(routing_stack.slack.thread(CHANNEL, thread)) == 3  # root, answer, thanks


def test_not_helpful_sends_the_next_answer_one_tier_up(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    answer = ask(routing_stack, driver, MEDIUM_QUESTIONS["not_helpful"])
    assert buttons_of(answer) == ["answer_not_helpful", "answer_again_large"]
    thread = answer["thread_ts"]

    seen = len(private_lines(routing_stack, "U_ALICE"))
    assert driver.click("U_ALICE", CHANNEL, answer, "answer_not_helpful").status == 200
    [told] = wait_for(lambda: private_lines(routing_stack, "U_ALICE")[seen:], "the private thanks")
    assert "The next answer in this thread will come from the large tier" in told
    driver.mention("U_ALICE", CHANNEL, "and on the primary?", thread)
    wait_for(lambda: len(finished_replies(routing_stack, CHANNEL, thread) or []) == 2, "the answer")

    assert models_called(routing_stack) == [MEDIUM, LARGE]
    [follow_up] = rows(routing_stack, since, "ev-")
    assert (follow_up.tier, follow_up.tier_reason) == ("large", "not helpful")


def test_an_answer_cut_at_max_tokens_sends_the_next_one_up(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    # The ask template allows 700 output tokens: a scripted answer past them stops there.
    routing_stack.bedrock.script("Step. " * 600, delta_chars=200)
    answer = ask(routing_stack, driver, MEDIUM_QUESTIONS["cut"])
    thread = answer["thread_ts"]
    [cut] = rows(routing_stack, since, "ask-")
    assert (cut.tier, cut.stop_reason) == ("medium", "max_tokens")

    driver.mention("U_ALICE", CHANNEL, "and on the primary?", thread)
    wait_for(lambda: len(finished_replies(routing_stack, CHANNEL, thread) or []) == 2, "the answer")

    assert models_called(routing_stack) == [MEDIUM, LARGE]
    [follow_up] = rows(routing_stack, since, "ev-")
    assert (follow_up.tier, follow_up.tier_reason) == ("large", "escalated")


def test_answer_again_replaces_the_text_in_place(
    routing_stack: Stack, driver: SlackDriver, since: float
) -> None:
    answer = ask(routing_stack, driver, MEDIUM_QUESTIONS["again"])
    thread, ts, first_text = answer["thread_ts"], answer["ts"], answer["text"]

    assert driver.click("U_BOB", CHANNEL, answer, "answer_again_large").status == 200

    def replaced() -> dict[str, Any] | None:
        message = routing_stack.slack.message(CHANNEL, ts)
        done = LARGE in message["text"] and finished_replies(routing_stack, CHANNEL, thread)
        return message if done else None

    message = wait_for(replaced, "the answer rewritten by the large model")
    assert message["text"] != first_text
    assert message["text"].startswith(f"[offline emulator · {LARGE}]")
    assert len(routing_stack.slack.thread(CHANNEL, thread)) == 2  # root and the one answer
    assert buttons_of(message) == []  # the largest tier answered: nothing above it
    assert models_called(routing_stack) == [MEDIUM, LARGE]
    first, again = rows(routing_stack, since)
    assert (first.tier, again.tier, again.tier_reason) == ("medium", "large", "override")
    assert first.cost_micro_usd and again.cost_micro_usd
