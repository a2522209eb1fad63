"""Enqueues jobs on RQ, once per Slack delivery, with their retry policy, timeout, failure
callback and an id from the request. Jobs are JSON (RQ's `JSONSerializer`), never pickles."""

from __future__ import annotations

import redis
from pydantic import BaseModel
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from bot.dedupe import Deduper, Identity
from chatops.payloads import (
    ANSWER_ACTION_FAILED_CALLBACK,
    ANSWER_ACTION_FUNCTION,
    ANSWER_FAILED_CALLBACK,
    ANSWER_FUNCTION,
    BULK_QUEUE,
    COST_REPORT_FAILED_CALLBACK,
    COST_REPORT_FUNCTION,
    DIGEST_COMMAND_FUNCTION,
    DIGEST_FAILED_CALLBACK,
    DIGEST_FUNCTION,
    EC2_COMMAND_FAILED_CALLBACK,
    EC2_COMMAND_FUNCTION,
    INTERACTIVE_QUEUE,
    SUMMARIZE_FAILED_CALLBACK,
    SUMMARIZE_FUNCTION,
    TRIAGE_FAILED_CALLBACK,
    TRIAGE_FUNCTION,
    AnswerActionJob,
    AnswerJob,
    CostReportJob,
    DigestCommandJob,
    DigestJob,
    Ec2CommandJob,
    SummarizeJob,
    TriageJob,
)
from chatops.settings import Settings
from gateway import keys

FAILURE_TTL_S = 3600
RESULT_TTL_S = 300
RETRY_INTERVALS_S = [1, 5]


class JobQueue:
    def __init__(self, connection: redis.Redis, settings: Settings) -> None:
        self._connection = connection
        self._dedupe = Deduper(connection)
        self._interactive = Queue(
            INTERACTIVE_QUEUE, connection=connection, serializer=JSONSerializer
        )
        # Jira summaries and digests: many model calls each, on their own worker pool.
        self._bulk = Queue(BULK_QUEUE, connection=connection, serializer=JSONSerializer)
        # RQ refuses Retry(max=0): no retries is no Retry at all.
        self._retry = (
            Retry(max=settings.job_retries, interval=RETRY_INTERVALS_S)
            if settings.job_retries
            else None
        )
        self._timeout = settings.job_timeout_s

    def enqueue_answer(self, job: AnswerJob, once: tuple[Identity, ...] = ()) -> bool:
        """Enqueue unless another delivery with one of the `once` identities got there first;
        False for such a duplicate. Raises `redis.RedisError` when the queue cannot take it."""
        return self._enqueue(
            ANSWER_FUNCTION, ANSWER_FAILED_CALLBACK, job, job.job_id, job.kind, once
        )

    def enqueue_answer_action(self, job: AnswerActionJob, once: tuple[Identity, ...] = ()) -> bool:
        """A button pressed under an answer; False for a duplicate delivery (`once`)."""
        return self._enqueue(
            ANSWER_ACTION_FUNCTION,
            ANSWER_ACTION_FAILED_CALLBACK,
            job,
            job.job_id,
            f"answer_{job.action}",
            once,
        )

    def enqueue_cost_report(self, job: CostReportJob, once: tuple[Identity, ...] = ()) -> bool:
        return self._enqueue(
            COST_REPORT_FUNCTION, COST_REPORT_FAILED_CALLBACK, job, job.job_id, "llm_cost", once
        )

    def enqueue_ec2_command(self, job: Ec2CommandJob, once: tuple[Identity, ...] = ()) -> bool:
        return self._enqueue(
            EC2_COMMAND_FUNCTION, EC2_COMMAND_FAILED_CALLBACK, job, job.job_id, "llm_ec2", once
        )

    def enqueue_summary(self, job: SummarizeJob, once: tuple[Identity, ...] = ()) -> bool:
        """A Jira summary on the bulk queue; False for a duplicate delivery (`once`)."""
        return self._enqueue(
            SUMMARIZE_FUNCTION,
            SUMMARIZE_FAILED_CALLBACK,
            job,
            job.job_id,
            f"summarize_{job.source}",
            once,
            bulk=True,
        )

    def enqueue_triage(self, job: TriageJob, once: tuple[Identity, ...] = ()) -> bool:
        """A new Jira issue's triage line on the bulk queue; False for a duplicate delivery."""
        return self._enqueue(
            TRIAGE_FUNCTION, TRIAGE_FAILED_CALLBACK, job, job.job_id, "triage", once, bulk=True
        )

    def enqueue_digest(self, job: DigestJob, once: tuple[Identity, ...] = ()) -> bool:
        return self._enqueue(
            DIGEST_FUNCTION, DIGEST_FAILED_CALLBACK, job, job.job_id, "digest", once, bulk=True
        )

    def enqueue_digest_command(
        self, job: DigestCommandJob, once: tuple[Identity, ...] = ()
    ) -> bool:
        return self._enqueue(
            DIGEST_COMMAND_FUNCTION,
            DIGEST_FAILED_CALLBACK,
            job,
            job.job_id,
            "digest_command",
            once,
            bulk=True,
        )

    def drop_team_jobs(self, teams: frozenset[str], enterprise_id: str | None = None) -> int:
        """Delete the queued and scheduled jobs of these workspaces (and, with `enterprise_id`,
        of every workspace of that org): the app was uninstalled there. A job already running
        finds no installation and stops by itself. How many were dropped."""
        dropped = 0
        for queue in (self._interactive, self._bulk):
            ids = queue.get_job_ids() + queue.scheduled_job_registry.get_job_ids()
            fetched = Job.fetch_many(ids, connection=self._connection, serializer=JSONSerializer)
            for job in fetched:
                if job is not None and _belongs_to(job, teams, enterprise_id):
                    job.delete()
                    dropped += 1
        return dropped

    def _enqueue(
        self,
        function: str,
        on_failure: str,
        job: BaseModel,
        job_id: str,
        kind: str,
        once: tuple[Identity, ...],
        *,
        bulk: bool = False,
    ) -> bool:
        """Claim, then enqueue the job, keep the claim and count the request in one
        transaction; release the claim if that fails."""
        if once and not self._dedupe.claim(*once):
            return False
        try:
            pipe = self._connection.pipeline()
            (self._bulk if bulk else self._interactive).enqueue_call(
                function,
                args=(job.model_dump(mode="json"),),
                job_id=job_id,
                timeout=self._timeout,
                retry=self._retry,
                failure_ttl=FAILURE_TTL_S,
                result_ttl=RESULT_TTL_S,
                description=f"{kind} {job_id}",
                on_failure=Callback(on_failure),
                pipeline=pipe,
            )
            self._dedupe.keep(pipe, *once)
            pipe.hincrby(keys.metrics(), f"slack_requests|{kind}", 1)
            pipe.execute()
        except redis.RedisError:
            if once:
                self._dedupe.release(*once)
            raise
        return True


def _belongs_to(job: Job, teams: frozenset[str], enterprise_id: str | None) -> bool:
    """Whether a job's payload (or a scheduled digest's schedule) is for one of `teams`."""
    payload = job.args[0] if job.args and isinstance(job.args[0], dict) else {}
    team = payload.get("team_id") or (payload.get("schedule") or {}).get("team_id")
    return team in teams or bool(enterprise_id and payload.get("enterprise_id") == enterprise_id)


__all__ = ["JobQueue"]
