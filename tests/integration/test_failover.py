"""Failover between a tier's routes, through the real clients and the emulators."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chatops.settings import Settings
from chatops.wiring import build_gateway
from gateway.errors import AllRoutesFailedError, StreamInterruptedError
from gateway.types import Completion, Failover, LLMRequest, Message, Route
from sandbox.bedrock import BedrockEmulator
from sandbox.openai_compat import OpenAICompatEmulator
from sandbox.server import Fault
from tests.conftest import EC2_MODEL, free_port

REQUEST = LLMRequest(
    task="ask", tier="small", messages=(Message("user", "Why did the deploy fail?"),)
)
NOVA = Route("bedrock", "amazon.nova-micro-v1:0")


def _ignore(_: str) -> None:
    pass


def _complete(
    settings: Settings, request: LLMRequest, on_delta: Callable[[str], None] = _ignore
) -> Completion:
    with build_gateway(settings) as gateway:
        return gateway.complete(request, on_delta)


def test_throttled_primary_falls_back_and_says_so(
    settings: Settings, bedrock_emulator: BedrockEmulator, openai_emulator: OpenAICompatEmulator
) -> None:
    bedrock_emulator.inject(Fault(kind="throttle"))
    seen: list[str] = []

    completion = _complete(settings, REQUEST, seen.append)

    assert completion.route == Route("ec2", EC2_MODEL)
    assert completion.failovers == (Failover(NOVA, "ThrottledError"),)
    assert completion.text == "".join(seen)
    assert completion.text.startswith(f"[offline emulator · {EC2_MODEL}]")
    assert len(bedrock_emulator.requests) == 1
    assert len(openai_emulator.requests) == 1


def test_5xx_primary_falls_back(settings: Settings, bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.inject(Fault(kind="error", status=503))
    completion = _complete(settings, REQUEST)
    assert completion.failovers == (Failover(NOVA, "BackendUnavailableError"),)


def test_refused_connection_falls_back(settings: Settings) -> None:
    dead = settings.model_copy(update={"bedrock_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    completion = _complete(dead, REQUEST)
    assert completion.route.backend == "ec2"
    assert completion.failovers == (Failover(NOVA, "BackendUnavailableError"),)


@pytest.mark.parametrize("kind", ["cut", "stream_error"])
def test_failure_after_first_token_is_reported_not_restarted(
    kind: str,
    settings: Settings,
    bedrock_emulator: BedrockEmulator,
    openai_emulator: OpenAICompatEmulator,
) -> None:
    bedrock_emulator.inject(Fault(kind=kind, after=3))
    seen: list[str] = []

    with pytest.raises(StreamInterruptedError) as caught:
        _complete(settings, REQUEST, seen.append)

    assert caught.value.partial_text == "".join(seen)
    assert len(seen) == 3
    assert caught.value.usage.estimated
    assert caught.value.usage.output_tokens > 0
    assert openai_emulator.requests == []


def test_openai_stream_cut_after_first_token_is_reported(
    settings: Settings, openai_emulator: OpenAICompatEmulator
) -> None:
    openai_emulator.inject(Fault(kind="cut", after=2))
    request = LLMRequest(task="ask", tier="small", messages=REQUEST.messages)
    with (
        build_gateway(settings, only_backend="ec2") as gateway,
        pytest.raises(StreamInterruptedError) as caught,
    ):
        gateway.complete(request)
    assert caught.value.partial_text.startswith("[offline")


def test_every_route_failing_is_one_retryable_error(
    settings: Settings, bedrock_emulator: BedrockEmulator, openai_emulator: OpenAICompatEmulator
) -> None:
    bedrock_emulator.inject(Fault(kind="throttle"))
    openai_emulator.inject(Fault(kind="error"))
    with pytest.raises(AllRoutesFailedError) as caught:
        _complete(settings, REQUEST)
    assert [f.route.backend for f in caught.value.failovers] == ["bedrock", "ec2"]
