"""Enqueues answer jobs on RQ with their retry policy, timeout and an id from the request."""

from __future__ import annotations

import redis
from pydantic import BaseModel
from rq import Queue, Retry

from chatops.payloads import (
    ANSWER_FUNCTION,
    COST_REPORT_FUNCTION,
    INTERACTIVE_QUEUE,
    AnswerJob,
    CostReportJob,
)
from chatops.settings import Settings
from gateway import keys

FAILURE_TTL_S = 3600
RESULT_TTL_S = 300
RETRY_INTERVALS_S = [1, 5]


class JobQueue:
    def __init__(self, connection: redis.Redis, settings: Settings) -> None:
        self._connection = connection
        self._interactive = Queue(INTERACTIVE_QUEUE, connection=connection)
        self._retry = Retry(max=settings.job_retries, interval=RETRY_INTERVALS_S)
        self._timeout = settings.job_timeout_s

    def enqueue_answer(self, job: AnswerJob) -> None:
        self._enqueue(ANSWER_FUNCTION, job, job.job_id, job.kind)

    def enqueue_cost_report(self, job: CostReportJob) -> None:
        self._enqueue(COST_REPORT_FUNCTION, job, job.job_id, "llm_cost")

    def _enqueue(self, function: str, job: BaseModel, job_id: str, kind: str) -> None:
        """Enqueue the job and count the request, in one round trip."""
        pipe = self._connection.pipeline()
        self._interactive.enqueue_call(
            function,
            args=(job.model_dump(mode="json"),),
            job_id=job_id,
            timeout=self._timeout,
            retry=self._retry if self._retry.max else None,
            failure_ttl=FAILURE_TTL_S,
            result_ttl=RESULT_TTL_S,
            description=f"{kind} {job_id}",
            pipeline=pipe,
        )
        pipe.hincrby(keys.metrics(), f"slack_requests|{kind}", 1)
        pipe.execute()


__all__ = ["JobQueue"]
