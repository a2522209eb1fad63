"""RQ job functions and their failure callbacks. Each job takes a JSON payload, never a
pickled object.

A job raises to be retried (RQ's `Retry`). Its failure callback runs after every failed
attempt and for a job whose worker died (RQ's abandoned jobs); once no retry is left it gives
up with one clear message in the thread.

Each job runs with its workspace's Slack clients (`Runtime.for_team`). A job for a workspace
that uninstalled the app is dropped with one log line — never raised, so never retried.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

from rq import Queue, get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer

from chatops import messages
from chatops.payloads import (
    GIVE_UP_ANSWER_FUNCTION,
    INTERACTIVE_QUEUE,
    AnswerActionJob,
    AnswerJob,
    CostReportJob,
    DigestCommandJob,
    DigestJob,
    SummarizeJob,
    TriageJob,
)
from workers import answer_actions, batch_collector, digest_schedule, runtime
from workers import summarize as summaries
from workers import triage as triages
from workers.answer import AnswerRun
from workers.cost_report import CostReportRun
from workers.digest import DigestRun
from workers.reply_state import REPLY_LEASE_S
from workers.runtime import team_runtime
from workers.secrets_note import tell_secrets_removed

# How many times a give-up waits out a reply's lease before it speaks anyway.
GIVE_UP_ATTEMPTS = 4

log = logging.getLogger(__name__)


def answer(payload: dict[str, Any]) -> None:
    """Answer one Slack question in its thread (`workers.jobs.answer`)."""
    job = AnswerJob.model_validate(payload)
    rt = team_runtime(job.team_id, job.enterprise_id, job.request_id)
    if rt is None:
        return
    tell_secrets_removed(rt, job)
    if summaries.answered_by_summary(rt, job):
        return
    AnswerRun(rt, job).run()


def answer_action(payload: dict[str, Any]) -> None:
    """A button pressed under an answer (`workers.jobs.answer_action`)."""
    click = AnswerActionJob.model_validate(payload)
    rt = team_runtime(click.team_id, click.enterprise_id, click.request_id)
    if rt is not None:
        answer_actions.run(rt, click)


def answer_action_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of button jobs: a re-answer gives up like an answer; a
    *Not helpful* that could not be recorded is told to the person who pressed it."""
    if _will_retry(job):
        return
    click = AnswerActionJob.model_validate(job.args[0])
    rt = team_runtime(click.team_id, click.enterprise_id, click.request_id)
    if rt is None:
        return
    again = answer_actions.redo_run(rt, click)
    if again is None:
        answer_actions.tell(rt, click, _failed_text(exc))
    elif not again.give_up(exc):
        _give_up_later(job.origin, again.job.model_dump(mode="json"), attempt=1)


def cost_report(payload: dict[str, Any]) -> None:
    """Post the /llm-cost report and its chart (`workers.jobs.cost_report`)."""
    report = CostReportJob.model_validate(payload)
    rt = team_runtime(report.team_id, report.enterprise_id, report.request_id)
    if rt is not None:
        CostReportRun(rt, report).run()


def answer_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of answer jobs (`workers.jobs.answer_failed`)."""
    if _will_retry(job):
        return
    asked = AnswerJob.model_validate(job.args[0])
    rt = team_runtime(asked.team_id, asked.enterprise_id, asked.request_id)
    if rt is not None and not AnswerRun(rt, asked).give_up(exc):
        _give_up_later(job.origin, job.args[0], attempt=1)


def give_up_answer(payload: dict[str, Any], attempt: int) -> None:
    """Scheduled once a reply's lease should have lapsed (`workers.jobs.give_up_answer`)."""
    asked = AnswerJob.model_validate(payload)
    rt = team_runtime(asked.team_id, asked.enterprise_id, asked.request_id)
    if rt is None or AnswerRun(rt, asked).give_up(None):
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
    report = CostReportJob.model_validate(job.args[0])
    rt = team_runtime(report.team_id, report.enterprise_id, report.request_id)
    if rt is not None:
        CostReportRun(rt, report).give_up(exc)


def _will_retry(job: Job) -> bool:
    """RQ calls the callback before it decides: a job with retries left runs again."""
    retrying = bool(job.retries_left)
    log.info("job_failed job_id=%s retrying=%s", job.id, retrying)
    return retrying


