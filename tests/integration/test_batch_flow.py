"""Batching end to end: the real engine (`build_engine`) and boto3 against the Bedrock
emulator, a real redis-server, RQ's scheduler and workers — items answered into their own
sinks exactly once, through broken replies, killed workers and private DMs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from chatops.payloads import BULK_QUEUE
from chatops.settings import Settings
from chatops.wiring import build_engine
from gateway.batching import BatchItem
from gateway.engine import CostEngine
from gateway.ledger import Ledger
from prompts import load_prompt
from sandbox.bedrock import BedrockEmulator
from sandbox.llm import Pace
from sandbox.server import Fault
from tests.batch_items import RecordingSink, code_word, digest_item
from tests.integration.batch_worker import DELIVERED
from workers import batch_collector
from workers.batch_collector import BatchCollector, build_collector

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = {"digest_item": load_prompt("digest_item").batch_prompt()}
MAX_ITEMS = 8


@pytest.fixture
def batch_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"batch_max_items": MAX_ITEMS, "batch_max_wait_ms": 300})


@pytest.fixture
def engine(batch_settings: Settings, redis_url: str) -> Iterator[CostEngine]:
    engine = build_engine(batch_settings, redis.Redis.from_url(redis_url))
    yield engine
    engine.gateway.close()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def collector(
    batch_settings: Settings, redis_url: str, engine: CostEngine, sink: RecordingSink
) -> Iterator[BatchCollector]:
    collector = build_collector(
        redis.Redis.from_url(redis_url),
        batch_settings,
        complete=engine.complete,
        prompts=PROMPTS,
        sinks={"digest_line": sink},
        tiers=engine.gateway.tiers,
    )
    batch_collector.install(collector)
    yield collector
    batch_collector.install(None)


def _packed_calls(emulator: BedrockEmulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests_to("/converse-stream")]


def _answered_once_each(got: dict[str, list[str]], numbers: range | list[int]) -> None:
    assert sorted(got) == sorted(f"item-{n}" for n in numbers)
    for n in numbers:
        [text] = got[f"item-{n}"]
        assert code_word(n) in text
        assert not any(code_word(k) in text for k in numbers if k != n)


def _texts(sink: RecordingSink) -> dict[str, list[str]]:
    return {item_id: [r.text for r in results] for item_id, results in sink.got.items()}


def test_thirty_queued_items_take_at_most_ceil_30_over_n_calls(
    collector: BatchCollector,
    sink: RecordingSink,
    bedrock_emulator: BedrockEmulator,
    redis_url: str,
) -> None:
    started = time.time()
    for n in range(30):
        collector.add(digest_item(n))
    time.sleep(0.4)  # past BATCH_MAX_WAIT_MS: RQ's scheduler moves the delayed flush
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(BULK_QUEUE, connection=connection, serializer=JSONSerializer)
    SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(
        burst=True, with_scheduler=True
    )

    _answered_once_each(_texts(sink), range(30))
    calls = _packed_calls(bedrock_emulator)
    assert len(calls) <= math.ceil(30 / MAX_ITEMS)
    rows = Ledger(connection).records(started - 1, time.time() + 1)
    assert len(rows) == len(calls)
    assert sum(r.output_tokens for r in rows) > 0


@pytest.mark.parametrize(
    ("fault", "again"),
    [
        ("reply_malformed", 6),
        ("reply_shuffled", 0),
        ("reply_short", 1),
        ("reply_duplicated", 2),
        ("reply_garbled", 1),
    ],
)
def test_a_broken_reply_reruns_the_affected_items_alone(
    collector: BatchCollector,
    sink: RecordingSink,
    bedrock_emulator: BedrockEmulator,
    fault: str,
    again: int,
) -> None:
    bedrock_emulator.inject(Fault(kind=fault))
    for n in range(6):
        group = collector.add(digest_item(n))
    report = collector.flush(group)

    _answered_once_each(_texts(sink), range(6))
    assert len(report.reruns) == again
    calls = _packed_calls(bedrock_emulator)
    assert len(calls) == 1 + again
    for body in calls[1:]:
        [message] = body["messages"]
        assert "<item" not in message["content"][0]["text"]


def test_items_from_two_dms_are_never_in_one_call(
    collector: BatchCollector, sink: RecordingSink, bedrock_emulator: BedrockEmulator
) -> None:
    people = {"U_ALICE": range(0, 10, 2), "U_BOB": range(1, 10, 2)}
    groups = set()
    for n in range(10):
        user = "U_ALICE" if n % 2 == 0 else "U_BOB"
        item = digest_item(n, scope=f"person:T1:{user}", user=user, channel=f"D_{user[2:]}")
        groups.add(collector.add(item))
    for group in groups:
        collector.flush(group)

    _answered_once_each(_texts(sink), range(10))
    calls = _packed_calls(bedrock_emulator)
    assert len(calls) == 2
    for body in calls:
        text = body["messages"][0]["content"][0]["text"]
        owners = {
            user for user, numbers in people.items() if any(code_word(n) in text for n in numbers)
        }
        assert len(owners) == 1


# -- killed workers ----------------------------------------------------------------------------


def _worker_env(settings: Settings, redis_url: str, **extra: str) -> dict[str, str]:
    inherited = ("PATH", "HOME", "LANG", "VIRTUAL_ENV", "TMPDIR")
    return {
        **{name: os.environ[name] for name in inherited if name in os.environ},
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "BEDROCK_ENDPOINT_URL": settings.bedrock_endpoint_url or "",
        "EC2_LLM_BASE_URL": settings.ec2_llm_base_url or "",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TIER_SMALL": settings.tier_small,
        "TIER_MEDIUM": settings.tier_medium,
        "TIER_LARGE": settings.tier_large,
        "BATCH_MAX_ITEMS": str(MAX_ITEMS),
        "BATCH_MAX_WAIT_MS": "60000",
        "BATCH_FLUSH_LEASE_S": "2",
        "WORKER_MAINTENANCE_INTERVAL_S": "1",
        "WORKER_JOB_MONITORING_INTERVAL_S": "1",
        **extra,
    }


@pytest.fixture
def spawn_worker(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], subprocess.Popen[bytes]]]:
    workers: list[subprocess.Popen[bytes]] = []

    def spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(tmp_path / f"worker-{len(workers)}.log", "ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.batch_worker"],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a kill takes RQ's scheduler child with it.
                start_new_session=True,
            )
        workers.append(worker)
        return worker

    try:
        yield spawn
    except BaseException:
        for path in sorted(tmp_path.glob("worker-*.log")):
            print(f"== {path.name}\n{path.read_text(errors='replace')}")
        raise
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=15)


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _delivered(connection: redis.Redis) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for raw in connection.lrange(DELIVERED, 0, -1):
        entry = json.loads(raw)
        got.setdefault(entry["item_id"], []).append(entry["text"])
    return got


def _queue_items(collector: BatchCollector, count: int) -> list[BatchItem]:
    items = [digest_item(n) for n in range(count)]
    for item in items:
        collector.add(item)
    return items


@pytest.mark.slow
def test_a_worker_killed_during_the_model_call_still_answers_each_item_once(
    collector: BatchCollector,
    batch_settings: Settings,
    bedrock_emulator: BedrockEmulator,
    redis_url: str,
    spawn_worker: Callable[[dict[str, str]], subprocess.Popen[bytes]],
) -> None:
    bedrock_emulator.pace = Pace(tokens_per_s=40)  # the packed answer streams for ~18 s
    env = _worker_env(batch_settings, redis_url)
    first = spawn_worker(env)
    _queue_items(collector, MAX_ITEMS)
    _wait_for(lambda: len(_packed_calls(bedrock_emulator)) == 1, "the packed call", 60)
    time.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    connection = redis.Redis.from_url(redis_url)
    assert connection.llen(DELIVERED) == 0

    bedrock_emulator.pace = Pace()
    spawn_worker(env)
    _wait_for(lambda: connection.llen(DELIVERED) >= MAX_ITEMS, "every item's delivery", 60)
    time.sleep(1.0)  # a duplicate would arrive now

    _answered_once_each(_delivered(connection), range(MAX_ITEMS))
    assert len(_packed_calls(bedrock_emulator)) == 2


@pytest.mark.slow
def test_a_worker_killed_between_deliveries_asks_the_model_nothing_again(
    collector: BatchCollector,
    batch_settings: Settings,
    bedrock_emulator: BedrockEmulator,
    redis_url: str,
    spawn_worker: Callable[[dict[str, str]], subprocess.Popen[bytes]],
) -> None:
    env = _worker_env(batch_settings, redis_url)
    first = spawn_worker({**env, "BATCH_TEST_KILL_AT": "4"})
    _queue_items(collector, MAX_ITEMS)
    assert first.wait(timeout=60) == -signal.SIGKILL
    connection = redis.Redis.from_url(redis_url)
    assert connection.llen(DELIVERED) == 3

    spawn_worker(env)
    _wait_for(lambda: connection.llen(DELIVERED) >= MAX_ITEMS, "every item's delivery", 60)
    time.sleep(1.0)

    _answered_once_each(_delivered(connection), range(MAX_ITEMS))
    assert len(_packed_calls(bedrock_emulator)) == 1
