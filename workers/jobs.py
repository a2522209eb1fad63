"""RQ job functions. Each takes a JSON payload, never a pickled object."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from chatops.payloads import AnswerJob
from workers import runtime
from workers.answer import AnswerRun


def answer(payload: dict[str, Any]) -> None:
    """Answer one Slack question in its thread (`workers.jobs.answer`)."""
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    AnswerRun(runtime.current(), AnswerJob.model_validate(payload), last_attempt=last_attempt).run()


__all__ = ["answer"]
