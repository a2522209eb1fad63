"""A Slack thread's summary ("@bot tl;dr", "summarize this thread"), windowed like a Jira
issue's: every message before the request, oldest first, one section each, summarized through
the cost engine (`workers.summarizer`) and streamed into the thread.

The thread is read here whole, with who wrote each message and when: a reply's context
(`workers.context`) keeps only the latest turns, which is not what a summary is of. As there,
secrets are replaced by placeholders before the text goes anywhere, and another app's message
is quoted as third-party text, never taken for this bot's.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops import messages
from chatops.payloads import AnswerJob
from gateway.errors import UserFacingError
from gateway.redaction import redact
from gateway.windowing import Section
from workers import slack_refusals
from workers.channel_rules import rules_for
from workers.context import quoted_app_message
from workers.reply_state import ReplyState
from workers.runtime import Runtime
from workers.slack_reply import SlackReply
from workers.summarizer import Caller
from workers.summary_reply import owned, scope_of, summarizer_for

log = logging.getLogger(__name__)

PAGE_SIZE = 200
# A thread of up to 5,000 messages is read; Slack gives replies oldest first.
MAX_PAGES = 25
BOT_NAME = "ChatOps Bot"


class ThreadSummaryRun:
    def __init__(self, rt: Runtime, job: AnswerJob) -> None:
        self.rt = rt
        self.job = job
        self.state = ReplyState(rt.queue_redis, job.request_id)

    def run(self) -> None:
        if self.state.done:
            return
        with owned(self.rt, self.job.request_id, self.state) as mine:
            if mine:
                self._owned()

    def _owned(self) -> None:
        job = self.job
        assert job.thread_ts is not None
        thread_ts = job.thread_ts
        reply = SlackReply(
            self.rt.slack_stream,
            self.state,
            channel=job.channel,
            thread_ts=lambda: thread_ts,
            recipient_user=job.user,
            recipient_team=job.team_id,
            flush_interval_s=self.rt.settings.slack_stream_flush_s,
            waiting_client=self.rt.slack,
        )
        try:
            self._write(reply, thread_ts)
        except UserFacingError as exc:
            reply.show_error(messages.REFUSED.format(reason=exc.public_message))
            self.state.mark_done()
        except SlackApiError as exc:
            if not slack_refusals.is_permanent(exc):
                raise
            log.warning("thread_summary_refused error=%s", slack_refusals.error_code(exc))
            self.state.mark_done()

    def _write(self, reply: SlackReply, thread_ts: str) -> None:
        job = self.job
        if self.state.answer is not None:
            text, note = self.state.answer
            reply.append(text)
            reply.finish(note)
            self.state.mark_done()
            return
        before = job.message_ts or "9999999999.999999"
        found = read_thread(self.rt.slack, job.channel, thread_ts)
        redact_secrets = self.rt.settings.redacts_secrets(job.team_id)
        sections = sections_of(found, before, self.rt.bot_user_id, redact_secrets=redact_secrets)
        header = messages.THREAD_SUMMARY_ROOT.format(count=len(sections))
        rules = rules_for(self.rt, job.team_id, job.channel)
        caller = Caller(
            request_id=job.request_id,
            source=job.kind,
            user=job.user,
            channel=job.channel,
            workspace=job.team_id,
            scope=rules.scope(scope_of(job.team_id, job.channel, job.user)),
            allowed_backends=rules.policy.allowed_backends,
        )
        summary = summarizer_for(self.rt).summarize(header, sections, caller, reply.append)
        note = summary.footer()
        self.state.keep_answer(summary.text, note)
        reply.finish(note)
        self.state.mark_done()
        log.info(
            "thread_summarized request_id=%s messages=%d calls=%d",
            job.request_id,
            len(sections),
            len(summary.calls),
        )


def read_thread(slack: WebClient, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """Every message of the thread, oldest first, page by page."""
    found: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        response = slack.conversations_replies(
            channel=channel, ts=thread_ts, limit=PAGE_SIZE, cursor=cursor or None
        )
        found += response.get("messages", [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor", "")
        if not response.get("has_more") or not cursor:
            break
    return found


def sections_of(
    found: list[dict[str, Any]], before_ts: str, bot_user_id: str, *, redact_secrets: bool = True
) -> list[Section]:
    """One section per message before `before_ts`: `[2026-11-30 09:12] <@U1>: text`; this
    bot's own as `ChatOps Bot: text`, another app's quoted (`workers.context`).

    `redact_secrets`: False only for a workspace in SECRET_REDACTION_OFF_TEAMS."""
    sections = []
    for message in found:
        ts = str(message.get("ts", ""))
        text = str(message.get("text") or "").strip()
        if not text or not ts or float(ts) >= float(before_ts):
            continue
        text = redact(text).text if redact_secrets else text
        stamp = f"[{datetime.datetime.fromtimestamp(float(ts), datetime.UTC):%Y-%m-%d %H:%M}]"
        if bot_user_id and message.get("user") == bot_user_id:
            line = f"{stamp} {BOT_NAME}: {text}"
        elif message.get("bot_id") or message.get("subtype") == "bot_message":
            line = f"{stamp} {quoted_app_message(message, text)}"
        else:
            line = f"{stamp} <@{message.get('user', '?')}>: {text}"
        sections.append(Section(f"msg-{ts}", line))
    return sections


__all__ = ["ThreadSummaryRun", "read_thread", "sections_of"]
