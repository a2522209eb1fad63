"""The batch collector on fakeredis: scheduling with RQ's own scheduler, flushes that answer
each item into its own sink once, groups kept apart by privacy scope, and the ways a flush
fails or dies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import fakeredis
import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from chatops import messages
from chatops.payloads import BATCH_FLUSH_FUNCTION, BULK_QUEUE
from gateway import keys
from gateway.batching import BatchGroup, BatchItem, single
from gateway.dispatch import Dispatcher, ItemResult
from gateway.engine import Metered
from gateway.errors import AllRoutesFailedError, ConfigError
from gateway.types import LLMRequest, Route
from prompts import load_prompt
from tests.batch_items import EmulatedModel, RecordingSink, code_word, digest_item
from workers.batch_collector import (
    BatchCollector,
    BatchLimits,
    FlushScheduler,
    requeue_dead,
)
from workers.batch_store import BatchStore

MODEL = "amazon.nova-micro-v1:0"
PROMPT = load_prompt("digest_item").batch_prompt()
TIERS = {"small": (Route("bedrock", MODEL),), "medium": (Route("bedrock", MODEL),)}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield client
    client.close()


@pytest.fixture
def queue(client: fakeredis.FakeRedis) -> Queue:
    return Queue(BULK_QUEUE, connection=client, serializer=JSONSerializer)


class Harness:
    def __init__(self, client: fakeredis.FakeRedis, queue: Queue, **limits: int) -> None:
        self.client, self.queue = client, queue
        self.limits = BatchLimits(**{"max_items": 4, "max_wait_ms": 2_000, **limits})
        self.store = BatchStore(client)
        self.scheduler = FlushScheduler(self.store, queue, self.limits)
        self.model = EmulatedModel()
        self.sink = RecordingSink()
        self.clock = Clock()
        self.collector = BatchCollector(
            self.store,
            self.scheduler,
            Dispatcher(self.model, strategies={"bedrock": "packed"}, concurrency=2),
            prompts={"digest_item": PROMPT},
            sinks={"digest_line": self.sink},
            tiers=TIERS,
            limits=self.limits,
            clock=self.clock,
        )

    def scheduled(self) -> list[dict[str, str]]:
        registry = ScheduledJobRegistry(queue=self.queue)
        jobs = [self.queue.fetch_job(job_id) for job_id in registry.get_job_ids()]
        assert all(job is not None and job.func_name == BATCH_FLUSH_FUNCTION for job in jobs)
        return [job.args[0] for job in jobs if job is not None]

    def queued(self) -> list[dict[str, str]]:
        return [job.args[0] for job in self.queue.get_jobs()]

    def flush_all(self, group: BatchGroup) -> None:
        while self.store.pending(group.digest):
            self.collector.flush(group)


@pytest.fixture
def harness(client: fakeredis.FakeRedis, queue: Queue) -> Harness:
    return Harness(client, queue)


def _answered_once(sink: RecordingSink, items: list[tuple[int, BatchItem]]) -> None:
    assert sorted(sink.got) == sorted(item.item_id for _, item in items)
    for n, item in items:
        [result] = sink.got[item.item_id]
        assert result.ok and code_word(n) in result.text


def test_the_first_item_schedules_a_flush_and_a_full_batch_one_now(harness: Harness) -> None:
    first = harness.collector.add(digest_item(0))
    assert first == BatchGroup("digest_item", f"bedrock:{MODEL}", "workspace:T1")
    assert harness.scheduled() == [first.to_payload()]
    assert harness.queued() == []
    for n in (1, 2):
        harness.collector.add(digest_item(n))
    assert (len(harness.scheduled()), harness.queued()) == (1, [])
    harness.collector.add(digest_item(3))
    assert harness.queued() == [first.to_payload()]
    assert len(harness.scheduled()) == 1


def test_a_flush_answers_each_item_into_its_own_sink_once(harness: Harness) -> None:
    items = [(n, digest_item(n)) for n in range(10)]
    for _, item in items:
        group = harness.collector.add(item)
    harness.flush_all(group)

    _answered_once(harness.sink, items)
    assert len(harness.model.requests) == 3  # ceil(10 / 4)
    assert [r.batch.items for r in harness.model.requests if r.batch] == [4, 4, 2]
    assert harness.client.zcard(keys.batch_flights()) == 0
    assert harness.collector.flush(group).items == 0


def test_items_from_two_dms_are_never_in_one_call(harness: Harness) -> None:
    alice = [(n, digest_item(n, scope="person:T1:U_ALICE", user="U_ALICE")) for n in range(0, 6, 2)]
    bob = [(n, digest_item(n, scope="person:T1:U_BOB", user="U_BOB")) for n in range(1, 6, 2)]
    groups = {
        harness.collector.add(item) for pair in zip(alice, bob, strict=True) for _, item in pair
    }
    assert len(groups) == 2
    for group in groups:
        harness.flush_all(group)

    _answered_once(harness.sink, alice + bob)
    for request in harness.model.requests:
        body = request.messages[-1].text
        mine = alice if request.user == "U_ALICE" else bob
        theirs = bob if mine is alice else alice
        assert all(code_word(n) in body for n, _ in mine)
        assert not any(code_word(n) in body for n, _ in theirs)


def test_a_failed_flush_gives_its_items_back_and_the_next_answers_them(harness: Harness) -> None:
    items = [(n, digest_item(n)) for n in range(3)]
    for _, item in items:
        group = harness.collector.add(item)
    harness.model.errors = [AllRoutesFailedError("down", failovers=())]
    with pytest.raises(AllRoutesFailedError):
        harness.collector.flush(group)

    assert harness.sink.got == {}
    assert harness.store.pending(group.digest) == 3
    assert harness.store.attempts([item.item_id for _, item in items]) == {
        item.item_id: 1 for _, item in items
    }
    harness.collector.flush(group)
    _answered_once(harness.sink, items)
    assert harness.store.attempts([item.item_id for _, item in items]) == {}


def test_an_item_whose_flushes_keep_failing_is_given_up_and_told(
    client: fakeredis.FakeRedis, queue: Queue
) -> None:
    harness = Harness(client, queue, max_attempts=2)
    group = harness.collector.add(digest_item(0))
    for _ in range(2):
        harness.model.errors = [AllRoutesFailedError("down", failovers=())]
        with pytest.raises(AllRoutesFailedError):
            harness.collector.flush(group)
    calls = len(harness.model.requests)
    report = harness.collector.flush(group)

    assert len(harness.model.requests) == calls
    assert report.given_up == ("item-0",)
    [result] = harness.sink.got["item-0"]
    assert (result.error, result.how) == (messages.UNEXPECTED, "given_up")


def _die_mid_flush(harness: Harness, group: BatchGroup, answered: int, delivered: int) -> None:
    """What a flush killed mid-way leaves: its items in flight under a lease, the first
    `answered` results kept and the first `delivered` of those delivered."""
    flight_id = f"{group.digest}-dead"
    _, items = harness.store.take(group, 4, flight_id, int(harness.clock() * 1000) + 30_000)
    for item in items[:answered]:
        metered = harness.model(single(PROMPT, item, flight_id), lambda _: None)
        harness.store.keep(item.item_id, ItemResult(metered.completion.text, how="packed"))
    for item in items[:delivered]:
        harness.sink(item, harness.store.results([item.item_id])[item.item_id])
        harness.store.mark_delivered(item.item_id)


def test_a_dead_flush_is_given_back_after_its_lease_and_nothing_is_asked_or_said_twice(
    harness: Harness,
) -> None:
    items = [(n, digest_item(n)) for n in range(4)]
    for _, item in items:
        group = harness.collector.add(item)
    _die_mid_flush(harness, group, answered=3, delivered=2)
    calls = len(harness.model.requests)

    assert requeue_dead(harness.store, harness.scheduler, harness.clock) == 0  # still leased
    harness.clock.now += 31
    assert requeue_dead(harness.store, harness.scheduler, harness.clock) == 4
    assert harness.store.pending(group.digest) == 4
    assert group.to_payload() in harness.queued() + harness.scheduled()
    harness.collector.flush(group)

    _answered_once(harness.sink, items)
    # Only the item with no kept result went to the model again, alone.
    [again] = harness.model.requests[calls:]
    assert [m.text for m in again.messages] == [items[3][1].text]


def test_the_sweep_schedules_a_group_whose_schedule_was_lost(harness: Harness) -> None:
    group = harness.collector.add(digest_item(0))
    harness.client.delete(keys.batch_scheduled(group.digest))
    ScheduledJobRegistry(queue=harness.queue).remove(
        ScheduledJobRegistry(queue=harness.queue).get_job_ids()[0]
    )
    requeue_dead(harness.store, harness.scheduler, harness.clock)
    assert harness.queued() == [group.to_payload()]
    harness.collector.flush(group)
    requeue_dead(harness.store, harness.scheduler, harness.clock)
    assert harness.store.groups() == {}


def test_only_batchable_tasks_and_known_kinds_are_taken(harness: Harness) -> None:
    with pytest.raises(ConfigError, match="not batchable"):
        harness.collector.add(digest_item(0, task="ask"))
    with pytest.raises(ConfigError, match="no sink"):
        harness.collector.add(digest_item(0, kind="carrier_pigeon"))
    assert harness.client.keys("chatops:batch:*") == []


def test_a_running_flush_is_left_alone_by_maintenance(harness: Harness) -> None:
    group = harness.collector.add(digest_item(0))
    harness.store.take(group, 4, f"{group.digest}-live", int(harness.clock() * 1000) + 30_000)
    for _ in range(3):
        assert requeue_dead(harness.store, harness.scheduler, harness.clock) == 0
    assert harness.queued() == []
    assert harness.store.groups() == {group.digest: group}


def test_a_flush_longer_than_its_lease_keeps_renewing_it(
    client: fakeredis.FakeRedis, queue: Queue
) -> None:
    harness = Harness(client, queue, lease_s=0.3)
    harness.collector._clock = time.time
    group = harness.collector.add(digest_item(0))
    model = harness.model

    def slow(request: LLMRequest, on_delta: Callable[[str], None]) -> Metered:
        time.sleep(0.5)  # past the first lease's end
        assert requeue_dead(harness.store, harness.scheduler) == 0
        return model(request, on_delta)

    harness.collector.dispatcher = Dispatcher(slow, strategies={}, concurrency=1)
    harness.collector.flush(group)
    _answered_once(harness.sink, [(0, digest_item(0))])
    assert harness.store.pending(group.digest) == 0


def test_items_known_together_are_answered_at_once_and_never_asked_twice(
    harness: Harness,
) -> None:
    items = [digest_item(n, item_id=f"digest-1:OPS-{n}") for n in range(10)]
    results = harness.collector.answer_now(items, "digest-1")

    assert len(harness.model.requests) == 3  # ceil(10 / 4), one scope
    for n, item in enumerate(items):
        assert results[item.item_id].ok and code_word(n) in results[item.item_id].text
    assert harness.collector.answer_now(items, "digest-1") == results
    assert len(harness.model.requests) == 3
    more = [*items, digest_item(10, item_id="digest-1:OPS-10")]
    assert code_word(10) in harness.collector.answer_now(more, "digest-1")[more[-1].item_id].text
    assert len(harness.model.requests) == 4
    assert harness.sink.got == {}
