"""Shared fixtures: a real `redis-server` for the whole session, flushed around each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from pydantic import SecretStr

from chatops.settings import Settings, load_settings
from chatops.stack import EC2_MODEL, free_port
from chatops.stack import redis_server as private_redis_server
from sandbox.bedrock import BedrockEmulator
from sandbox.openai_compat import OpenAICompatEmulator

__all__ = ["EC2_MODEL", "free_port"]


@pytest.fixture(scope="session", autouse=True)
def settings_from_tests_only() -> Iterator[None]:
    """No test reads the shell's settings (TIER_*, LEVERS, AWS_PROFILE …) or a `.env` in the
    checkout: what a test runs against is what the test says."""
    names = {name.upper() for name in Settings.model_fields}
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name in names or name.startswith("AWS_"):
                patch.delenv(name)
        patch.setitem(Settings.model_config, "env_file", None)
        yield


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server on a free port (never the machine's shared one), as a URL."""
    with private_redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    yield redis_server
    client.flushall()
    client.close()


@pytest.fixture
def bedrock_emulator() -> Iterator[BedrockEmulator]:
    emulator = BedrockEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def openai_emulator() -> Iterator[OpenAICompatEmulator]:
    emulator = OpenAICompatEmulator(models=(EC2_MODEL,)).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def settings(bedrock_emulator: BedrockEmulator, openai_emulator: OpenAICompatEmulator) -> Settings:
    """Settings whose real clients point at the emulators (never at AWS, never at IMDS)."""
    return load_settings(
        _env_file=None,
        bedrock_endpoint_url=bedrock_emulator.url,
        ec2_llm_base_url=f"{openai_emulator.url}/v1",
        aws_access_key_id="test",
        aws_secret_access_key=SecretStr("test"),
        tier_small=f"bedrock:amazon.nova-micro-v1:0, ec2:{EC2_MODEL}",
        tier_medium=f"bedrock:global.anthropic.claude-haiku-4-5-20251001-v1:0, ec2:{EC2_MODEL}",
        tier_large="bedrock:global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    )
