"""RQ job functions and their failure callbacks. Each job takes a JSON payload, never a
pickled object.

A job raises to be retried (RQ's `Retry`). Its failure callback runs after every failed
attempt and for a job whose worker died (RQ's abandoned jobs); once no retry is left it gives
up with one clear message in the thread.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from rq import Queue, get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer

from chatops.payloads import (
    GIVE_UP_ANSWER_FUNCTION,
    INTERACTIVE_QUEUE,
    AnswerJob,
    CostReportJob,
)
from workers import runtime
from workers.answer import AnswerRun
from workers.cost_report import CostReportRun
from workers.reply_state import REPLY_LEASE_S

# How many times a give-up waits out a reply's lease before it speaks anyway.
GIVE_UP_ATTEMPTS = 4

log = logging.getLogger(__name__)


def answer(payload: dict[str, Any]) -> None:
    """Answer one Slack question in its thread (`workers.jobs.answer`)."""
    AnswerRun(runtime.current(), AnswerJob.model_validate(payload)).run()


def cost_report(payload: dict[str, Any]) -> None:
    """Post the /llm-cost report and its chart (`workers.jobs.cost_report`)."""
    CostReportRun(runtime.current(), CostReportJob.model_validate(payload)).run()


def answer_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of answer jobs (`workers.jobs.answer_failed`)."""
    if _will_retry(job):
        return
    if not AnswerRun(runtime.current(), AnswerJob.model_validate(job.args[0])).give_up(exc):
        _give_up_later(job.origin, job.args[0], attempt=1)


def give_up_answer(payload: dict[str, Any], attempt: int) -> None:
    """Scheduled once a reply's lease should have lapsed (`workers.jobs.give_up_answer`)."""
    if AnswerRun(runtime.current(), AnswerJob.model_validate(payload)).give_up(None):
        return
    if attempt >= GIVE_UP_ATTEMPTS:
        log.warning("give_up_abandoned request_id=%s: the lease never lapsed", payload)
        return
    job = get_current_job()
    _give_up_later(job.origin if job else INTERACTIVE_QUEUE, payload, attempt + 1)


def _give_up_later(queue_name: str, payload: dict[str, Any], attempt: int) -> None:
    """RQ's scheduler runs it after a lease: by then a dead writer's lease has lapsed, and a
    live one has finished (or still holds it, and we ask again)."""
    queue = Queue(queue_name, connection=runtime.current().queue_redis, serializer=JSONSerializer)
    queue.enqueue_in(
        datetime.timedelta(seconds=REPLY_LEASE_S),
        GIVE_UP_ANSWER_FUNCTION,
        args=(payload, attempt),
    )


def cost_report_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of cost report jobs (`workers.jobs.cost_report_failed`)."""
    if _will_retry(job):
        return
    CostReportRun(runtime.current(), CostReportJob.model_validate(job.args[0])).give_up(exc)


def _will_retry(job: Job) -> bool:
    """RQ calls the callback before it decides: a job with retries left runs again."""
    retrying = bool(job.retries_left)
    log.info("job_failed job_id=%s retrying=%s", job.id, retrying)
    return retrying


__all__ = ["answer", "answer_failed", "cost_report", "cost_report_failed", "give_up_answer"]
