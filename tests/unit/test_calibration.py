"""Token estimates calibrated per model family, on fakeredis: the ratio follows reported usage,
is shared through Redis, is cached in-process, and never breaks a request when Redis fails."""

from __future__ import annotations

import math
from collections.abc import Iterator

import fakeredis
import pytest

from gateway import keys
from gateway.calibration import (
    CACHE_S,
    MIN_SAMPLE_TOKENS,
    RATIO_MAX,
    RATIO_MIN,
    WEIGHT,
    TokenCalibration,
    family_of,
)
from gateway.tokens import estimate_tokens

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def client(server: fakeredis.FakeServer) -> Iterator[fakeredis.FakeRedis]:
    redis_client = fakeredis.FakeRedis(server=server)
    yield redis_client
    redis_client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.parametrize(
    ("model", "family"),
    [
        (HAIKU, "claude"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude"),
        ("eu.anthropic.claude-3-5-haiku-20241022-v1:0", "claude"),
        (NOVA, "nova"),
        ("us.amazon.nova-pro-v1:0", "nova"),
        ("meta.llama3-1-8b-instruct-v1:0", "llama"),
        ("us.meta.llama3-3-70b-instruct-v1:0", "llama"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama"),
        ("llama3.1:8b", "llama"),
        ("mistral.mistral-7b-instruct-v0:2", "mistral"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral"),
        ("Qwen/Qwen2.5-7B-Instruct", "qwen"),
        ("acme.widget-v2:0", "acme.widget"),
        ("us.acme.widget-v3:1", "acme.widget"),
    ],
)
def test_model_ids_map_to_their_family(model: str, family: str) -> None:
    assert family_of(model) == family


def test_with_nothing_observed_the_estimate_is_the_plain_one(
    client: fakeredis.FakeRedis,
) -> None:
    calibration = TokenCalibration(client)
    text = "How do I rotate the staging DB password? " * 20
    assert calibration.ratio(HAIKU) == 1.0
    assert calibration.estimate(HAIKU, text) == estimate_tokens(text)
    assert calibration.estimate(HAIKU, 1234) == 1234


def test_the_ratio_follows_what_the_backend_reports(client: fakeredis.FakeRedis) -> None:
    calibration = TokenCalibration(client)
    for _ in range(40):
        calibration.observe(HAIKU, 1_000, 1_300)
    assert calibration.ratio(HAIKU) == pytest.approx(1.3)
    assert calibration.estimate(HAIKU, 1_000) == 1_300
    assert calibration.estimate(HAIKU, "x" * 4_000) == 1_300
    # Another family is untouched.
    assert calibration.ratio(NOVA) == 1.0


def test_the_first_samples_are_averaged_then_the_newest_weighs_in(
    client: fakeredis.FakeRedis,
) -> None:
    calibration = TokenCalibration(client)
    calibration.observe(NOVA, 1_000, 1_100)
    calibration.observe(NOVA, 1_000, 1_300)
    assert calibration.ratio(NOVA) == pytest.approx(1.2)
    for _ in range(int(1 / WEIGHT)):
        calibration.observe(NOVA, 1_000, 1_200)
    settled = calibration.ratio(NOVA)
    calibration.observe(NOVA, 1_000, 2_200)
    assert calibration.ratio(NOVA) == pytest.approx(settled + WEIGHT * (2.2 - settled), abs=1e-5)


def test_tiny_or_empty_samples_are_ignored(client: fakeredis.FakeRedis) -> None:
    calibration = TokenCalibration(client)
    calibration.observe(HAIKU, MIN_SAMPLE_TOKENS - 1, 3 * MIN_SAMPLE_TOKENS)
    calibration.observe(HAIKU, 5_000, 0)
    assert calibration.ratio(HAIKU) == 1.0
    assert client.exists(keys.token_calibration()) == 0


@pytest.mark.parametrize(("reported", "ratio"), [(100_000, RATIO_MAX), (10, RATIO_MIN)])
def test_an_absurd_sample_is_clamped(
    client: fakeredis.FakeRedis, reported: int, ratio: float
) -> None:
    calibration = TokenCalibration(client)
    calibration.observe(HAIKU, 1_000, reported)
    assert calibration.ratio(HAIKU) == ratio


def test_workers_share_the_ratio_through_redis_and_each_caches_it(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    writer = TokenCalibration(client, clock=clock)
    reader = TokenCalibration(client, clock=clock)
    assert reader.ratio(HAIKU) == 1.0  # read now, cached for CACHE_S
    writer.observe(HAIKU, 2_000, 2_500)
    assert reader.ratio(HAIKU) == 1.0
    clock.now += CACHE_S
    assert reader.ratio(HAIKU) == pytest.approx(1.25)
    assert client.hget(keys.token_calibration(), "claude:n") == b"1"


def test_concurrent_observers_each_count(client: fakeredis.FakeRedis) -> None:
    first, second = TokenCalibration(client), TokenCalibration(client)
    first.observe(HAIKU, 1_000, 1_100)
    second.observe(HAIKU, 1_000, 1_300)
    assert client.hget(keys.token_calibration(), "claude:n") == b"2"
    assert second.ratio(HAIKU) == pytest.approx(1.2)


def test_a_redis_outage_never_raises_and_keeps_the_last_ratio(
    client: fakeredis.FakeRedis, server: fakeredis.FakeServer, clock: Clock
) -> None:
    calibration = TokenCalibration(client, clock=clock)
    calibration.observe(HAIKU, 1_000, 1_400)
    server.connected = False
    clock.now += CACHE_S
    calibration.observe(HAIKU, 1_000, 2_000)
    assert calibration.ratio(HAIKU) == pytest.approx(1.4)
    assert calibration.estimate(HAIKU, 1_000) == 1_400


def test_with_redis_down_from_the_start_the_ratio_is_one(server: fakeredis.FakeServer) -> None:
    server.connected = False
    calibration = TokenCalibration(fakeredis.FakeRedis(server=server))
    calibration.observe(NOVA, 1_000, 1_500)
    assert calibration.ratio(NOVA) == 1.0
    assert calibration.estimate(NOVA, "abcd" * 100) == 100


def test_garbage_in_redis_reads_as_nothing_observed(client: fakeredis.FakeRedis) -> None:
    client.hset(keys.token_calibration(), mapping={"claude": "not a number", "nova": "nan"})
    calibration = TokenCalibration(client)
    assert calibration.ratio(HAIKU) == calibration.ratio(NOVA) == 1.0


def test_an_estimate_rounds_up(client: fakeredis.FakeRedis) -> None:
    calibration = TokenCalibration(client)
    calibration.observe(HAIKU, 1_000, 1_001)
    assert calibration.estimate(HAIKU, 10) == math.ceil(10 * 1.001)
    assert calibration.estimate(HAIKU, 0) == 0
    assert calibration.estimate(HAIKU, -5) == 0
