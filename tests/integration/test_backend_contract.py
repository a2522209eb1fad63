"""Every backend, through its real client, against its emulator: deltas in order, then exactly
one Usage, last, with the counters the provider reported."""

from __future__ import annotations

from typing import Any

import pytest

from chatops.settings import Settings
from gateway.backends import BACKENDS
from gateway.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.types import LLMRequest, Message, Usage
from sandbox.server import EmulatorServer
from tests.conftest import EC2_MODEL

MODELS = {"bedrock": "amazon.nova-micro-v1:0", "ec2": EC2_MODEL}

REQUEST = LLMRequest(
    task="ask",
    system="You answer questions for a platform team.",
    messages=(
        Message("user", "What does the staging DB failover runbook say?"),
        Message("assistant", "It says to promote the replica."),
        Message("user", "And after promotion, what do I check?"),
    ),
    max_output_tokens=300,
)


@pytest.mark.parametrize("backend_name", sorted(BACKENDS))
def test_stream_yields_deltas_then_one_usage(
    backend_name: str, settings: Settings, request: pytest.FixtureRequest
) -> None:
    emulator_fixture = {"bedrock": "bedrock_emulator", "ec2": "openai_emulator"}[backend_name]
    emulator: EmulatorServer = request.getfixturevalue(emulator_fixture)
    backend = BACKENDS[backend_name].from_settings(settings)

    items: list[Any] = list(backend.stream(REQUEST, MODELS[backend_name]))
    backend.close()

    deltas, last = items[:-1], items[-1]
    assert isinstance(last, Usage)
    assert all(isinstance(d, str) and d for d in deltas)
    assert len(deltas) >= 3
    text = "".join(deltas)
    assert text.startswith(f"[offline emulator · {MODELS[backend_name]}]")
    assert "And after promotion, what do I check?" in text
    assert last == Usage(
        input_tokens=estimate_prompt_tokens(REQUEST),
        output_tokens=estimate_tokens(text),
        model=MODELS[backend_name],
        stop_reason=last.stop_reason,
    )
    # Both backends speak Bedrock's words for why the model stopped.
    assert last.stop_reason in ("end_turn", "max_tokens")
    assert len(emulator.requests) == 1


def test_bedrock_request_carries_system_messages_and_limits(
    settings: Settings, bedrock_emulator: EmulatorServer
) -> None:
    backend = BACKENDS["bedrock"].from_settings(settings)
    list(backend.stream(REQUEST, "amazon.nova-micro-v1:0"))
    backend.close()

    sent = bedrock_emulator.requests[0]
    assert sent.path == "/model/amazon.nova-micro-v1:0/converse-stream"
    assert sent.body["system"] == [{"text": REQUEST.system}]
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]
    assert sent.body["inferenceConfig"]["maxTokens"] == 300
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256")


def test_openai_request_asks_for_the_usage_chunk(
    settings: Settings, openai_emulator: EmulatorServer
) -> None:
    backend = BACKENDS["ec2"].from_settings(settings)
    list(backend.stream(REQUEST, EC2_MODEL))
    backend.close()

    body = openai_emulator.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0] == {"role": "system", "content": REQUEST.system}
    assert body["max_tokens"] == 300
