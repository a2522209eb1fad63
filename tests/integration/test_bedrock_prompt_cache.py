"""Bedrock prompt caching through boto3 and the emulator: a write, then a read."""

from __future__ import annotations

import pytest

from chatops.settings import Settings
from gateway.backends import BACKENDS
from gateway.tokens import estimate_tokens
from gateway.types import LLMRequest, Message, Usage
from sandbox.bedrock import BedrockEmulator

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # minimum cacheable prefix: 4,096


def _request(system: str, question: str) -> LLMRequest:
    return LLMRequest(
        task="ask",
        system=system,
        messages=(Message("user", question),),
        cache_system=True,
        max_output_tokens=100,
    )


def _usage(settings: Settings, request: LLMRequest) -> Usage:
    backend = BACKENDS["bedrock"].from_settings(settings)
    items = list(backend.stream(request, HAIKU))
    backend.close()
    usage = items[-1]
    assert isinstance(usage, Usage)
    return usage


def test_long_stable_prefix_is_written_then_read(settings: Settings) -> None:
    system = "Runbook excerpt. " * 1200  # 20,400 characters: 5,100 tokens, above 4,096
    prefix_tokens = estimate_tokens(system)
    question_tokens = estimate_tokens("First question?")

    first = _usage(settings, _request(system, "First question?"))
    second = _usage(settings, _request(system, "Second question, same prefix?"))

    assert (first.cache_write_tokens, first.cache_read_tokens) == (prefix_tokens, 0)
    assert first.input_tokens == question_tokens
    assert (second.cache_write_tokens, second.cache_read_tokens) == (0, prefix_tokens)
    assert second.input_tokens == estimate_tokens("Second question, same prefix?")


def test_prefix_below_the_model_minimum_is_not_cached(settings: Settings) -> None:
    system = "Runbook excerpt. " * 200  # 850 tokens: below Haiku 4.5's 4,096
    for question in ("One?", "Two?"):
        usage = _usage(settings, _request(system, question))
        assert (usage.cache_write_tokens, usage.cache_read_tokens) == (0, 0)
        assert usage.input_tokens == estimate_tokens(system) + estimate_tokens(question)


def test_cache_entry_expires_after_five_minutes(
    settings: Settings, bedrock_emulator: BedrockEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(bedrock_emulator.prompt_cache, "clock", lambda: now[0])
    system = "Runbook excerpt. " * 1200

    assert _usage(settings, _request(system, "a?")).cache_write_tokens > 0
    now[0] += 299
    assert _usage(settings, _request(system, "b?")).cache_read_tokens > 0
    now[0] += 299  # the hit refreshed the TTL
    assert _usage(settings, _request(system, "c?")).cache_read_tokens > 0
    now[0] += 301
    assert _usage(settings, _request(system, "d?")).cache_write_tokens > 0


def test_cache_point_is_sent_after_the_stable_prefix(
    settings: Settings, bedrock_emulator: BedrockEmulator
) -> None:
    _usage(settings, _request("Stable system text.", "q?"))
    assert bedrock_emulator.requests[0].body["system"] == [
        {"text": "Stable system text."},
        {"cachePoint": {"type": "default"}},
    ]
