"""`chatops worker --queue NAME`: build every client, then take jobs.

A `SimpleWorker` runs jobs in this process, on clients built once here. A forking worker
would pay a fork per job (~19 ms, more than the whole latency budget of the bot between a
Slack request and the model call); crash isolation comes instead from running several worker
processes under a supervisor (compose `replicas`) and from RQ's abandoned-job recovery,
which retries the job of a killed worker.
"""

from __future__ import annotations

import logging

import redis
from rq import Queue, SimpleWorker

from chatops.settings import Settings
from workers import runtime

log = logging.getLogger(__name__)


def build_worker(settings: Settings, queue_name: str, name: str | None = None) -> SimpleWorker:
    runtime.install(runtime.build_runtime(settings))
    connection = redis.Redis.from_url(settings.redis_url)
    return SimpleWorker(
        [Queue(queue_name, connection=connection)],
        connection=connection,
        name=name,
        maintenance_interval=settings.worker_maintenance_interval_s,
        job_monitoring_interval=settings.worker_job_monitoring_interval_s,
    )


def run_worker(settings: Settings, queue_name: str, *, burst: bool = False) -> None:
    worker = build_worker(settings, queue_name)
    log.info("worker_ready queue=%s name=%s", queue_name, worker.name)
    # The scheduler moves retries (Retry intervals) back onto the queue.
    worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level.upper())


__all__ = ["build_worker", "run_worker"]