def summarize(payload: dict[str, Any]) -> None:
    """A Jira issue's summary, into Slack and/or Jira (`workers.jobs.summarize`)."""
    summary = SummarizeJob.model_validate(payload)
    rt = team_runtime(summary.team_id, summary.enterprise_id, summary.request_id)
    if rt is not None:
        summaries.SummaryRun(rt, summary).run()


def summarize_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of summary jobs: one clear message once none is left."""
    if _will_retry(job):
        return
    summary = SummarizeJob.model_validate(job.args[0])
    rt = team_runtime(summary.team_id, summary.enterprise_id, summary.request_id)
    if rt is not None and not summaries.give_up(rt, summary, exc):
        payload = summaries.as_answer_job(summary).model_dump(mode="json")
        _give_up_later(job.origin, payload, attempt=1)


def digest(payload: dict[str, Any]) -> None:
    """A Jira digest, a line per issue (`workers.jobs.digest`)."""
    asked = DigestJob.model_validate(payload)
    rt = team_runtime(asked.team_id, asked.enterprise_id, asked.request_id)
    if rt is not None:
        DigestRun(rt, asked, batch_collector.installed()).run()


def digest_command(payload: dict[str, Any]) -> None:
    """`/digest add|list|remove`, answered privately (`workers.jobs.digest_command`)."""
    command = DigestCommandJob.model_validate(payload)
    rt = team_runtime(command.team_id, command.enterprise_id, command.request_id)
    if rt is None:
        return
    digest_schedule.tell(rt, command, digest_schedule.run_command(rt, command))


def scheduled_digest(payload: dict[str, Any]) -> None:
    """One occurrence of a daily digest, put on the queue by RQ's scheduler."""
    team = str((payload.get("schedule") or {}).get("team_id") or "")
    rt = team_runtime(team, request_id=f"digest-{(payload.get('schedule') or {}).get('id')}")
    if rt is not None:
        digest_schedule.fire(rt, batch_collector.installed(), payload)


def triage(payload: dict[str, Any]) -> None:
    """A new Jira issue queued for its triage line (`workers.jobs.triage`)."""
    asked = TriageJob.model_validate(payload)
    rt = team_runtime(asked.team_id, asked.enterprise_id, asked.request_id)
    if rt is not None:
        triages.queue_issue(rt, batch_collector.installed(), asked)


def triage_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of triage jobs: the channel is told the issue went unread."""
    if _will_retry(job):
        return
    asked = TriageJob.model_validate(job.args[0])
    rt = team_runtime(asked.team_id, asked.enterprise_id, asked.request_id)
    if rt is not None:
        triages.give_up(rt, asked, exc)


def digest_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of digest and `/digest` jobs: one clear message at the end."""
    if _will_retry(job):
        return
    payload = job.args[0]
    rt = team_runtime(
        payload.get("team_id") or "", payload.get("enterprise_id") or "", payload["request_id"]
    )
    if rt is None:
        return
    if "verb" in payload:
        command = DigestCommandJob.model_validate(payload)
        digest_schedule.tell(rt, command, _failed_text(exc))
        return
    asked = DigestJob.model_validate(payload)
    answer_job = AnswerJob(
        request_id=asked.request_id,
        kind="ask",
        team_id=asked.team_id,
        enterprise_id=asked.enterprise_id,
        channel=asked.channel,
        user=asked.user,
        text=f'/summarize jql "{asked.jql}"',
        received_at=asked.received_at,
        response_url=asked.response_url,
    )
    if not AnswerRun(rt, answer_job).give_up(exc):
        _give_up_later(job.origin, answer_job.model_dump(mode="json"), attempt=1)


def _failed_text(exc: Any) -> str:
    reason = getattr(exc, "public_message", None) or messages.UNEXPECTED
    return messages.JOB_FAILED.format(reason=reason, error_id=job_error_id())


def job_error_id() -> str:
    return uuid.uuid4().hex[:8]


__all__ = [
    "answer",
    "answer_action",
    "answer_action_failed",
    "answer_failed",
    "cost_report",
    "cost_report_failed",
    "digest",
    "digest_command",
    "digest_failed",
    "give_up_answer",
    "scheduled_digest",
    "summarize",
    "summarize_failed",
    "team_runtime",
]
