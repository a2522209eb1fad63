"""A question in Slack becomes a streamed answer in its thread: signed HTTP to the bot → an
RQ job in a real Redis → a real worker process → a model emulator through its real client →
the Slack emulator, as a person would see it."""

from __future__ import annotations

import itertools

import pytest

from chatops.stack import EC2_MODEL, Stack
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import (
    bot_message,
    expected_answer,
    expected_footer,
    finished_replies,
    wait_for,
)

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
CHANNEL = "C_OPS"


def _ask_and_check(stack: Stack, driver: SlackDriver, question: str, model: str) -> None:
    response = driver.slash("/ask", question, "U_ALICE", CHANNEL)
    assert response.status == 200
    assert response.elapsed_s < 3

    root = wait_for(
        lambda: bot_message(stack, CHANNEL, f"<@U_ALICE> asked: {question}"), "the root message"
    )
    replies = wait_for(lambda: finished_replies(stack, CHANNEL, root["ts"]), "the answer")

    emulator = stack.ec2 if model == EC2_MODEL else stack.bedrock
    [model_request] = emulator.requests_to(
        "/converse-stream" if emulator is stack.bedrock else "/chat/"
    )
    answer = expected_answer(model_request, model)
    assert [r["text"] for r in replies] == [
        f"{answer}\n\n{expected_footer(model_request, model, answer)}"
    ]
    visible = [text for _, text in replies[0]["edits"]]
    assert len(visible) >= 3, visible
    assert all(b.startswith(a) for a, b in itertools.pairwise(visible))


def test_ask_streams_an_answer_from_bedrock(stack: Stack, driver: SlackDriver) -> None:
    _ask_and_check(stack, driver, "How do I rotate the staging DB password?", HAIKU)


def test_ask_streams_an_answer_from_the_ec2_model(
    ec2_stack: Stack, ec2_driver: SlackDriver
) -> None:
    _ask_and_check(ec2_stack, ec2_driver, "Why is the ingress returning 502s?", EC2_MODEL)


def test_a_forged_request_is_refused_and_nothing_runs(stack: Stack, driver: SlackDriver) -> None:
    response = driver.slash("/ask", "forged question", "U_BOB", CHANNEL, bad_signature=True)
    assert response.status == 401
    assert bot_message(stack, CHANNEL, "<@U_BOB> asked: forged question") is None
    assert stack.bedrock.requests == []


def test_an_empty_ask_gets_an_ephemeral_usage_hint(stack: Stack, driver: SlackDriver) -> None:
    response = driver.slash("/ask", "   ", "U_BOB", CHANNEL)
    assert response.status == 200
    assert "`/ask <question>`" in response.body
    assert stack.bedrock.requests == []


def test_an_oversized_question_gets_a_clear_message(stack: Stack, driver: SlackDriver) -> None:
    response = driver.slash("/ask", "x" * 5000, "U_BOB", CHANNEL)
    assert response.status == 200
    assert response.body.startswith("That question is 5,000 characters; I can take 4,000.")


@pytest.mark.parametrize("delivery", ["retry", "app_mention_and_message"])
def test_a_message_delivered_twice_is_answered_once(
    stack: Stack, driver: SlackDriver, delivery: str
) -> None:
    question = f"Is the payments queue backed up? ({delivery})"
    first = driver.mention("U_CAROL", CHANNEL, question, also_as_message=delivery != "retry")
    if delivery == "retry":
        assert driver.retry(first.request).status == 200
    replies = wait_for(lambda: finished_replies(stack, CHANNEL, first.ts or ""), "the answer")

    assert len(replies) == 1
    assert len(stack.bedrock.requests_to("/converse-stream")) == 1
