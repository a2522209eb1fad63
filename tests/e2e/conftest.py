"""The running system for end-to-end tests: emulators, a real Redis, the bot under gunicorn
and RQ worker processes — the same `local_stack` that `chatops up` runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import unquote

import pytest
import redis

from chatops.demo import is_finished_answer
from chatops.stack import EC2_MODEL, SIGNING_SECRET, Stack, local_stack
from gateway.tokens import estimate_tokens
from sandbox.llm import Pace, emulated_deltas
from sandbox.server import RecordedRequest
from sandbox.slack_driver import SlackDriver

T = TypeVar("T")

E2E_ENV = {
    "SLACK_STREAM_FLUSH_S": "0.05",
    "WORKER_MAINTENANCE_INTERVAL_S": "1",
    "WORKER_JOB_MONITORING_INTERVAL_S": "1",
}


def wait_for(check: Callable[[], T | None], what: str, timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def running_stack(redis_server: str, db: int, env: dict[str, str]) -> Iterator[Stack]:
    """A stack on its own Redis database: its workers take only its own jobs."""
    url = redis_server.rsplit("/", 1)[0] + f"/{db}"
    redis.Redis.from_url(url).flushdb()  # a stack starts empty: no answers cached before it
    with local_stack(url, env={**E2E_ENV, **env}) as running:
        try:
            yield running
        except BaseException:
            print(running.logs())
            raise


@pytest.fixture(scope="module")
def stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 1, {})


@pytest.fixture(scope="module")
def ec2_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 2, {"TIER_MEDIUM": f"ec2:{EC2_MODEL}"})


def _driver(stack: Stack) -> Iterator[SlackDriver]:
    for emulator in (stack.bedrock, stack.ec2):
        emulator.pace = Pace(ttft_ms=20, tokens_per_s=300)
    yield SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    for emulator in (stack.slack, stack.bedrock, stack.ec2):
        emulator.clear()


@pytest.fixture
def driver(stack: Stack) -> Iterator[SlackDriver]:
    yield from _driver(stack)


@pytest.fixture
def ec2_driver(ec2_stack: Stack) -> Iterator[SlackDriver]:
    yield from _driver(ec2_stack)


# -- what a person sees ----------------------------------------------------------------------


def bot_message(stack: Stack, channel: str, text: str) -> dict[str, Any] | None:
    return next(
        (m for m in stack.slack.messages(channel) if m.get("bot_id") and m["text"] == text), None
    )


def finished_replies(stack: Stack, channel: str, thread_ts: str) -> list[dict[str, Any]] | None:
    """The bot's replies in a thread, once the last one is finished (footer, not streaming)."""
    replies = [m for m in stack.slack.thread(channel, thread_ts)[1:] if m.get("bot_id")]
    return replies if replies and is_finished_answer(replies[-1]) else None


# -- what the model emulators answered -------------------------------------------------------


def prompt_blocks(model_request: RecordedRequest) -> list[str]:
    """The text blocks of a Bedrock Converse or OpenAI chat request, in order."""
    body = model_request.body
    if "inferenceConfig" in body:
        blocks = [b["text"] for b in body.get("system", []) if "text" in b]
        return blocks + [c["text"] for m in body["messages"] for c in m["content"] if "text" in c]
    return [m["content"] for m in body["messages"]]


def model_of(model_request: RecordedRequest) -> str:
    """The model a Bedrock (`/model/{id}/converse-stream`) or OpenAI request asked for."""
    if "model" in model_request.body:
        return str(model_request.body["model"])
    return unquote(model_request.path.split("/")[2])


def expected_answer(model_request: RecordedRequest, model: str | None = None) -> str:
    """What the emulator answered to this request (its model read from the request)."""
    model = model or model_of(model_request)
    body = model_request.body
    max_tokens = body.get("inferenceConfig", {}).get("maxTokens") or body.get("max_tokens")
    blocks = prompt_blocks(model_request)
    return "".join(emulated_deltas(model, "\n".join(blocks), blocks[-1], max_tokens))


def expected_footer(model_request: RecordedRequest, model: str, answer: str, cost: str) -> str:
    input_tokens = sum(estimate_tokens(b) for b in prompt_blocks(model_request))
    return f"_{model} · {input_tokens:,} in / {estimate_tokens(answer):,} out tokens · {cost}_"
