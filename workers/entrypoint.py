"""`chatops worker --queue NAME`: build every client, then take jobs.

Jobs run in this process (RQ's `SimpleWorker`), on clients built once here. A forking worker
would pay a fork per job (~19 ms, more than the bot's whole latency budget between a Slack
request and the model call); crash isolation comes instead from several worker processes
under a supervisor (compose `replicas`) and from RQ's abandoned-job recovery, which retries
the job of a killed worker.

`SimpleWorker` heartbeats a job only when it starts, with a TTL of the job's whole timeout
plus 60 s, so a killed worker's job would wait minutes to be noticed. `HeartbeatWorker`
beats every `job_monitoring_interval` from a thread with a TTL of three intervals: another
worker's maintenance pass finds the abandoned job within seconds and RQ retries it. A beat that
fails (a Redis blip) is logged and the next one tried; the thread never dies of it.

When EC2 instances are configured, the instance controller's thread ticks in every worker
(`workers.ec2_controller`; a lock in Redis lets one act at a time) and stops with the worker.

Maintenance, besides RQ's own, closes the model calls of dead workers in the call journal
(`CostEngine.close_abandoned`), retries this worker's closes Redis refused earlier, and gives
back the items of batch flushes that died (`workers.batch_collector.requeue_dead`).
Jobs are JSON (RQ's `JSONSerializer`), never pickles: whoever can write to the queue Redis
cannot make a worker run code.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from chatops.settings import Settings
from chatops.wiring import connect_queue_redis
from workers import batch_collector, runtime
from workers.digest import collector_for
from workers.ec2_controller import start_controller_thread

log = logging.getLogger(__name__)


MISSED_BEATS = 3
MAX_RESTART_BACKOFF_S = 30.0


class HeartbeatWorker(SimpleWorker):
    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return int(self.job_monitoring_interval * MISSED_BEATS)

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception as exc:
                    log.warning("heartbeat_failed job_id=%s: %s", job.id, exc)

        beater = threading.Thread(target=beat, name="rq-heartbeat", daemon=True)
        beater.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beater.join()
        self.set_state(WorkerStatus.IDLE)
        _settle_accounts()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        _settle_accounts()
        _requeue_flushes()


def _settle_accounts() -> None:
    """Close dead workers' model calls and retry our own closes; never fails the worker."""
    engine = runtime.current().engine
    try:
        closed = engine.close_abandoned()
        pending = engine.flush_pending()
    except redis.RedisError as exc:
        log.warning("accounts_not_settled: %s", exc)
        return
    if closed or pending:
        log.info("accounts_settled abandoned_closed=%d still_pending=%d", closed, pending)


def _requeue_flushes() -> None:
    """Give back the items of batch flushes whose process died (`workers.batch_collector`)."""
    rt = runtime.current()
    try:
        moved = batch_collector.requeue_dead_flushes(rt.queue_redis, rt.settings)
    except redis.RedisError as exc:
        log.warning("batch_flushes_not_requeued: %s", exc)
        return
    if moved:
        log.info("batch_flushes_requeued items=%d", moved)


def build_worker(settings: Settings, queue_name: str, name: str | None = None) -> SimpleWorker:
    runtime.install(runtime.build_runtime(settings))
    batch_collector.install(collector_for(runtime.current()))
    return _worker(settings, queue_name, name)


def _worker(settings: Settings, queue_name: str, name: str | None = None) -> SimpleWorker:
    connection = connect_queue_redis(settings.redis_url)
    return HeartbeatWorker(
        [Queue(queue_name, connection=connection, serializer=JSONSerializer)],
        connection=connection,
        serializer=JSONSerializer,
        name=name,
        maintenance_interval=settings.worker_maintenance_interval_s,
        # An idle worker blocks on the queue for worker_ttl - 15 s between maintenance
        # passes; keep that wait no longer than the maintenance interval.
        worker_ttl=settings.worker_maintenance_interval_s + 15,
        job_monitoring_interval=settings.worker_job_monitoring_interval_s,
    )


def run_worker(settings: Settings, queue_name: str, *, burst: bool = False) -> None:
    """Take jobs until stopped. RQ survives Redis going away while it waits for a job, but not
    while it records a job's outcome: then the worker starts over (clients, the runtime and its
    pending ledger writes kept), and the job in hand is retried as an abandoned one."""
    runtime.install(runtime.build_runtime(settings))
    batch_collector.install(collector_for(runtime.current()))
    # The instance controller ticks beside the jobs, on a connection of its own: its blocking
    # wait for a request's wake-up must not hold a connection the jobs need.
    controller = start_controller_thread(settings, connect_queue_redis(settings.redis_url))
    try:
        _take_jobs(settings, queue_name, burst=burst)
    finally:
        if controller is not None:
            controller.stop()


def _take_jobs(settings: Settings, queue_name: str, *, burst: bool) -> None:
    backoff_s = 1.0
    lost: SimpleWorker | None = None
    while True:
        worker: SimpleWorker | None = None
        try:
            if lost is not None:
                _release_scheduler(lost)
                lost = None
            worker = _worker(settings, queue_name)
            log.info("worker_ready queue=%s name=%s", queue_name, worker.name)
            # The scheduler moves retries (Retry intervals) back onto the queue.
            worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level.upper())
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning(
                "worker_lost_redis queue=%s: %s; starting over in %.0f s",
                queue_name,
                exc,
                backoff_s,
            )
            lost = worker or lost
        # No job is in hand while waiting to start over: a SIGTERM (a deploy, a test's
        # teardown) ends the process at once, as it would an idle worker.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        time.sleep(backoff_s)
        backoff_s = min(backoff_s * 2, MAX_RESTART_BACKOFF_S)


def _release_scheduler(worker: SimpleWorker) -> None:
    """Stop a lost worker's scheduler process and give back its lock: held until it lapses
    (a minute), it would keep the new worker's scheduler — and every retry — waiting."""
    if worker.scheduler is None:
        return
    worker.stop_scheduler()  # type: ignore[no-untyped-call]
    worker.scheduler.release_locks()  # type: ignore[no-untyped-call]


__all__ = ["build_worker", "run_worker"]
