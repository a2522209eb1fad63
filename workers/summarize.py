"""A Jira issue's summary, end to end: Jira → windowed summary through the cost engine →
Slack thread (streamed) and/or the issue's one summary comment.

Where a job comes from decides where the summary goes:
- `/summarize KEY [--post]`: a root message, the summary streamed into its thread; with
  `--post` it is also written to the issue, else a *Post to Jira* button is offered under it.
- a mention or DM that asks for a summary (`integrations.jira.intent`): streamed into its
  thread; one that asks something else about the issue is answered with the issue's summary
  and latest comments as context.
- the button: the summary shown (from the cache: no model call while the issue is unchanged)
  is written to the issue, and the button's message says so.
- a Jira webhook: the comment only, and only when the issue changed since the last one.

No model call when nothing changed: the final summary is cached by the document's content
hash, and the issue's summary comment names the hash it was made from (its marker), so an
unchanged issue is answered from either. A re-summary after new comments maps only the
windows that changed (`gateway.windowing`). One comment per issue: writes to an issue are
serialized by a lease per issue key, and `upsert_summary` updates the marked comment in place.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.payloads import POST_SUMMARY_ACTION, AnswerJob, Kind, SummarizeJob
from gateway import keys
from gateway.errors import UserFacingError
from integrations.jira.comments import comment_visibility, find_summary, upsert_summary
from integrations.jira.errors import JiraUnavailableError
from integrations.jira.intent import read_intent
from integrations.jira.marker import find_marker
from integrations.jira.text import IssueDocument, NoiseRules, body_to_text, issue_document
from integrations.jira.types import Issue
from workers import slack_refusals
from workers.answer import AnswerRun, ReplyBusyError
from workers.channel_rules import rules_for
from workers.reply_state import Lease, ReplyLease, ReplyState
from workers.runtime import Runtime
from workers.slack_reply import SlackReply
from workers.summarizer import Caller, Summary
from workers.summary_reply import jira_client, owned, said, scope_of, summarizer_for
from workers.thread_summary import ThreadSummaryRun

log = logging.getLogger(__name__)

# The latest comments a question about an issue sees besides its summary.
LATEST_SECTIONS = 3
# How long a write to an issue waits for another worker writing to the same issue.
COMMENT_LEASE_WAIT_S = 30.0


class SummaryRun:
    def __init__(self, rt: Runtime, job: SummarizeJob) -> None:
        self.rt = rt
        self.job = job
        self.state = ReplyState(rt.queue_redis, job.request_id)
        self.jira = jira_client(rt.settings)
        self.summarizer = summarizer_for(rt)

    def run(self) -> None:
        if self.state.done:
            log.info("already_summarized request_id=%s", self.job.request_id)
            return
        with owned(self.rt, self.job.request_id, self.state) as mine:
            if not mine:
                return
            if self.job.source == "webhook":
                self._for_webhook()
            elif self.job.source == "button":
                self._for_button()
            else:
                self._in_slack()

    # -- Slack ---------------------------------------------------------------------------

    def _in_slack(self) -> None:
        try:
            reply = self._reply()
            try:
                self._write(reply)
            except (UserFacingError, JiraUnavailableError) as exc:
                log.info("summary_refused request_id=%s reason=%s", self.job.request_id, exc)
                reply.show_error(said(exc))
                self.state.mark_done()
        except SlackApiError as exc:
            if not slack_refusals.is_permanent(exc):
                raise
            self._tell_privately(slack_refusals.explain(exc))
            self.state.mark_done()

    def _write(self, reply: SlackReply) -> None:
        if self.state.answer is not None:
            text, note = self.state.answer
            reply.append(text)
            reply.finish(note)
            self.state.mark_done()
            return
        issue = self.jira.issue(self.job.key)
        document = issue_document(issue, NoiseRules.from_settings(self.rt.settings))
        if self.job.question:
            summary = self._question(issue, document, reply)
            posted = ""
        else:
            summary = self._summary(issue, document, reply.append)
            posted = self._post(issue, document, summary.text) if self.job.post else ""
        note = f"{posted}\n{summary.footer()}" if posted else summary.footer()
        self.state.keep_answer(summary.text, note)
        reply.finish(note)
        self.state.mark_done()
        if not self.job.post and not self.job.question:
            self._offer_post(issue)

    def _question(self, issue: Issue, document: IssueDocument, reply: SlackReply) -> Summary:
        """A question about the issue: its summary (not shown) and latest entries as context."""
        summary = self._summary(issue, document, _ignore)
        latest = "\n\n".join(s.text for s in document.sections[-LATEST_SECTIONS:])
        context = f"{document.header}\n\n{summary.text}\n\n{latest}"
        question = messages.ISSUE_QUESTION.format(
            key=issue.key, url=issue.url, context=context, question=self.job.question
        )
        task = "thread" if self.job.thread_ts else "ask"
        request = self.summarizer.request(task, self._caller(), question=question)
        metered = self.rt.engine.complete(request, reply.append)
        return Summary(metered.completion.text, (*summary.calls, metered))

    def _summary(self, issue: Issue, document: IssueDocument, on_delta: Any) -> Summary:
        """From the cache or the issue's own summary comment when the issue has not changed
        since (no model call), else made now."""
        summarizer = self.summarizer
        known = summarizer.cached(document.header, document.sections)
        if known is None and summarizer.windowing:
            known = self._posted_summary(issue, document)
        if known is not None:
            log.info("summary_unchanged request_id=%s key=%s", self.job.request_id, issue.key)
            naive = summarizer.naive(document.header, document.sections, self._caller())
            summarizer.record_unchanged(naive, known)
            on_delta(known)
            return Summary(known, from_cache=True)
        return summarizer.summarize(document.header, document.sections, self._caller(), on_delta)

    def _posted_summary(self, issue: Issue, document: IssueDocument) -> str | None:
        posted = find_summary(issue.comments, self.jira.myself())
        if posted is None or posted.source_hash != document.source_hash:
            return None
        comment = next(c for c in issue.comments if c.id == posted.comment_id)
        lines = body_to_text(comment.body).splitlines()
        kept = [
            line
            for line in lines
            if messages.JIRA_SUMMARY_HEADING not in line and find_marker(line) is None
        ]
        return "\n".join(kept).strip() or None

    def _reply(self) -> SlackReply:
        job = self.job
        thread_ts = job.thread_ts or self.state.root_ts or self._post_root()
        return SlackReply(
            self.rt.slack_stream,
            self.state,
            channel=job.channel,
            thread_ts=lambda: thread_ts,
            recipient_user=job.user,
            recipient_team=job.team_id,
            flush_interval_s=self.rt.settings.slack_stream_flush_s,
            waiting_client=self.rt.slack,
        )

    def _post_root(self) -> str:
        """The /summarize thread's root, posted before any Jira or model call."""
        url = f"{(self.rt.settings.jira_url or '').rstrip('/')}/browse/{self.job.key}"
        text = messages.SUMMARY_ROOT.format(user=self.job.user, url=url, key=self.job.key)
        response = self.rt.slack.chat_postMessage(channel=self.job.channel, text=text)
        ts = str(response["ts"])
        self.state.set_root(ts)
        return ts

    def _offer_post(self, issue: Issue) -> None:
        """The *Post to Jira* button, under the finished summary (best effort: the summary
        is delivered either way)."""
        prompt = messages.SUMMARY_POST_PROMPT.format(key=issue.key)
        button = {
            "type": "button",
            "action_id": POST_SUMMARY_ACTION,
            "text": {"type": "plain_text", "text": messages.SUMMARY_POST_BUTTON},
            "value": json.dumps({"key": issue.key}),
        }
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": prompt}},
            {"type": "actions", "elements": [button]},
        ]
        thread_ts = self.job.thread_ts or self.state.root_ts
        try:
            self.rt.slack.chat_postMessage(
                channel=self.job.channel, thread_ts=thread_ts, text=prompt, blocks=blocks
            )
        except SlackApiError as exc:
            log.warning("post_button_failed request_id=%s: %s", self.job.request_id, exc)

    def _tell_privately(self, text: str) -> None:
        if self.job.response_url:
            WebhookClient(self.job.response_url).send(text=text, response_type="ephemeral")

    # -- the button and the webhook ------------------------------------------------------

    def _for_button(self) -> None:
        try:
            issue = self.jira.issue(self.job.key)
            document = issue_document(issue, NoiseRules.from_settings(self.rt.settings))
            summary = self._summary(issue, document, _ignore)
            text = self._post(issue, document, summary.text)
        except (UserFacingError, JiraUnavailableError) as exc:
            text = said(exc)
        if self.job.notice_ts:
            self.rt.slack.chat_update(channel=self.job.channel, ts=self.job.notice_ts, text=text)
        self.state.mark_done()

    def _for_webhook(self) -> None:
        issue = self.jira.issue(self.job.key)
        document = issue_document(issue, NoiseRules.from_settings(self.rt.settings))
        posted = find_summary(issue.comments, self.jira.myself())
        if posted is not None and posted.source_hash == document.source_hash:
            log.info("webhook_unchanged key=%s", issue.key)
        else:
            summary = self._summary(issue, document, _ignore)
            self._post(issue, document, summary.text)
        self.state.mark_done()

    def _post(self, issue: Issue, document: IssueDocument, text: str) -> str:
        """Write the summary as the issue's one summary comment; what to tell the person."""
        lease = ReplyLease(
            self.rt.queue_redis,
            f"jira-comment-{issue.key}",
            owner=uuid.uuid4().hex,
            is_done=lambda: False,
            wait_s=COMMENT_LEASE_WAIT_S,
        )
        with lease as outcome:
            if outcome is not Lease.OWNED:
                raise ReplyBusyError(f"another worker is writing to {issue.key}")
            result = upsert_summary(
                self.jira,
                issue.key,
                text,
                document.source_hash,
                visibility=comment_visibility(self.rt.settings.jira_comment_visibility),
            )
        self.rt.queue_redis.delete(keys.jira_new_comments(issue.key))
        log.info("summary_posted key=%s action=%s", issue.key, result.action)
        return messages.SUMMARY_POSTED[result.action].format(url=issue.url, key=issue.key)

    def _caller(self) -> Caller:
        job = self.job
        scope = scope_of(job.team_id, job.channel, job.user) or f"jira:{job.key.split('-')[0]}"
        rules = rules_for(self.rt, job.team_id, job.channel)
        return Caller(
            request_id=job.request_id,
            source={"button": "slash"}.get(job.source, job.source),
            user=job.user,
            channel=job.channel,
            workspace=job.team_id,
            scope=rules.scope(scope),
            allowed_backends=rules.policy.allowed_backends,
        )


