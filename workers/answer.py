"""One answer, end to end: context → cost engine (streaming) → Slack thread, exactly once.

Idempotent across retries: `ReplyState` remembers the root message, every reply message posted
and the finished answer, so a retried job (after an exception, a timeout or a killed worker)
rewrites those messages instead of posting a second answer, an answer the model finished is
delivered again rather than produced again, and a finished request is never answered twice.
`ReplyLease` keeps a second worker from writing the same reply beside a live first one.

The channel's policy (`workers.channel_rules`) shapes the request: the admins' prompt line,
tier limits, "EC2 only", caching; a channel no longer allowed is told so privately. A thread
the bot answers in is marked, so that a channel that opted in has its later replies answered
without a mention. Answers carry an "AI-generated" line under them (AI_DISCLOSURE).

Failures: a refusal (`UserFacingError`) is shown in the thread; a refusal from Slack itself
(`not_in_channel`, `missing_scope`, …) is told privately and not retried; anything else
raises so that RQ retries the job, and `give_up` — run by the job's failure callback once no
retry is left, or the job was abandoned by a dead worker — leaves one clear message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.payloads import AnswerJob
from gateway import LLMRequest, keys
from gateway.engine import TIER_ORDER, Metered
from gateway.errors import ChatOpsError, OptionError, RetryableError, UserFacingError
from gateway.no_call import no_call
from gateway.options import RequestOptions, parse_options
from gateway.types import Route
from workers import answer_buttons, slack_refusals
from workers.answer_buttons import AnswerContext, Block, Redo
from workers.attachments import with_attachments
from workers.channel_rules import ChannelRules, rules_for
from workers.context import ConversationMemory, Turn, as_messages
from workers.footers import footer
from workers.reply_state import REPLY_LEASE_S, Lease, ReplyLease, ReplyState
from workers.runtime import Runtime
from workers.slack_reply import SlackReply
from workers.slack_text import neutralise_pings

log = logging.getLogger(__name__)

# How long a channel the bot has posted in is trusted to still take its posts.
POSTABLE_TTL_S = 24 * 3600
# How long a thread remembers that its next answer must go one tier up.
ESCALATION_TTL_S = 24 * 3600
# How long a thread the bot answered in counts as one it is part of (thread replies policy).
BOT_THREAD_TTL_S = 7 * 24 * 3600


class ReplyBusyError(RetryableError):
    public_message = "Another worker was still writing this answer."


class AnswerRun:
    def __init__(self, runtime: Runtime, job: AnswerJob, redo: Redo | None = None) -> None:
        self.rt = runtime
        self.job = job
        # Set when a button under an earlier answer asked for this one (in its place).
        self.redo = redo
        self.state = ReplyState(runtime.queue_redis, job.request_id)
        self.memory = ConversationMemory(
            runtime.slack,
            runtime.cache_redis,
            runtime.bot_user_id,
            runtime.settings.thread_cache_ttl_s,
            redact_history=runtime.settings.redacts_secrets(job.team_id),
        )

    @cached_property
    def rules(self) -> ChannelRules:
        """The channel's policy, read when the answer needs it (not by a give-up)."""
        return rules_for(self.rt, self.job.team_id, self.job.channel)

    def run(self) -> None:
        if self.state.done:
            log.info("already_answered request_id=%s", self.job.request_id)
            return
        lease = ReplyLease(
            self.rt.queue_redis,
            self.job.request_id,
            owner=uuid.uuid4().hex,
            is_done=self._is_done,
            # Leave the job time to answer once it has the lease.
            wait_s=min(3 * REPLY_LEASE_S, self.rt.settings.job_timeout_s / 3),
        )
        with lease as outcome:
            if outcome is Lease.DONE:
                log.info("reply_elsewhere request_id=%s", self.job.request_id)
                return
            if outcome is Lease.BUSY:
                # Alive and still writing, or dead and its lease not lapsed yet: ask again.
                raise ReplyBusyError(f"{self.job.request_id} is leased by another worker")
            self.state.refresh()
            if self.state.done:
                return
            self._run_owned()

    def _run_owned(self) -> None:
        if self.redo is not None:
            self.redo.seed(self.state)
        try:
            reply = self._reply()
            try:
                self._answer(reply)
            except OptionError as exc:
                self._tell_privately(exc.public_message)
                self.state.mark_done()
            except UserFacingError as exc:
                log.info("refused request_id=%s reason=%s", self.job.request_id, exc)
                reply.show_error(messages.REFUSED.format(reason=exc.public_message))
                self.state.mark_done()
        except SlackApiError as exc:
            if not slack_refusals.is_permanent(exc):
                raise
            self._cannot_post(exc)

    def _reply(self) -> SlackReply:
        return SlackReply(
            self.rt.slack_stream,
            self.state,
            channel=self.job.channel,
            thread_ts=self._thread_ts(),
            recipient_user=self.job.user,
            recipient_team=self.job.team_id,
            flush_interval_s=self.rt.settings.slack_stream_flush_s,
            waiting_client=self.rt.slack,
        )

    def _answer(self, reply: SlackReply) -> None:
        if self.state.answer is not None:
            text, note = self.state.answer
            log.info("redelivering request_id=%s", self.job.request_id)
            reply.append(text)
            kept = answer_buttons.kept(self.state)
            reply.finish(note, self._buttons(kept) if kept else self._disclosure())
            self.state.mark_done()
            return
        if not self.rules.allowed:
            also = messages.admins_also(self.rt.settings.policy_admin_usergroup.strip())
            log.info("channel_not_allowed request_id=%s", self.job.request_id)
            self._tell_privately(messages.CHANNEL_NOT_ALLOWED.format(also=also))
            self.state.mark_done()
            return
        problem = self._problem()
        if problem:
            reply.finish(messages.NOTICE.format(text=problem))
            self.state.mark_done()
            return
        options, question = self._options()
        question = with_attachments(self.rt, self.job, question, self._tell_privately)
        if self._needs_no_model(question, reply):
            return
        request = self._request(question, options)
        log.info(
            "model_call request_id=%s since_received_ms=%.1f",
            self.job.request_id,
            (time.time() - self.job.received_at) * 1000,
        )
        metered = self.rt.engine.complete(request, on_delta=reply.append, on_restart=reply.restart)
        completion = metered.completion
        note = footer(metered, explain=options.explain)
        self.state.keep_answer(completion.text, note)
        context = AnswerContext(self.job, metered.record.tier, metered.cache_kind)
        self.state.keep_context(context.to_json())
        reply.finish(note, self._buttons(context))
        self.state.mark_done()
        log.info(
            "answered request_id=%s model=%s input_tokens=%d output_tokens=%d ttft_ms=%.0f"
            " cache=%s tier_reason=%s",
            self.job.request_id,
            completion.route,
            completion.usage.input_tokens,
            completion.usage.output_tokens,
            completion.ttft_ms,
            metered.cache_kind or "-",
            metered.record.tier_reason,
        )
        self._escalate_if_cut(metered)
        self._remember(question, completion.text)
        self._mark_thread()

    def _options(self) -> tuple[RequestOptions, str]:
        """The person's leading `--tier`, `--model`, `--fresh`, `--explain`; an option it
        cannot use is refused with one line saying what is valid."""
        tiers = {name: tuple(r.model for r in routes) for name, routes in self._tiers().items()}
        options, question = parse_options(
            self.job.text,
            tiers=tiers,
            allowed_models=(),
            allow_any_model=self.rt.settings.allow_any_model,
        )
        if self.redo is not None and self.redo.tier:
            options = replace(options, tier=self.redo.tier, model=None, model_tier=None)
        if self.redo is not None and self.redo.fresh:
            options = replace(options, fresh=True)
        return options, question

    def _buttons(self, context: AnswerContext) -> list[Block]:
        return [
            *self._disclosure(),
            *answer_buttons.buttons(self.job.request_id, context, TIER_ORDER),
        ]

    def _disclosure(self) -> list[Block]:
        """The "AI-generated" line under an answer, when AI_DISCLOSURE is on."""
        if not self.rt.settings.ai_disclosure:
            return []
        text = messages.AI_DISCLOSURE
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{text}_"}]}]

    def _needs_no_model(self, question: str, reply: SlackReply) -> bool:
        """A thanks, an ok, an emoji, a greeting, nothing at all: a reaction or the usage
        line, and a zero-cost ledger row — never a model call."""
        if "no_call" not in self.rt.engine.levers:
            return False
        verdict = no_call(question)
        if verdict is None:
            return False
        target = self.job.message_ts
        if verdict.show_usage or not target:
            usage = messages.MENTION_USAGE if self.job.kind == "mention" else messages.ASK_USAGE
            reply.finish(messages.NOTICE.format(text=usage))
        else:
            self._react(target, verdict.reaction)
        self.rt.engine.record_no_call(self._request(question, RequestOptions()), verdict.kind)
        self.state.mark_done()
        log.info("no_call request_id=%s kind=%s", self.job.request_id, verdict.kind)
        return True

    def _react(self, ts: str, name: str) -> None:
        try:
            self.rt.slack.reactions_add(channel=self.job.channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            if slack_refusals.error_code(exc) != "already_reacted":
                raise

    def _request(self, question: str, options: RequestOptions) -> LLMRequest:
        prompt = self.rt.prompts[self.job.task]
        job = self.job
        escalated, because = self._escalation()
        return LLMRequest(
            task=job.task,
            system=self.rules.system(prompt.system()),
            messages=as_messages(self._history(), prompt.user(question=question)),
            tier=prompt.tier,
            max_output_tokens=prompt.max_output_tokens,
            request_id=job.request_id,
            user=job.user,
            channel=job.channel,
            workspace=job.team_id,
            source={"ask": "slash"}.get(job.kind, job.kind),
            scope=self.rules.scope(
                self.rt.channel_kinds.scope(job.channel, workspace=job.team_id, user=job.user)
            ),
            override_tier=options.override_tier or "",
            override_model=options.model or "",
            fresh=options.fresh,
            explain=options.explain,
            **self.rules.request_fields(),
            escalated_tier=escalated,
            escalation_reason=because,
            redactions=job.redactions,
        )

    def _tiers(self) -> dict[str, tuple[Route, ...]]:
        return dict(self.rt.engine.gateway.tiers)

    def _escalation(self) -> tuple[str, str]:
        """The tier the thread's next answer must at least use, and why when a person said
        so (`tier|reason`, set by *Not helpful*); empty when none."""
        thread = self.job.thread_ts
        if not thread:
            return "", ""
        raw = self.rt.queue_redis.get(keys.escalation(self.job.channel, thread))
        tier, _, reason = (raw.decode() if isinstance(raw, bytes) else "").partition("|")
        return tier, reason

    def _escalate_if_cut(self, metered: Metered) -> None:
        """An answer cut at max tokens sends the thread's next answer one tier up."""
        if metered.record.stop_reason != "max_tokens":
            return
        thread = self.job.thread_ts or self.state.root_ts
        tiers = list(TIER_ORDER)
        tier = metered.record.tier
        if not thread or tier not in tiers or tier == tiers[-1]:
            return
        up = tiers[tiers.index(tier) + 1]
        self.rt.queue_redis.set(keys.escalation(self.job.channel, thread), up, ex=ESCALATION_TTL_S)

    def _problem(self) -> str | None:
        """A question the bot should not send to a model, and what to tell the person."""
        limit = self.rt.settings.max_question_chars
        if not self.job.text and "no_call" not in self.rt.engine.levers:
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

    def _remember(self, question: str, answer: str) -> None:
        """Write the exchange through to the thread's memory as the model saw it — the whole
        question, not the root message's short quote — so a follow-up has the same context
        and repeats the same bytes (what prompt caching reads)."""
        job = self.job
        reply_ts = self.state.message_ts[0] if self.state.message_ts else ""
        if job.kind == "dm":
            key_ts, asked = "dm", Turn("user", question, job.message_ts or "")
        elif job.kind == "mention" and job.thread_ts:
            key_ts, asked = job.thread_ts, Turn("user", question, job.message_ts or "")
        else:
            root = self.state.root_ts or ""
            key_ts, asked = root, Turn("user", question, root)
        self.memory.remember(job.channel, key_ts, asked, Turn("assistant", answer, reply_ts))

    def _mark_thread(self) -> None:
        """Remember that the bot is part of this thread (channels only: a DM needs no mention)."""
        thread = self.job.thread_ts or self.state.root_ts
        if thread and self.job.kind != "dm":
            key = keys.bot_thread(self.job.channel, thread)
            self.rt.queue_redis.set(key, 1, ex=BOT_THREAD_TTL_S)

    # -- where the reply goes ----------------------------------------------------------------

    def _thread_ts(self) -> Callable[[], str]:
        """The thread to answer in. For /ask the root message is posted in the background,
        overlapping the model's time to first token — once the bot is known to be able to post
        in the channel. The first time, the root is posted before any model call, so a channel
        the bot may not post in costs nothing and gets a clear answer."""
        known = self.job.thread_ts or self.state.root_ts
        if known:
            return lambda: known
        if self._is_postable():
            future = self.rt.background.submit(self._post_root)
            return future.result
        ts = self._post_root()
        return lambda: ts

    def _post_root(self) -> str:
        quoted = messages.root_message(
            self.job.user, self.job.text, mode=self.rt.settings.ask_root_quote
        )
        response = self.rt.slack.chat_postMessage(
            channel=self.job.channel, text=neutralise_pings(quoted)
        )
        ts = str(response["ts"])
        self.state.set_root(ts)
        self.rt.cache_redis.set(keys.channel_postable(self.job.channel), 1, ex=POSTABLE_TTL_S)
        return ts

    def _is_postable(self) -> bool:
        try:
            return bool(self.rt.cache_redis.exists(keys.channel_postable(self.job.channel)))
        except Exception:
            return False  # the cache is down: post first, which is only slower

    def _is_done(self) -> bool:
        self.state.refresh()
        return self.state.done

    # -- when it cannot be answered ----------------------------------------------------------

    def _cannot_post(self, exc: SlackApiError) -> None:
        """Slack will not take the bot's posts here: say so privately, once, and stop."""
        log.warning(
            "cannot_post request_id=%s error=%s",
            self.job.request_id,
            slack_refusals.error_code(exc),
        )
        self.rt.cache_redis.delete(keys.channel_postable(self.job.channel))
        self._tell_privately(slack_refusals.explain(exc))
        self.state.mark_done()

    def _tell_privately(self, text: str) -> None:
        """Only the person sees it: the slash command's response_url, else an ephemeral."""
        if self.job.response_url:
            WebhookClient(self.job.response_url).send(text=text, response_type="ephemeral")
            return
        try:
            self.rt.slack.chat_postEphemeral(
                channel=self.job.channel,
                user=self.job.user,
                text=text,
                thread_ts=self.job.thread_ts,
            )
        except SlackApiError as exc:
            log.warning(
                "no_private_channel request_id=%s error=%s",
                self.job.request_id,
                slack_refusals.error_code(exc),
            )

    def give_up(self, exc: BaseException | None) -> bool:
        """No retry is left (or the worker died on the last one): one clear message. False
        when a worker still holds the reply's lease — alive, or dead less than a lease ago:
        ask again once it has lapsed."""
        self.state.refresh()
        if self.state.done:
            return True
        if self.rt.queue_redis.exists(keys.reply_owner(self.job.request_id)):
            log.info("give_up_deferred request_id=%s: the reply is leased", self.job.request_id)
            return False
        error_id = uuid.uuid4().hex[:8]
        log.error(
            "answer_failed request_id=%s error_id=%s", self.job.request_id, error_id, exc_info=exc
        )
        reason = exc.public_message if isinstance(exc, ChatOpsError) else messages.UNEXPECTED
        text = messages.JOB_FAILED.format(reason=reason, error_id=error_id)
        try:
            reply = SlackReply(
                self.rt.slack,
                self.state,
                channel=self.job.channel,
                thread_ts=self._thread_ts(),
                recipient_user=self.job.user,
                recipient_team=self.job.team_id,
                streaming=False,
            )
            reply.show_error(text)
        except Exception:
            log.exception("error_reply_failed request_id=%s", self.job.request_id)
            self._tell_privately(text)
        self.state.mark_done()
        self.rt.queue_redis.hincrby(keys.metrics(), f"job_failures|{self.job.kind}", 1)
        return True


__all__ = ["AnswerRun", "ReplyBusyError"]
