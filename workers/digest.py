"""A Jira digest: the issues a JQL query finds, one line each — status, what changed, who is
waiting on whom — in one Slack message.

Each issue is one batchable `digest_item` (`prompts/digest_item.j2`): its header and what
changed in the period, from the issue's own history. The items are known together, so they
go straight to the batch collector's `answer_now` — packed into one call per BATCH_MAX_ITEMS
on Bedrock, concurrent requests on the EC2 server (`gateway.dispatch`), never two privacy
scopes in one call — and each answer is kept under its item id, so a retried job asks only
about issues still unanswered. Every call goes through the cost engine and lands in the
ledger under the digest's request id.

`/summarize project=…` and `/summarize jql "…"` post a root message and the digest in its
thread; a daily digest (`workers.digest_schedule`) posts it at the top of its channel;
`chatops jira digest` prints it.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass

import redis

from chatops import messages
from chatops.payloads import DigestJob
from gateway.batching import BatchItem
from gateway.dispatch import ItemResult
from gateway.errors import UserFacingError
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import EC2_BACKEND
from gateway.tokens import estimate_tokens
from integrations.jira import JiraClient
from integrations.jira.errors import JiraUnavailableError
from integrations.jira.text import IssueDocument, NoiseRules, issue_document
from integrations.jira.types import Issue
from workers import triage
from workers.batch_collector import BatchCollector, build_collector
from workers.reply_state import ReplyState
from workers.runtime import Runtime
from workers.slack_reply import SlackReply
from workers.summary_reply import jira_client, owned, said, scope_of

log = logging.getLogger(__name__)

DIGEST_TASK = "digest_item"
# Lines one digest shows; a query that finds more says how many it left out.
MAX_ISSUES = 20
# How much of an issue's recent history one item carries (its newest entries first kept).
ITEM_TOKENS = 900
_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d)")


@dataclass(frozen=True)
class Digest:
    text: str
    footer: str
    issues: int


def collector_for(rt: Runtime) -> BatchCollector:
    """The batch collector a worker (or the CLI) runs batchable work through: a digest's
    items answered at once, new issues' triage lines queued (`workers.triage`)."""
    return build_collector(
        rt.queue_redis,
        rt.settings,
        complete=rt.engine.complete,
        prompts={task: p.batch_prompt() for task, p in rt.prompts.items() if p.batchable},
        sinks={triage.TRIAGE_KIND: triage.post_line},
        tiers=rt.engine.gateway.tiers,
    )


def build_digest(
    rt: Runtime, collector: BatchCollector, job: DigestJob, jira: JiraClient | None = None
) -> Digest:
    """Search, read each issue, answer every item (kept across retries), and write it up."""
    jira = jira or jira_client(rt.settings)
    started = time.time()
    keys, total = jira.search(job.jql, limit=MAX_ISSUES)
    if not keys:
        return Digest(messages.DIGEST_EMPTY.format(jql=job.jql), "", 0)
    since = datetime.datetime.fromtimestamp(job.received_at - job.since_s, datetime.UTC)
    noise = NoiseRules.from_settings(rt.settings)
    issues = [jira.issue(key) for key in keys]
    prompt = rt.prompts[DIGEST_TASK]
    scope = scope_of(job.team_id, job.channel, job.user) or "cli"
    items = [
        BatchItem(
            item_id=f"{job.request_id}:{issue.key}",
            task=DIGEST_TASK,
            kind="digest_line",
            text=prompt.user(issue=item_text(issue_document(issue, noise), since)),
            scope=scope,
            request_id=job.request_id,
            user=job.user,
            channel=job.channel,
            workspace=job.team_id,
            source={"schedule": "jira"}.get(job.source, job.source),
        )
        for issue in issues
    ]
    results = collector.answer_now(items, job.request_id)
    lines = [_line(issue, results[item.item_id]) for issue, item in zip(issues, items, strict=True)]
    heading = messages.DIGEST_HEADING.format(jql=job.jql, count=total)
    more = [messages.DIGEST_MORE.format(more=total - len(keys))] if total > len(keys) else []
    rows = _rows(rt.engine.ledger, job.request_id, started)
    return Digest("\n".join([heading, *lines, *more]), footer(rows, len(issues)), len(issues))