def answered_by_summary(rt: Runtime, job: AnswerJob) -> bool:
    """A mention or DM that asks for a summary — of an issue, or of its thread — or asks
    about an issue gets it here; False: an ordinary question, for `AnswerRun`."""
    if job.kind == "ask":
        return False
    in_thread = bool(job.thread_ts) and job.thread_ts != job.message_ts
    intent = read_intent(job.text, in_thread=in_thread)
    if intent is None:
        return False
    log.info("summary_intent request_id=%s kind=%s", job.request_id, intent.kind)
    if intent.kind == "summarize_thread":
        ThreadSummaryRun(rt, job).run()
        return True
    summary = SummarizeJob(
        request_id=job.request_id,
        source=job.kind,
        key=intent.key,
        question=intent.text if intent.kind == "ask_issue" else "",
        team_id=job.team_id,
        channel=job.channel,
        user=job.user,
        thread_ts=job.thread_ts,
        message_ts=job.message_ts,
        received_at=job.received_at,
        response_url=job.response_url,
    )
    SummaryRun(rt, summary).run()
    return True


def give_up(rt: Runtime, job: SummarizeJob, exc: BaseException | None) -> bool:
    """No retry left: one clear message in the thread (as an answer gives up); a webhook's
    job has no one to tell, so it is logged."""
    if not job.channel:
        log.error("webhook_summary_failed key=%s", job.key, exc_info=exc)
        return True
    return AnswerRun(rt, as_answer_job(job)).give_up(exc)


def as_answer_job(job: SummarizeJob) -> AnswerJob:
    """The answer whose reply this summary writes, for what answers already do (give up)."""
    kind: Kind = job.source if job.source in ("mention", "dm") else "ask"
    return AnswerJob(
        request_id=job.request_id,
        kind=kind,
        team_id=job.team_id,
        channel=job.channel,
        user=job.user,
        text=f"/summarize {job.key}",
        thread_ts=job.thread_ts,
        message_ts=job.message_ts,
        received_at=job.received_at,
        response_url=job.response_url,
    )


def _ignore(_: str) -> None:
    pass


__all__ = ["SummaryRun", "answered_by_summary", "as_answer_job", "give_up"]
