"""Triage of new Jira issues: a line for each in JIRA_TRIAGE_CHANNEL — what it is, how urgent
it looks, what is missing — written by the batch collector's queued path.

New issues arrive one webhook at a time, so this is the work the collector waits for:
1. The webhook (`integrations.jira.webhook_app`) enqueues a `TriageJob` per issue created in
   JIRA_PROJECTS, once per delivery.
2. `queue_issue` (the job) reads the issue — its secrets replaced (`integrations.jira.text`) —
   and adds one batchable `triage_item` (`prompts/triage_item.j2`) to its batch group: the
   first item of a quiet group schedules a flush in BATCH_MAX_WAIT_MS, a full group flushes at
   once (`workers.batch_collector`).
3. The flush packs up to BATCH_MAX_ITEMS issues into one call on Bedrock, or sends concurrent
   requests to the EC2 server (`gateway.dispatch`), each through the cost engine, and hands
   each line to `post_line` (the `triage_line` sink): one Slack message per issue, written
   once — a delivered item is never asked about again, and a retried delivery rewrites its
   message in place (`workers.reply_state`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError

from chatops import messages
from chatops.payloads import TriageJob
from gateway import keys
from gateway.batching import BatchItem
from gateway.dispatch import ItemResult
from gateway.errors import ChatOpsError
from gateway.redaction import redact
from gateway.tokens import CHARS_PER_TOKEN, estimate_tokens
from integrations.jira import JiraClient
from integrations.jira.text import IssueDocument, NoiseRules, issue_document
from workers import slack_refusals
from workers.batch_collector import BatchCollector
from workers.reply_state import ReplyState
from workers.runtime import Runtime, team_runtime
from workers.slack_reply import SlackReply
from workers.summary_reply import jira_client, scope_of

log = logging.getLogger(__name__)

TRIAGE_TASK = "triage_item"
TRIAGE_KIND = "triage_line"
# How much of a new issue one item carries: its header, description and first comments.
ITEM_TOKENS = 700
QUEUED_TTL_S = 86_400


def queue_issue(
    rt: Runtime, collector: BatchCollector, job: TriageJob, jira: JiraClient | None = None
) -> bool:
    """Read the issue and queue its item; False when a run of this job already queued it."""
    queued = keys.dedupe("triage-queued", job.request_id)
    if rt.queue_redis.exists(queued):
        return False
    issue = (jira or jira_client(rt.settings)).issue(job.key)
    document = issue_document(issue, NoiseRules.from_settings(rt.settings))
    collector.add(
        BatchItem(
            item_id=f"triage:{job.request_id}",
            task=TRIAGE_TASK,
            kind=TRIAGE_KIND,
            text=rt.prompts[TRIAGE_TASK].user(issue=item_text(document)),
            scope=scope_of(job.team_id, job.channel, ""),
            request_id=job.request_id,
            channel=job.channel,
            workspace=job.team_id,
            source="webhook",
            target={
                "key": issue.key,
                "url": issue.url,
                "title": redact(issue.summary).text,
                "issue_type": issue.issue_type,
                "priority": issue.priority,
                "enterprise_id": job.enterprise_id,
            },
        )
    )
    # After the add: a job killed in between queues the issue twice, and the sink still
    # writes one message for it.
    rt.queue_redis.set(queued, 1, ex=QUEUED_TTL_S)
    log.info("triage_queued request_id=%s key=%s", job.request_id, issue.key)
    return True


def item_text(document: IssueDocument) -> str:
    """The issue's header and its first entries (the description first) within ITEM_TOKENS;
    an entry too long for what is left is cut, so a long description still leads."""
    kept = [document.header]
    budget = ITEM_TOKENS - estimate_tokens(document.header)
    for section in document.sections:
        cost = estimate_tokens(section.text) + 1
        if cost > budget:
            if budget > 0:
                kept.append(section.text[: budget * CHARS_PER_TOKEN].rstrip() + " …")
            break
        budget -= cost
        kept.append(section.text)
    return "\n".join(kept)


def post_line(item: BatchItem, result: ItemResult) -> None:
    """The `triage_line` sink: the issue's line in its channel, once."""
    target = item.target
    rt = team_runtime(item.workspace, target.get("enterprise_id", ""), item.request_id)
    if rt is None:
        return
    try:
        post(rt, item.request_id, item.channel, item.workspace, line(target, result))
    except SlackApiError as exc:
        if not slack_refusals.is_permanent(exc):
            raise  # the flush fails and its items are delivered again later
        # Nobody can be told in a channel the bot cannot post in: the log says why.
        log.warning(
            "triage_line_refused item=%s channel=%s error=%s",
            item.item_id,
            item.channel,
            slack_refusals.error_code(exc),
        )


def line(target: Mapping[str, str], result: ItemResult) -> str:
    """The line for one issue: its key, type, priority and title, then the model's triage (or
    why there is none)."""
    fields = dict(target)
    if not result.ok or not result.text.strip():
        return messages.TRIAGE_FAILED.format(reason=result.error or "no answer", **fields)
    key = fields["key"]
    answer = result.text.strip().removeprefix(f"*{key}*").removeprefix(key)
    answer = answer.lstrip(" :—-*").strip()
    return messages.TRIAGE_LINE.format(answer=answer, **fields)


def post(rt: Runtime, request_id: str, channel: str, team: str, text: str) -> None:
    """One message at the top of the channel, written once per request (a retry rewrites it)."""
    state = ReplyState(rt.queue_redis, request_id)
    if state.done:
        return
    reply = SlackReply(
        rt.slack,
        state,
        channel=channel,
        thread_ts=lambda: "",
        recipient_user="",
        recipient_team=team,
        streaming=False,
    )
    reply.append(text)
    reply.finish("")
    state.mark_done()


def give_up(rt: Runtime, job: TriageJob, exc: BaseException) -> None:
    """The job failed for good (Jira unreadable): say so in the channel instead of the line."""
    reason = exc.public_message if isinstance(exc, ChatOpsError) else ""
    post(
        rt,
        job.request_id,
        job.channel,
        job.team_id,
        messages.TRIAGE_UNREAD.format(key=job.key, reason=reason).strip(),
    )


__all__ = [
    "TRIAGE_KIND",
    "TRIAGE_TASK",
    "give_up",
    "item_text",
    "line",
    "post",
    "post_line",
    "queue_issue",
]
