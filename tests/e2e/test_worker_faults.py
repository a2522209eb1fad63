"""Faults between the queue and the thread: a worker killed mid-stream."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from chatops.messages import root_message
from chatops.stack import SIGNING_SECRET, Stack
from sandbox.llm import Pace
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import (
    bot_message,
    expected_answer,
    finished_replies,
    running_stack,
    wait_for,
)

CHANNEL = "C_GENERAL"
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture(scope="module")
def fault_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 3, {})


@pytest.mark.slow
def test_worker_killed_mid_stream_still_gives_exactly_one_complete_answer(
    fault_stack: Stack,
) -> None:
    stack = fault_stack
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=60)
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    question = "Walk me through the full staging database failover runbook. " * 25
    question = question.strip()
    [worker] = stack.workers

    driver.slash("/ask", question, "U_ALICE", CHANNEL)
    root = wait_for(lambda: bot_message(stack, CHANNEL, root_message("U_ALICE", question)), "root")

    def streaming_started() -> bool:
        replies = stack.slack.thread(CHANNEL, root["ts"])[1:]
        return bool(replies) and len(replies[0]["edits"]) >= 3

    wait_for(streaming_started, "the answer to start streaming")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = time.monotonic()
    partial = stack.slack.thread(CHANNEL, root["ts"])[1]["text"]
    stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=2000)
    stack.start_worker()

    replies = wait_for(
        lambda: finished_replies(stack, CHANNEL, root["ts"]), "the retried answer", 60
    )

    converse = stack.bedrock.requests_to("/converse-stream")
    assert len(converse) == 2  # the killed attempt and the retry, nothing more
    answer = expected_answer(converse[-1], HAIKU)
    assert len(replies) == 1
    assert replies[0]["text"].startswith(answer)
    assert len(answer) > len(partial)
    assert [
        m for m in stack.slack.messages(CHANNEL) if m["text"].startswith("<@U_ALICE> asked")
    ] == [bot_message(stack, CHANNEL, root_message("U_ALICE", question))]
    print(f"recovered {time.monotonic() - killed_at:.1f} s after the kill")
