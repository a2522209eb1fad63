"""RQ job functions. Each takes a JSON payload, never a pickled object."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from chatops.payloads import AnswerJob, CostReportJob
from workers import runtime
from workers.answer import AnswerRun
from workers.cost_report import CostReportRun


def _is_last_attempt() -> bool:
    """True when RQ has no retry left for the running job: failures must be told now."""
    job = get_current_job()
    return job is None or not job.retries_left


def answer(payload: dict[str, Any]) -> None:
    """Answer one Slack question in its thread (`workers.jobs.answer`)."""
    job = AnswerJob.model_validate(payload)
    AnswerRun(runtime.current(), job, last_attempt=_is_last_attempt()).run()


def cost_report(payload: dict[str, Any]) -> None:
    """Post the /llm-cost report and its chart (`workers.jobs.cost_report`)."""
    job = CostReportJob.model_validate(payload)
    CostReportRun(runtime.current(), job, last_attempt=_is_last_attempt()).run()


__all__ = ["answer", "cost_report"]
