"""The OpenAI-compatible emulator's GPU-like profile, through the real openai client and the
real engine: concurrent streams share decode steps, and a batch for the EC2 model goes out as
bounded concurrent requests, one item each."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import redis

from chatops.settings import Settings
from chatops.wiring import build_engine
from gateway.engine import CostEngine
from prompts import load_prompt
from sandbox.llm import Pace
from sandbox.openai_compat import OpenAICompatEmulator
from tests.batch_items import RecordingSink, code_word, digest_item
from tests.conftest import EC2_MODEL
from workers.batch_collector import build_collector

QUESTION = "Summarize the staging database failover runbook step by step. " * 6


def _stream(client: openai.OpenAI) -> int:
    """One streamed answer; its completion tokens as the server counted them."""
    tokens = 0
    with client.chat.completions.create(
        model=EC2_MODEL,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=120,
        stream=True,
        stream_options={"include_usage": True},
    ) as chunks:
        for chunk in chunks:
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
    return tokens


@pytest.fixture
def client(openai_emulator: OpenAICompatEmulator) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{openai_emulator.url}/v1", api_key="x", max_retries=0)
    yield client
    client.close()


def test_concurrent_streams_share_decode_steps(
    openai_emulator: OpenAICompatEmulator, client: openai.OpenAI
) -> None:
    openai_emulator.pace = Pace(gpu_step_ms=3)
    alone = _stream(client)
    steps_alone = openai_emulator.decode.steps
    assert steps_alone >= alone > 0

    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(lambda _: _stream(client), range(4)))
    steps_together = openai_emulator.decode.steps - steps_alone

    assert tokens == [alone] * 4
    assert openai_emulator.decode.peak_streams == 4
    # One step gives each active stream a token: four streams take about as many steps as
    # one, where four streams one after another would take four times as many.
    assert steps_together < 2 * steps_alone


def test_default_pacing_does_not_use_the_decode_loop(
    openai_emulator: OpenAICompatEmulator, client: openai.OpenAI
) -> None:
    assert _stream(client) > 0
    assert (openai_emulator.decode.steps, openai_emulator.decode.peak_streams) == (0, 0)


@pytest.fixture
def ec2_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"tier_small": f"ec2:{EC2_MODEL}", "batch_concurrency": 3, "batch_max_items": 8}
    )


@pytest.fixture
def engine(ec2_settings: Settings, redis_url: str) -> Iterator[CostEngine]:
    engine = build_engine(ec2_settings, redis.Redis.from_url(redis_url))
    yield engine
    engine.gateway.close()


def test_a_batch_for_the_ec2_model_goes_out_as_bounded_concurrent_requests(
    ec2_settings: Settings,
    engine: CostEngine,
    redis_url: str,
    openai_emulator: OpenAICompatEmulator,
) -> None:
    openai_emulator.pace = Pace(gpu_step_ms=2)
    sink = RecordingSink()
    collector = build_collector(
        redis.Redis.from_url(redis_url),
        ec2_settings,
        complete=engine.complete,
        prompts={"digest_item": load_prompt("digest_item").batch_prompt()},
        sinks={"digest_line": sink},
        tiers=engine.gateway.tiers,
    )
    for n in range(7):
        group = collector.add(digest_item(n))
    assert group.backend == "ec2"
    report = collector.flush(group)

    assert report.calls == 7
    requests = openai_emulator.requests_to("/v1/chat/completions")
    assert len(requests) == 7
    for request in requests:
        user_turns = [m["content"] for m in request.body["messages"] if m["role"] == "user"]
        assert len(user_turns) == 1 and "<item" not in user_turns[0]
    assert 1 < openai_emulator.decode.peak_streams <= 3
    for n in range(7):
        [result] = sink.got[f"item-{n}"]
        assert result.how == "concurrent" and code_word(n) in result.text
