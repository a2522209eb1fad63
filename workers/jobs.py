"""RQ job functions and their failure callbacks. Each job takes a JSON payload, never a
pickled object.

A job raises to be retried (RQ's `Retry`). Its failure callback runs after every failed
attempt and for a job whose worker died (RQ's abandoned jobs); once no retry is left it gives
up with one clear message in the thread.
"""

from __future__ import annotations

import logging
from typing import Any

from rq.job import Job

from chatops.payloads import AnswerJob, CostReportJob
from workers import runtime
from workers.answer import AnswerRun
from workers.cost_report import CostReportRun

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
    AnswerRun(runtime.current(), AnswerJob.model_validate(job.args[0])).give_up(exc)


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


__all__ = ["answer", "answer_failed", "cost_report", "cost_report_failed"]
