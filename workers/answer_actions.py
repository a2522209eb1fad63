"""A button pressed under an answer (`workers.answer_buttons`), as a worker job.

- *Not helpful*: the thread's next answer must use the tier above the one that answered; the
  escalation carries its reason, so that answer's ledger row says `not helpful`. The person
  who pressed it is told privately.
- *Answer again with the large model* / *Answer fresh*: the answered request runs again as a
  new request (its own ledger row, both calls kept) over the same messages, which are
  rewritten in place; `--tier large` in effect for the first, the caches bypassed for the
  second.

What the answered request was asked with comes from its reply state; once that has expired
(a day) the person is told the answer can no longer be redone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.payloads import AnswerAction, AnswerActionJob, AnswerJob
from gateway import keys
from gateway.engine import TIER_ORDER
from gateway.router import NOT_HELPFUL_REASON
from workers import answer_buttons
from workers.answer import ESCALATION_TTL_S, AnswerRun
from workers.answer_buttons import AnswerContext, Redo
from workers.reply_state import ReplyState
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def run(rt: Runtime, job: AnswerActionJob) -> None:
    found = _answered(rt, job)
    if found is None:
        tell(rt, job, messages.ANSWER_TOO_OLD)
        return
    context, state = found
    log.info(
        "answer_action request_id=%s action=%s answered=%s tier=%s",
        job.request_id,
        job.action,
        job.answered,
        context.tier,
    )
    _HANDLERS[job.action](rt, job, context, state)


def redo_run(rt: Runtime, job: AnswerActionJob) -> AnswerRun | None:
    """The re-answer a click asked for (None for *Not helpful*, or when nothing is kept):
    also what gives up on it when its job fails for good."""
    found = _answered(rt, job)
    if found is None or job.action == "not_helpful":
        return None
    context, state = found
    tier = TIER_ORDER[-1] if job.action == "again_large" else ""
    redo = Redo(state.root_ts or "", tuple(state.message_ts), tier, fresh=job.action == "fresh")
    return AnswerRun(rt, _again(context.job, job), redo)


def _answered(rt: Runtime, job: AnswerActionJob) -> tuple[AnswerContext, ReplyState] | None:
    state = ReplyState(rt.queue_redis, job.answered)
    context = answer_buttons.kept(state)
    return None if context is None or not state.message_ts else (context, state)


def _again(asked: AnswerJob, job: AnswerActionJob) -> AnswerJob:
    """The answered request as a new one: the click's id (a retried click reuses its reply
    state) and time; replies that only the presser should see go to the presser."""
    return asked.model_copy(
        update={
            "request_id": job.request_id,
            "received_at": job.received_at,
            "response_url": job.response_url,
        }
    )


def _not_helpful(
    rt: Runtime, job: AnswerActionJob, context: AnswerContext, state: ReplyState
) -> None:
    tiers = list(TIER_ORDER)
    if context.tier not in tiers or context.tier == tiers[-1]:
        tell(rt, job, messages.ANSWER_AT_TOP)
        return
    up = tiers[tiers.index(context.tier) + 1]
    thread = job.thread_ts or state.root_ts or job.message_ts
    rt.queue_redis.set(
        keys.escalation(job.channel, thread), f"{up}|{NOT_HELPFUL_REASON}", ex=ESCALATION_TTL_S
    )
    tell(rt, job, messages.ANSWER_ESCALATED.format(tier=up))


def _redo(rt: Runtime, job: AnswerActionJob, context: AnswerContext, state: ReplyState) -> None:
    again = redo_run(rt, job)
    if again is not None:
        again.run()


_HANDLERS: dict[
    AnswerAction, Callable[[Runtime, AnswerActionJob, AnswerContext, ReplyState], None]
] = {
    "not_helpful": _not_helpful,
    "again_large": _redo,
    "fresh": _redo,
}


def tell(rt: Runtime, job: AnswerActionJob, text: str) -> None:
    """Only the person who pressed the button sees it."""
    if job.response_url:
        WebhookClient(job.response_url).send(text=text, response_type="ephemeral")
        return
    try:
        rt.slack.chat_postEphemeral(
            channel=job.channel, user=job.user, text=text, thread_ts=job.thread_ts
        )
    except SlackApiError as exc:
        log.warning("no_private_channel request_id=%s error=%s", job.request_id, exc)


__all__ = ["redo_run", "run", "tell"]
