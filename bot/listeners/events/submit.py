"""Turns one Slack message event into one answer job, exactly once per message."""

from __future__ import annotations

import logging
import re
from typing import Any

import redis

from bot.deps import BotDeps
from chatops.payloads import AnswerJob, Kind

log = logging.getLogger(__name__)


def strip_mention(text: str, bot_user_id: str) -> str:
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def submit(deps: BotDeps, kind: Kind, body: dict[str, Any], bot_user_id: str) -> None:
    """Validation of the text (empty, too long) is the worker's: it answers in the thread,
    which a listener cannot do without a Slack call."""
    event = body["event"]
    channel, ts = event["channel"], event["ts"]
    text = strip_mention(event.get("text") or "", bot_user_id)
    job = AnswerJob(
        request_id=f"ev-{channel}-{ts}",
        kind=kind,
        team_id=body.get("team_id") or event.get("team", ""),
        channel=channel,
        user=event["user"],
        text=text,
        thread_ts=event.get("thread_ts") or ts,
        message_ts=ts,
        received_at=deps.clock(),
    )
    identities = (("event", body.get("event_id", ts)), ("msg", f"{channel}:{ts}"))
    try:
        if not deps.jobs.enqueue_answer(job, once=identities):
            log.info("duplicate_event request_id=%s", job.request_id)
            return
    except redis.RedisError as exc:
        # Answering 500 makes Slack deliver the event again later (up to three retries): with
        # the queue down, that is how the question still gets its answer, not a silent drop.
        raise QueueUnavailableError(f"cannot enqueue {job.request_id}") from exc
    log.info("enqueued request_id=%s kind=%s", job.request_id, kind)


class QueueUnavailableError(RuntimeError):
    """Redis refused the event; Bolt answers 500 so Slack retries it."""


__all__ = ["QueueUnavailableError", "strip_mention", "submit"]
