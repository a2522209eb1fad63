"""Shared fixtures: a real `redis-server` for the whole session, flushed around each test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
import redis
from pydantic import SecretStr

from chatops.settings import Settings, load_settings
from sandbox.bedrock import BedrockEmulator
from sandbox.openai_compat import OpenAICompatEmulator

EC2_MODEL = "llama-3.1-8b-instruct"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_redis(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server on a free port (never the machine's shared one), as a URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH; install it (Debian: apt-get install redis-server)"
        )
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_for_redis(url)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


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
