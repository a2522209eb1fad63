"""The batch collector: batchable items wait in Redis per batch group — (task, model, privacy
scope) — and a flush runs up to BATCH_MAX_ITEMS of them through the dispatcher
(`gateway.dispatch`: one packed call, or concurrent requests) and hands each result to the
sink of its item's kind.

Life of an item (state in `workers.batch_store`):
1. `add` queues it on its group. The first item of a quiet group schedules a flush in
   BATCH_MAX_WAIT_MS with RQ's own scheduling (`Queue.enqueue_in`, JSON payload, bulk queue);
   the item that completes a full batch enqueues one at once.
2. A flush moves up to N items, atomically, to an in-flight list under a lease it renews while
   it runs. Items it leaves behind get a flush of their own.
3. Results kept by an earlier flush of these items (one that died) are reused; the others go
   through the dispatcher, each result kept as soon as it is known.
4. Each result goes to its item's sink and the item is marked delivered; then the in-flight
   list is dropped.

Items known together — a digest's issues — need no waiting: `answer_now` runs them through
the same groups and dispatcher in the calling job, keeping each result under its item id.

A flush that fails gives its items back to the head of the queue, counts an attempt for each
and schedules another flush; one that dies leaves its in-flight list, which `requeue_dead` —
every worker's maintenance pass — gives back once the lease has lapsed. An item whose flushes
failed BATCH_MAX_ATTEMPTS times is given up: its sink gets the reason.

Exactly once: the model is asked about an item until its result is kept, then never again,
and a delivery is marked as soon as its sink returns. The one window left — a process killed
between a sink's return and that mark — delivers the same kept result again, so a sink must be
idempotent per item id (a Slack reply keyed by request id is: `workers.reply_state`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from chatops import messages
from chatops.payloads import BATCH_FLUSH_FUNCTION, BULK_QUEUE
from chatops.settings import Settings
from gateway.batching import BatchGroup, BatchItem, BatchPrompt
from gateway.dispatch import Complete, Dispatcher, DispatchReport, ItemResult, OnResult
from gateway.errors import ConfigError
from gateway.types import Route
from workers.batch_store import BatchStore

log = logging.getLogger(__name__)

Sink = Callable[[BatchItem, ItemResult], None]

# A schedule mark outlives its flush's delay by this much, then lets a later item schedule.
MARK_GRACE_MS = 60_000
# After a failed flush, its items wait at least this long before the next one.
RETRY_DELAY_MS = 5_000
FAILURE_TTL_S = 3600
RESULT_TTL_S = 300


@dataclass(frozen=True)
class BatchLimits:
    max_items: int = 8
    max_wait_ms: int = 2_000
    lease_s: float = 30.0
    max_attempts: int = 3
    job_timeout_s: int = 180

    @classmethod
    def from_settings(cls, settings: Settings) -> BatchLimits:
        return cls(
            max_items=settings.batch_max_items,
            max_wait_ms=settings.batch_max_wait_ms,
            lease_s=settings.batch_flush_lease_s,
            max_attempts=settings.batch_max_attempts,
            job_timeout_s=settings.job_timeout_s,
        )

    @property
    def mark_ttl_ms(self) -> int:
        return self.max_wait_ms + MARK_GRACE_MS


@dataclass(frozen=True)
class FlushReport:
    flight_id: str
    items: int = 0
    delivered: int = 0
    calls: int = 0
    reruns: tuple[str, ...] = ()
    given_up: tuple[str, ...] = ()


class FlushScheduler:
    """Flush jobs on the bulk queue: JSON payloads, RQ's scheduler for the delayed ones."""

    def __init__(self, store: BatchStore, queue: Queue, limits: BatchLimits) -> None:
        self.store = store
        self.queue = queue
        self.limits = limits

    def ensure(self, group: BatchGroup, delay_ms: int) -> bool:
        """Schedule a flush unless one is scheduled already; True if this call did."""
        if not self.store.mark_scheduled(group, self.limits.mark_ttl_ms + delay_ms):
            return False
        self.enqueue(group, delay_ms)
        return True

    def enqueue(self, group: BatchGroup, delay_ms: int = 0) -> None:
        """A flush job in `delay_ms` (RQ's scheduler moves it to the queue), or now."""
        options: dict[str, Any] = {
            "job_id": f"batch-{group.digest[:16]}-{uuid.uuid4().hex[:8]}",
            "job_timeout": self.limits.job_timeout_s,
            "failure_ttl": FAILURE_TTL_S,
            "result_ttl": RESULT_TTL_S,
            "description": f"batch flush {group.task}",
        }
        if delay_ms > 0:
            self.queue.enqueue_in(
                timedelta(milliseconds=delay_ms),
                BATCH_FLUSH_FUNCTION,
                group.to_payload(),
                **options,
            )
        else:
            self.queue.enqueue(BATCH_FLUSH_FUNCTION, group.to_payload(), **options)