def item_text(document: IssueDocument, since: datetime.datetime) -> str:
    """The issue's header and its entries since `since` — the newest that fit ITEM_TOKENS —
    or, when nothing changed, its latest two entries."""
    recent = [s.text for s in document.sections if _at(s.text) >= since]
    label = f"Changed since {since:%Y-%m-%d %H:%M} UTC:"
    if not recent:
        recent = [s.text for s in document.sections[-2:]]
        label = f"Nothing changed since {since:%Y-%m-%d %H:%M} UTC; the latest entries:"
    kept: list[str] = []
    budget = ITEM_TOKENS - estimate_tokens(document.header)
    for text in reversed(recent):
        budget -= estimate_tokens(text) + 1
        if budget < 0 and kept:
            break
        kept.insert(0, text)
    return "\n".join([document.header, label, *kept])


def footer(rows: list[LedgerRecord], issues: int) -> str:
    """Every call of the digest together, as an answer's footer reads."""
    costs = [row.cost_micro_usd for row in rows]
    if any(row.backend == EC2_BACKEND for row in rows):
        cost = messages.COST_SELF_HOSTED
    elif any(c is None for c in costs):
        cost = messages.COST_UNPRICED
    else:
        cost = messages.usd(sum(c for c in costs if c is not None))
    models = Counter(row.model for row in rows if row.model)
    text = messages.FOOTER.format(
        model=models.most_common(1)[0][0] if models else "no model call",
        input_tokens=sum(row.total_input_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        cost=cost,
    )
    return f"{text[:-1]} · {issues} issue(s) in {len(rows)} call(s)_"


class DigestRun:
    """A digest job: the digest posted where its request came from, exactly once."""

    def __init__(self, rt: Runtime, job: DigestJob, collector: BatchCollector) -> None:
        self.rt = rt
        self.job = job
        self.collector = collector
        self.state = ReplyState(rt.queue_redis, job.request_id)

    def run(self) -> None:
        if self.state.done:
            return
        with owned(self.rt, self.job.request_id, self.state) as mine:
            if mine:
                self._owned()

    def _owned(self) -> None:
        if self.state.answer is not None:
            text, note = self.state.answer
        else:
            try:
                digest = build_digest(self.rt, self.collector, self.job)
                text, note = digest.text, digest.footer
            except (UserFacingError, JiraUnavailableError) as exc:
                text, note = said(exc), ""
            self.state.keep_answer(text, note)
        reply = SlackReply(
            self.rt.slack,
            self.state,
            channel=self.job.channel,
            thread_ts=self._thread_ts,
            recipient_user=self.job.user,
            recipient_team=self.job.team_id,
            streaming=False,
        )
        reply.append(text)
        reply.finish(note)
        self.state.mark_done()

    def _thread_ts(self) -> str:
        """A /summarize digest answers in a thread under its root; a daily one is its own
        message at the top of the channel (no thread)."""
        if self.job.source == "schedule":
            return ""
        if self.state.root_ts:
            return self.state.root_ts
        text = messages.DIGEST_ROOT.format(user=self.job.user, jql=self.job.jql)
        ts = str(self.rt.slack.chat_postMessage(channel=self.job.channel, text=text)["ts"])
        self.state.set_root(ts)
        return ts


def _line(issue: Issue, result: ItemResult) -> str:
    if not result.ok or not result.text:
        return messages.DIGEST_LINE_FAILED.format(key=issue.key, reason=result.error)
    answer = result.text.strip().removeprefix(issue.key).removeprefix(f"*{issue.key}*")
    return f"• <{issue.url}|{issue.key}> {answer.lstrip(' :—-*').strip()}"


def _at(text: str) -> datetime.datetime:
    found = _STAMP.match(text)
    if not found:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)
    parsed = datetime.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M")
    return parsed.replace(tzinfo=datetime.UTC)


def _rows(ledger: Ledger, request_id: str, since: float) -> list[LedgerRecord]:
    """The digest's calls: its singles carry its request id, its packed calls the batch ids
    made from it (`{request_id}-{group}-{start}`)."""
    try:
        rows = ledger.records(since - 1, time.time() + 1)
    except redis.RedisError:
        return []
    return [
        row
        for row in rows
        if row.request_id == request_id or row.request_id.startswith(f"{request_id}-")
    ]


__all__ = ["Digest", "DigestRun", "build_digest", "collector_for", "footer", "item_text"]
