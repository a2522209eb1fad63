"""One answer, end to end: context → gateway (streaming) → Slack thread, exactly once.

Idempotent across retries: `ReplyState` remembers the root message and every reply message
posted, so a retried job (after an exception, a timeout or a killed worker) rewrites those
messages instead of posting a second answer, and a finished request is never answered again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.payloads import AnswerJob
from gateway import LLMRequest, keys
from gateway.engine import Metered
from gateway.errors import ChatOpsError, UserFacingError
from gateway.pricing import EC2_BACKEND
from workers.context import ConversationMemory, Turn, as_messages
from workers.reply_state import ReplyState
from workers.runtime import Runtime
from workers.slack_reply import SlackReply

log = logging.getLogger(__name__)


def footer(metered: Metered) -> str:
    usage, record = metered.completion.usage, metered.record
    if record.backend == EC2_BACKEND:
        cost = messages.COST_SELF_HOSTED
    elif record.cost_micro_usd is None:
        cost = messages.COST_UNPRICED
    else:
        cost = messages.usd(record.cost_micro_usd)
    if metered.limited_by:
        cost += " · " + messages.DOWNGRADED.format(tier=record.tier, budget=metered.limited_by)
    return messages.FOOTER.format(
        model=record.model,
        input_tokens=usage.total_input_tokens,
        output_tokens=usage.output_tokens,
        cost=cost,
    )


class AnswerRun:
    def __init__(self, runtime: Runtime, job: AnswerJob, *, last_attempt: bool) -> None:
        self.rt = runtime
        self.job = job
        self.last_attempt = last_attempt
        self.state = ReplyState(runtime.queue_redis, job.request_id)
        self.memory = ConversationMemory(
            runtime.slack,
            runtime.cache_redis,
            runtime.bot_user_id,
            runtime.settings.thread_cache_ttl_s,
        )

    def run(self) -> None:
        if self.state.done:
            log.info("already_answered request_id=%s", self.job.request_id)
            return
        thread_ts = self._thread_ts()
        reply = SlackReply(
            self.rt.slack,
            self.state,
            channel=self.job.channel,
            thread_ts=thread_ts,
            recipient_user=self.job.user,
            recipient_team=self.job.team_id,
            flush_interval_s=self.rt.settings.slack_stream_flush_s,
        )
        try:
            self._answer(reply)
        except UserFacingError as exc:
            log.info("refused request_id=%s reason=%s", self.job.request_id, exc)
            reply.show_error(messages.REFUSED.format(reason=exc.public_message))
            self.state.mark_done()
        except Exception as exc:
            if not self.last_attempt:
                log.warning(
                    "attempt_failed request_id=%s error=%r; retrying", self.job.request_id, exc
                )
                raise
            reason = exc.public_message if isinstance(exc, ChatOpsError) else messages.UNEXPECTED
            self._fail(reply, reason, exc)

    def _answer(self, reply: SlackReply) -> None:
        problem = self._problem()
        if problem:
            reply.finish(messages.NOTICE.format(text=problem))
            self.state.mark_done()
            return
        history = self._history()
        prompt = self.rt.prompts[self.job.task]
        request = LLMRequest(
            task=self.job.task,
            system=prompt.system(),
            messages=as_messages(history, prompt.user(question=self.job.text)),
            tier=prompt.tier,
            max_output_tokens=prompt.max_output_tokens,
            cache_system=True,
            request_id=self.job.request_id,
            user=self.job.user,
            channel=self.job.channel,
            workspace=self.job.team_id,
            source={"ask": "slash"}.get(self.job.kind, self.job.kind),
        )
        log.info(
            "model_call request_id=%s since_received_ms=%.1f",
            self.job.request_id,
            (time.time() - self.job.received_at) * 1000,
        )
        metered = self.rt.engine.complete(request, on_delta=reply.append)
        completion = metered.completion
        reply.finish(footer(metered))
        self.state.mark_done()
        log.info(
            "answered request_id=%s model=%s input_tokens=%d output_tokens=%d ttft_ms=%.0f",
            self.job.request_id,
            completion.route,
            completion.usage.input_tokens,
            completion.usage.output_tokens,
            completion.ttft_ms,
        )
        self._remember(completion.text)

    def _problem(self) -> str | None:
        """A question the bot should not send to a model, and what to tell the person."""
        limit = self.rt.settings.max_question_chars
        if not self.job.text:
            return messages.MENTION_USAGE if self.job.kind == "mention" else messages.ASK_USAGE
        if len(self.job.text) > limit:
            return messages.QUESTION_TOO_LONG.format(length=len(self.job.text), limit=limit)
        return None

    def _history(self) -> list[Turn]:
        job = self.job
        if job.kind == "mention" and job.thread_ts and job.message_ts:
            return self.memory.thread(job.channel, job.thread_ts, before_ts=job.message_ts)
        if job.kind == "dm":
            return self.memory.dm(job.channel)
        return []

    def _remember(self, answer: str) -> None:
        job = self.job
        reply_ts = self.state.message_ts[0] if self.state.message_ts else ""
        if job.kind == "dm":
            key_ts, question = "dm", Turn("user", job.text, job.message_ts or "")
        elif job.kind == "mention" and job.thread_ts:
            key_ts, question = job.thread_ts, Turn("user", job.text, job.message_ts or "")
        else:
            root = self.state.root_ts or ""
            text = messages.root_message(job.user, job.text)
            key_ts, question = root, Turn("user", text, root)
        self.memory.remember(job.channel, key_ts, question, Turn("assistant", answer, reply_ts))

    def _thread_ts(self) -> Callable[[], str]:
        """The thread to answer in. For /ask the root message is posted in the background,
        overlapping the model's time to first token."""
        known = self.job.thread_ts or self.state.root_ts
        if known:
            return lambda: known
        future = self.rt.background.submit(self._post_root)
        return future.result

    def _post_root(self) -> str:
        text = messages.root_message(self.job.user, self.job.text)
        response = self.rt.slack.chat_postMessage(channel=self.job.channel, text=text)
        ts = str(response["ts"])
        self.state.set_root(ts)
        return ts

    def _fail(self, reply: SlackReply, reason: str, exc: BaseException) -> None:
        error_id = uuid.uuid4().hex[:8]
        log.error(
            "answer_failed request_id=%s error_id=%s", self.job.request_id, error_id, exc_info=exc
        )
        text = messages.JOB_FAILED.format(reason=reason, error_id=error_id)
        try:
            reply.show_error(text)
        except Exception:
            log.exception("error_reply_failed request_id=%s", self.job.request_id)
            if self.job.response_url:
                WebhookClient(self.job.response_url).send(text=text, response_type="ephemeral")
        self.state.mark_done()
        self.rt.queue_redis.hincrby(keys.metrics(), f"job_failures|{self.job.kind}", 1)


__all__ = ["AnswerRun", "footer"]