class BatchCollector:
    def __init__(
        self,
        store: BatchStore,
        scheduler: FlushScheduler,
        dispatcher: Dispatcher,
        *,
        prompts: Mapping[str, BatchPrompt],
        sinks: Mapping[str, Sink],
        tiers: Mapping[str, Sequence[Route]],
        limits: BatchLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.dispatcher = dispatcher
        self.prompts = prompts
        self.sinks = sinks
        self.tiers = tiers
        self.limits = limits
        self._clock = clock

    def group_of(self, item: BatchItem) -> BatchGroup:
        """The item's group: its task, the model its tier runs first, its privacy scope."""
        prompt = self.prompts.get(item.task)
        if prompt is None:
            raise ConfigError(f"task {item.task!r} is not batchable (no batchable template)")
        return BatchGroup(item.task, str(self.tiers[prompt.tier][0]), item.scope)

    def add(self, item: BatchItem) -> BatchGroup:
        """Queue one item; its result reaches its sink after the group's next flush."""
        if item.kind not in self.sinks:
            raise ConfigError(f"no sink for batch items of kind {item.kind!r}")
        group = self.group_of(item)
        length, first = self.store.add(item, group, self.limits.mark_ttl_ms)
        if first:
            self.scheduler.enqueue(group, self.limits.max_wait_ms)
        if length % self.limits.max_items == 0:
            self.scheduler.enqueue(group)
        return group

    def answer_now(self, items: Sequence[BatchItem], batch_id: str) -> dict[str, ItemResult]:
        """Items known together (a digest's issues), answered in this process: grouped as
        `add` would, up to BATCH_MAX_ITEMS per call, no sinks. Results are kept under the
        items' ids, so a retried job asks the model only about items still unanswered."""
        results = self.store.results([item.item_id for item in items])
        groups: dict[BatchGroup, list[BatchItem]] = {}
        for item in items:
            if item.item_id not in results:
                groups.setdefault(self.group_of(item), []).append(item)

        def keep(item: BatchItem, result: ItemResult) -> None:
            self.store.keep(item.item_id, result)
            results[item.item_id] = result

        for number, (group, todo) in enumerate(groups.items()):
            for start in range(0, len(todo), self.limits.max_items):
                chunk = todo[start : start + self.limits.max_items]
                self._dispatch(group, f"{batch_id}-{number}-{start}", chunk, keep)
        return results

    # -- a flush -----------------------------------------------------------------------------

    def flush(self, group: BatchGroup) -> FlushReport:
        flight_id = f"{group.digest}-{uuid.uuid4().hex[:12]}"
        remaining, items = self.store.take(
            group, self.limits.max_items, flight_id, self._deadline_ms()
        )
        if remaining >= self.limits.max_items:
            self.scheduler.enqueue(group)
        elif remaining:
            self.scheduler.ensure(group, self.limits.max_wait_ms)
        if not items:
            return FlushReport(flight_id)
        try:
            with self._leased(flight_id):
                report = self._run(group, flight_id, items)
        except Exception:
            log.exception("batch_flush_failed flight=%s items=%d", flight_id, len(items))
            self._give_back(group, flight_id, items)
            raise
        self.store.finish(flight_id, [item.item_id for item in items])
        log.info(
            "batch_flushed flight=%s task=%s items=%d calls=%d reruns=%d given_up=%d",
            flight_id,
            group.task,
            report.items,
            report.calls,
            len(report.reruns),
            len(report.given_up),
        )
        return report

    def _run(self, group: BatchGroup, flight_id: str, items: Sequence[BatchItem]) -> FlushReport:
        ids = [item.item_id for item in items]
        delivered = self.store.delivered(ids)
        results = self.store.results(ids)
        attempts = self.store.attempts(ids)
        given_up: list[str] = []
        todo: list[BatchItem] = []
        for item in items:
            if item.item_id in delivered or item.item_id in results:
                continue
            if attempts.get(item.item_id, 0) >= self.limits.max_attempts:
                results[item.item_id] = ItemResult(error=messages.UNEXPECTED, how="given_up")
                given_up.append(item.item_id)
            else:
                todo.append(item)

        def keep(item: BatchItem, result: ItemResult) -> None:
            self.store.keep(item.item_id, result)
            results[item.item_id] = result

        report = self._dispatch(group, flight_id, todo, keep)
        for item in items:
            if item.item_id not in delivered:
                self._deliver(item, results[item.item_id])
        return FlushReport(
            flight_id,
            len(items),
            len(items) - len(delivered),
            report.calls,
            report.reruns,
            tuple(given_up),
        )

    def _dispatch(
        self, group: BatchGroup, flight_id: str, todo: Sequence[BatchItem], keep: OnResult
    ) -> DispatchReport:
        if not todo:
            return DispatchReport(flight_id, "none", 0)
        prompt = self.prompts.get(group.task)
        if prompt is None:
            raise ConfigError(f"this worker has no batchable template for task {group.task!r}")
        return self.dispatcher.run(
            prompt, todo, backend=group.backend, batch_id=flight_id, on_result=keep
        )

    def _deliver(self, item: BatchItem, result: ItemResult) -> None:
        sink = self.sinks.get(item.kind)
        if sink is None:
            raise ConfigError(f"no sink for batch items of kind {item.kind!r} in this worker")
        sink(item, result)
        self.store.mark_delivered(item.item_id)

    def _give_back(self, group: BatchGroup, flight_id: str, items: Sequence[BatchItem]) -> None:
        """A failed flush: items back to the head of the queue, one attempt each, a later
        flush. If Redis refuses, the lease lapses and `requeue_dead` does it instead."""
        try:
            if self.store.release(flight_id) < 0:
                return
            delivered = self.store.delivered([item.item_id for item in items])
            self.store.count_attempt([i.item_id for i in items if i.item_id not in delivered])
            self.scheduler.ensure(group, max(self.limits.max_wait_ms, RETRY_DELAY_MS))
        except redis.RedisError as exc:
            log.warning("batch_give_back_failed flight=%s: %s", flight_id, exc)

    @contextmanager
    def _leased(self, flight_id: str) -> Iterator[None]:
        """Renew the flight's lease every third of it while the flush runs."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.limits.lease_s / 3):
                try:
                    if not self.store.renew(flight_id, self._deadline_ms()):
                        log.warning("batch_lease_lost flight=%s", flight_id)
                        return
                except redis.RedisError as exc:
                    log.warning("batch_lease_not_renewed flight=%s: %s", flight_id, exc)

        renewer = threading.Thread(target=renew, name="batch-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()

    def _deadline_ms(self) -> int:
        return int((self._clock() + self.limits.lease_s) * 1000)


def requeue_dead(
    store: BatchStore, scheduler: FlushScheduler, clock: Callable[[], float] = time.time
) -> int:
    """Maintenance: give back the items of flushes whose lease lapsed (their process died),
    and schedule a flush for any group left with items and no flush. Safe from every worker
    at once: each flight is given back by one script, once. Returns the items given back."""
    now_ms = int(clock() * 1000)
    moved = 0
    for flight_id in store.expired_flights(now_ms):
        items = store.flight_items(flight_id)
        count = store.release(flight_id, before_ms=now_ms)
        if count < 0:
            continue
        moved += count
        delivered = store.delivered([item.item_id for item in items])
        store.count_attempt([i.item_id for i in items if i.item_id not in delivered])
        log.warning("batch_flight_requeued flight=%s items=%d", flight_id, count)
    for digest, group in store.groups().items():
        if store.sweep(digest):
            scheduler.ensure(group, 0)
    return moved


def build_scheduler(redis_client: redis.Redis, settings: Settings) -> FlushScheduler:
    queue = Queue(BULK_QUEUE, connection=redis_client, serializer=JSONSerializer)
    return FlushScheduler(BatchStore(redis_client), queue, BatchLimits.from_settings(settings))


def requeue_dead_flushes(redis_client: redis.Redis, settings: Settings) -> int:
    """`requeue_dead` for a worker's maintenance pass, from its settings and queue Redis."""
    scheduler = build_scheduler(redis_client, settings)
    return requeue_dead(scheduler.store, scheduler)


def build_collector(
    redis_client: redis.Redis,
    settings: Settings,
    *,
    complete: Complete,
    prompts: Mapping[str, BatchPrompt],
    sinks: Mapping[str, Sink],
    tiers: Mapping[str, Sequence[Route]],
) -> BatchCollector:
    """The collector a worker installs: `complete` is its engine's `CostEngine.complete`."""
    scheduler = build_scheduler(redis_client, settings)
    dispatcher = Dispatcher(
        complete,
        strategies=settings.batch_strategies,
        concurrency=settings.batch_concurrency,
        packing="batching" in settings.lever_set,
    )
    return BatchCollector(
        scheduler.store,
        scheduler,
        dispatcher,
        prompts=prompts,
        sinks=sinks,
        tiers=tiers,
        limits=scheduler.limits,
    )


_installed: BatchCollector | None = None


def install(collector: BatchCollector | None) -> None:
    """The collector this process's jobs use (the worker entrypoint installs it)."""
    global _installed
    _installed = collector


def installed() -> BatchCollector:
    if _installed is None:
        raise ConfigError("this worker has no batch collector installed")
    return _installed


def flush_job(payload: dict[str, Any]) -> None:
    """RQ job: flush one batch group (`chatops.payloads.BATCH_FLUSH_FUNCTION`)."""
    installed().flush(BatchGroup.from_payload(payload))


__all__ = [
    "BatchCollector",
    "BatchLimits",
    "FlushReport",
    "FlushScheduler",
    "Sink",
    "build_collector",
    "build_scheduler",
    "flush_job",
    "install",
    "installed",
    "requeue_dead",
    "requeue_dead_flushes",
]
