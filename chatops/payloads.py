"""The job payloads the bot enqueues and the worker runs: plain JSON (RQ's `JSONSerializer`),
never a pickled object — a test checks that a pickled job is refused."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["ask", "mention", "dm"]

# RQ queues, one worker pool each (crash-safe dequeue needs a worker on exactly one queue).
INTERACTIVE_QUEUE = "interactive"
BULK_QUEUE = "bulk"
QUEUE_NAMES = (INTERACTIVE_QUEUE, BULK_QUEUE)

# Job functions, named by import path: the bot never imports worker code.
ANSWER_FUNCTION = "workers.jobs.answer"
COST_REPORT_FUNCTION = "workers.jobs.cost_report"
# Flushes one batch group (`workers.batch_collector`); scheduled on the bulk queue.
BATCH_FLUSH_FUNCTION = "workers.batch_collector.flush_job"
# Their failure callbacks (RQ `Callback(on_failure=…)`): one clear message once none is left.
ANSWER_FAILED_CALLBACK = "workers.jobs.answer_failed"
COST_REPORT_FAILED_CALLBACK = "workers.jobs.cost_report_failed"
# `/llm-ec2`: the instance controller's status, start and stop, and its failure callback.
EC2_COMMAND_FUNCTION = "workers.ec2_command.ec2_command"
EC2_COMMAND_FAILED_CALLBACK = "workers.ec2_command.ec2_command_failed"
# Scheduled when a failed answer's reply is still leased by a worker that may be alive.
GIVE_UP_ANSWER_FUNCTION = "workers.jobs.give_up_answer"
# Jira summaries (`/summarize KEY`, a summary asked for in a mention or DM, a *Post to Jira*
# button, a Jira webhook) and digests (`/summarize project=…`, `/digest`, a daily schedule).
SUMMARIZE_FUNCTION = "workers.jobs.summarize"
SUMMARIZE_FAILED_CALLBACK = "workers.jobs.summarize_failed"
DIGEST_FUNCTION = "workers.jobs.digest"
DIGEST_FAILED_CALLBACK = "workers.jobs.digest_failed"
TRIAGE_FUNCTION = "workers.jobs.triage"
TRIAGE_FAILED_CALLBACK = "workers.jobs.triage_failed"
DIGEST_COMMAND_FUNCTION = "workers.jobs.digest_command"
SCHEDULED_DIGEST_FUNCTION = "workers.jobs.scheduled_digest"
# The Block Kit action id of the *Post to Jira* button under a summary.
POST_SUMMARY_ACTION = "post_summary"
# The buttons under an answer (`workers.answer_buttons`), by action id: *Not helpful* (the
# thread's next answer goes one tier up), *Answer again with the large model* and *Answer
# fresh* (re-answered in place, the cache bypassed). The worker job that handles a click, and
# its failure callback.
ANSWER_ACTIONS = {
    "answer_not_helpful": "not_helpful",
    "answer_again_large": "again_large",
    "answer_fresh": "fresh",
}
ANSWER_ACTION_FUNCTION = "workers.jobs.answer_action"
ANSWER_ACTION_FAILED_CALLBACK = "workers.jobs.answer_action_failed"

# Which prompt template answers each kind of request.
TASK_BY_KIND: dict[str, str] = {"ask": "ask", "mention": "thread", "dm": "dm"}


def rq_job_id(kind: str, request_id: str) -> str:
    """RQ job ids allow only letters, digits, `_` and `-` (a Slack ts has a dot)."""
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_-]", "_", request_id)


# Slack attaches at most 10 files to one message.
MAX_FILES = 10


class FileRef(BaseModel):
    """A file attached to the message being answered, as its event named it: the worker reads
    it (`workers.attachments`); the listener makes no Slack call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str = ""


class AnswerJob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    kind: Kind
    team_id: str
    # The Enterprise Grid org, when the workspace is in one: with `team_id`, which
    # installation's token the worker uses.
    enterprise_id: str = ""
    channel: str
    user: str
    text: str
    # The thread to answer in; None for /ask, whose root message the worker posts.
    thread_ts: str | None = None
    # The message being answered (events only): thread history stops before it.
    message_ts: str | None = None
    received_at: float
    # /ask only: where to tell the person privately if the thread cannot be started.
    response_url: str | None = None
    # Secrets the edge replaced by placeholders in `text` (`gateway.redaction`): the ledger
    # counts them (`LLMRequest.redactions`); the text itself never holds one.
    redactions: int = 0
    # Text files and snippets attached to the message (events only; `/ask` carries none).
    files: tuple[FileRef, ...] = ()

    @property
    def task(self) -> str:
        return TASK_BY_KIND[self.kind]

    @property
    def job_id(self) -> str:
        return rq_job_id("answer", self.request_id)


AnswerAction = Literal["not_helpful", "again_large", "fresh"]


