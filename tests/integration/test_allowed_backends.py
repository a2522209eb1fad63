"""A request held to some backends (`allowed_backends`, a channel's "EC2 only"), through the
real clients, the emulators and a real Redis: the tier's other routes are never tried, not as a
fallback either; a tier with no allowed route gives way to the nearest one that has one; when
no allowed route can answer, the request is refused — and the ledger and the Bedrock emulator
show that nothing went anywhere else."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from chatops.settings import Settings
from chatops.wiring import build_engine, build_gateway
from gateway.engine import CostEngine
from gateway.errors import BackendNotAllowedError
from gateway.ledger import Ledger
from gateway.types import LLMRequest, Message, Route
from sandbox.bedrock import BedrockEmulator
from sandbox.openai_compat import OpenAICompatEmulator
from sandbox.server import Fault
from tests.conftest import EC2_MODEL

EC2_ONLY = ("ec2",)


def _ignore(_: str) -> None:
    pass


def _request(task: str = "ask", tier: str = "medium", **fields: object) -> LLMRequest:
    return LLMRequest(
        task=task,
        tier=tier,
        messages=(Message("user", "Why do the staging DB password rotations keep failing?"),),
        request_id=f"r-{task}-{tier}-{time.time()}",
        user="U_ALICE",
        channel="C_SECRET",
        workspace="T_DEMO",
        source="slash",
        **({"allowed_backends": EC2_ONLY} | fields),  # type: ignore[arg-type]
    )


@pytest.fixture
def engine(settings: Settings, redis_url: str) -> Iterator[CostEngine]:
    engine = build_engine(settings, redis.Redis.from_url(redis_url))
    yield engine
    engine.gateway.close()


def test_a_failing_allowed_route_never_falls_back_to_bedrock(
    settings: Settings, bedrock_emulator: BedrockEmulator, openai_emulator: OpenAICompatEmulator
) -> None:
    openai_emulator.inject(Fault(kind="error", status=503))
    with build_gateway(settings) as gateway, pytest.raises(BackendNotAllowedError) as refused:
        gateway.complete(_request())

    assert bedrock_emulator.requests == []
    assert len(openai_emulator.requests) == 1
    assert refused.value.public_message.startswith(
        "This channel's requests may only go to the self-hosted model, and it is not available"
    )


def test_a_tier_with_no_allowed_route_is_refused_by_the_gateway(settings: Settings) -> None:
    with build_gateway(settings) as gateway, pytest.raises(BackendNotAllowedError) as refused:
        gateway.complete(_request(tier="large"))
    assert "please tell the bot's admins" in refused.value.public_message


def test_the_engine_answers_on_the_allowed_backend_and_records_it(
    engine: CostEngine, bedrock_emulator: BedrockEmulator, redis_url: str
) -> None:
    since = time.time()
    asked = engine.complete(_request(), _ignore)
    document = engine.complete(_request(task="summarize", tier="large"), _ignore)

    assert asked.completion.route == Route("ec2", EC2_MODEL)
    assert (document.record.tier, document.record.tier_reason) == (
        "medium",
        "large unavailable → medium",
    )
    assert bedrock_emulator.requests == []
    rows = Ledger(redis.Redis.from_url(redis_url)).records(since, time.time() + 60)
    assert {(r.backend, r.model) for r in rows} == {("ec2", EC2_MODEL)}


def test_a_channel_maximum_reaches_the_ledger_row(engine: CostEngine, redis_url: str) -> None:
    metered = engine.complete(
        _request(allowed_backends=(), channel_max_tier="small", override_tier="large"), _ignore
    )
    assert (metered.record.tier, metered.record.tier_reason) == ("small", "channel maximum")
