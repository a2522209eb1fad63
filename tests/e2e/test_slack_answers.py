"""A question in Slack becomes a streamed answer in its thread: signed HTTP to the bot → an
RQ job in a real Redis → a real worker process → a model emulator through its real client →
the Slack emulator, as a person would see it."""

from __future__ import annotations

import itertools
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from chatops.messages import usd
from chatops.stack import EC2_MODEL, SIGNING_SECRET, Stack
from gateway.tokens import estimate_tokens
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import (
    bot_message,
    expected_answer,
    expected_footer,
    finished_replies,
    prompt_blocks,
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
    input_tokens = sum(estimate_tokens(b) for b in prompt_blocks(model_request))
    cost = (
        "EC2 instance hours"
        if model == EC2_MODEL  # per instance hour, not per token
        # Haiku 4.5: 1.00 / 5.00 micro-USD per input / output token.
        else usd(round(input_tokens * 1.00 + estimate_tokens(answer) * 5.00))
    )
    assert [r["text"] for r in replies] == [
        f"{answer}\n\n{expected_footer(model_request, model, answer, cost)}"
    ]
    visible = [text for _, text in replies[0]["edits"]]
    assert len(visible) >= 3, visible
    assert all(b.startswith(a) for a, b in itertools.pairwise(visible))


def test_ask_streams_an_answer_from_bedrock(stack: Stack, driver: SlackDriver) -> None:
    # A question the router leaves on the task's default tier (medium: Haiku 4.5).
    question = "Why do the staging DB password rotations keep failing on the replica?"
    _ask_and_check(stack, driver, question, HAIKU)


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
    response = driver.slash("/ask", "x" * 40_001, "U_BOB", CHANNEL)
    assert response.status == 200
    assert response.body.startswith("That question is 40,001 characters; I can take 40,000.")


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


def test_a_mention_in_a_thread_reaches_the_model_with_the_thread(
    stack: Stack, driver: SlackDriver
) -> None:
    root = stack.slack.post_as_user(CHANNEL, "U_ALICE", "Deploy 4512 failed with exit code 137")
    stack.slack.post_as_user(CHANNEL, "U_BOB", "Looks like the pod ran out of memory", root)
    driver.mention("U_CAROL", CHANNEL, "why did it fail, and what should we raise?", root)
    wait_for(lambda: finished_replies(stack, CHANNEL, root), "the answer")

    [request] = stack.bedrock.requests_to("/converse-stream")
    sent = [(m["role"], m["content"][0]["text"]) for m in request.body["messages"]]
    assert sent == [
        (
            "user",
            "Deploy 4512 failed with exit code 137\n\nLooks like the pod ran out of memory\n\n"
            "why did it fail, and what should we raise?",
        )
    ]


def test_a_follow_up_mention_sees_the_earlier_answer(stack: Stack, driver: SlackDriver) -> None:
    question = "What is our staging DB failover procedure?"
    driver.slash("/ask", question, "U_ALICE", CHANNEL)
    root = wait_for(lambda: bot_message(stack, CHANNEL, f"<@U_ALICE> asked: {question}"), "root")
    wait_for(lambda: finished_replies(stack, CHANNEL, root["ts"]), "the first answer")
    first_answer = expected_answer(stack.bedrock.requests_to("/converse-stream")[0])

    driver.mention("U_ALICE", CHANNEL, "and for production?", root["ts"])
    wait_for(
        lambda: len(finished_replies(stack, CHANNEL, root["ts"]) or []) == 2 or None,
        "the follow-up answer",
    )

    second = stack.bedrock.requests_to("/converse-stream")[1]
    sent = [(m["role"], m["content"][0]["text"]) for m in second.body["messages"]]
    # The thread as the model first saw it: the whole question, not the root's short quote.
    assert sent == [
        ("user", question),
        ("assistant", first_answer),
        ("user", "and for production?"),
    ]


def test_a_dm_conversation_keeps_its_context(stack: Stack, driver: SlackDriver) -> None:
    first = driver.dm("U_BOB", "Who is on call for payments this week?")
    channel = stack.slack.dm_channel("U_BOB")
    wait_for(lambda: finished_replies(stack, channel, first.ts or ""), "the first DM answer")
    first_answer = expected_answer(stack.bedrock.requests_to("/converse-stream")[0])

    second = driver.dm("U_BOB", "And next week?")
    wait_for(lambda: finished_replies(stack, channel, second.ts or ""), "the second DM answer")

    request = stack.bedrock.requests_to("/converse-stream")[1]
    sent = [(m["role"], m["content"][0]["text"]) for m in request.body["messages"]]
    assert sent == [
        ("user", "Who is on call for payments this week?"),
        ("assistant", first_answer),
        ("user", "And next week?"),
    ]


def test_a_replayed_request_with_an_old_timestamp_is_refused(
    stack: Stack, driver: SlackDriver
) -> None:
    body = urlencode(
        {
            "command": "/ask",
            "text": "replayed",
            "user_id": "U_BOB",
            "channel_id": CHANNEL,
            "team_id": "T_DEMO",
            "trigger_id": "1.2.3",
        }
    ).encode()
    stale = str(int(time.time()) - 10 * 60)  # Slack's window is 5 minutes
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stale, body=body)
    request = urllib.request.Request(
        f"{stack.bot_url}/slack/events",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stale,
            "X-Slack-Signature": signature,
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 401
    assert stack.bedrock.requests == []