class AnswerActionJob(BaseModel):
    """A button pressed under an answer: what to do, to which answer, and who pressed it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    action: AnswerAction
    # The request whose answer carried the button (its reply state holds what it was asked).
    answered: str
    team_id: str
    enterprise_id: str = ""
    channel: str
    user: str
    # The message the button was on, and its thread.
    message_ts: str
    thread_ts: str | None = None
    received_at: float
    response_url: str | None = None

    @property
    def job_id(self) -> str:
        return rq_job_id("action", self.request_id)


class CostReportJob(BaseModel):
    """`/llm-cost [today|7d|30d] [@user|#channel]`, as the worker needs it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    team_id: str
    enterprise_id: str = ""
    channel: str
    user: str
    period: str
    only_user: str | None = None
    only_channel: str | None = None
    received_at: float
    response_url: str | None = None
    # Posted in the channel for everyone (`/llm-cost 7d share`); else sent to the person alone.
    share: bool = False

    @property
    def job_id(self) -> str:
        return rq_job_id("cost", self.request_id)


class Ec2CommandJob(BaseModel):
    """`/llm-ec2 [status|start|stop] [instance-id]`, as the worker needs it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    team_id: str
    enterprise_id: str = ""
    channel: str
    user: str
    verb: Literal["status", "start", "stop"]
    instance_id: str | None = None
    received_at: float
    response_url: str | None = None

    @property
    def job_id(self) -> str:
        return rq_job_id("ec2", self.request_id)


SummarySource = Literal["slash", "mention", "dm", "button", "webhook"]


class SummarizeJob(BaseModel):
    """A Jira issue's summary: streamed into a Slack thread, and with `post` kept as the
    issue's one summary comment. A webhook's job has no channel: it only writes the comment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    source: SummarySource
    key: str
    post: bool = False
    team_id: str = ""
    enterprise_id: str = ""
    channel: str = ""
    user: str = ""
    # The thread to answer in (mentions, DMs, the button's thread); None: post a root first.
    thread_ts: str | None = None
    message_ts: str | None = None
    # A question about the issue, answered with its summary as context (mentions and DMs).
    question: str = ""
    # The button's own message, rewritten with the outcome of the post.
    notice_ts: str | None = None
    received_at: float
    response_url: str | None = None

    @property
    def job_id(self) -> str:
        return rq_job_id("summarize", self.request_id)


class DigestJob(BaseModel):
    """One digest of the issues `jql` finds: a line per issue, posted in `channel`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    source: Literal["slash", "schedule", "cli"]
    jql: str
    # "What changed" looks this far back.
    since_s: int = 86_400
    team_id: str = ""
    enterprise_id: str = ""
    channel: str = ""
    user: str = ""
    # The daily digest that fired (`workers.digest_schedule`), if any.
    schedule_id: str | None = None
    received_at: float
    response_url: str | None = None

    @property
    def job_id(self) -> str:
        return rq_job_id("digest", self.request_id)


class TriageJob(BaseModel):
    """A new Jira issue to triage: a line about it in `channel` (JIRA_TRIAGE_CHANNEL), written
    in a batch with the other new issues (`workers.triage`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    key: str
    team_id: str = ""
    enterprise_id: str = ""
    channel: str
    received_at: float

    @property
    def job_id(self) -> str:
        return rq_job_id("triage", self.request_id)


class DigestCommandJob(BaseModel):
    """`/digest add "JQL" HH:MM`, `/digest list`, `/digest remove N` for a channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    verb: Literal["add", "list", "remove"]
    team_id: str
    enterprise_id: str = ""
    channel: str
    user: str
    jql: str = ""
    at: str = ""
    number: int = 0
    received_at: float
    response_url: str | None = None

    @property
    def job_id(self) -> str:
        return rq_job_id("digestcmd", self.request_id)


__all__ = [
    "ANSWER_ACTIONS",
    "ANSWER_ACTION_FAILED_CALLBACK",
    "ANSWER_ACTION_FUNCTION",
    "ANSWER_FAILED_CALLBACK",
    "ANSWER_FUNCTION",
    "BATCH_FLUSH_FUNCTION",
    "BULK_QUEUE",
    "COST_REPORT_FAILED_CALLBACK",
    "COST_REPORT_FUNCTION",
    "DIGEST_COMMAND_FUNCTION",
    "DIGEST_FAILED_CALLBACK",
    "DIGEST_FUNCTION",
    "EC2_COMMAND_FAILED_CALLBACK",
    "EC2_COMMAND_FUNCTION",
    "GIVE_UP_ANSWER_FUNCTION",
    "INTERACTIVE_QUEUE",
    "MAX_FILES",
    "POST_SUMMARY_ACTION",
    "QUEUE_NAMES",
    "SCHEDULED_DIGEST_FUNCTION",
    "SUMMARIZE_FAILED_CALLBACK",
    "SUMMARIZE_FUNCTION",
    "TASK_BY_KIND",
    "TRIAGE_FAILED_CALLBACK",
    "TRIAGE_FUNCTION",
    "AnswerAction",
    "AnswerActionJob",
    "AnswerJob",
    "CostReportJob",
    "DigestCommandJob",
    "DigestJob",
    "Ec2CommandJob",
    "FileRef",
    "Kind",
    "SummarizeJob",
    "SummarySource",
    "TriageJob",
]
