"""Turns one Slack message event into one answer job, exactly once per message.

Who may ask: people. A message from a bot (its `bot_id`), a webhook (no `user`) or this bot
itself is ignored — answering one could start a loop between two bots — unless the bot's id
is in ALLOWED_BOT_IDS. The text is cleaned of what nobody can see and its secrets replaced
before it is queued; the worker tells the person privately what was removed. Where: a channel
whose policy does not allow the bot gets one private sentence instead of a job.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from slack_sdk import WebClient

from bot.channel_gate import refusal, tell_refused
from bot.deps import BotDeps
from bot.text import clean_input, redact_for
from chatops.payloads import MAX_FILES, AnswerJob, FileRef, Kind
from chatops.settings import split_names

log = logging.getLogger(__name__)


def strip_mention(text: str, bot_user_id: str) -> str:
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def asker(event: dict[str, Any], bot_user_id: str, allowed_bot_ids: tuple[str, ...]) -> str | None:
    """The user id to answer, or None when the message is not a person's (or an allowed
    bot's) and must be ignored."""
    user = event.get("user")
    if not user or user == bot_user_id:
        return None
    bot_id = event.get("bot_id") or (event.get("bot_profile") or {}).get("id")
    if bot_id or event.get("subtype") == "bot_message":
        return str(user) if bot_id in allowed_bot_ids else None
    return str(user)


def submit(
    deps: BotDeps,
    kind: Kind,
    body: dict[str, Any],
    bot_user_id: str,
    client: WebClient | None = None,
) -> None:
    """Validation of the text (empty, too long) is the worker's: it answers in the thread,
    which a listener cannot do without a Slack call. `client` tells a person privately that
    the channel does not allow the bot."""
    event = body["event"]
    user = asker(event, bot_user_id, split_names(deps.settings.allowed_bot_ids))
    if user is None:
        log.debug("ignored_sender kind=%s bot_id=%s", kind, event.get("bot_id"))
        return
    channel, ts = event["channel"], event["ts"]
    team_id = body.get("team_id") or event.get("team", "")
    refused = refusal(deps, team_id, channel)
    if refused is not None:
        if client is not None:
            where = (channel, ts)
            tell_refused(
                deps, client, refused, message=where, user=user, thread_ts=event.get("thread_ts")
            )
        return
    text = clean_input(strip_mention(event.get("text") or "", bot_user_id))
    redacted = redact_for(deps.settings, team_id, text)
    job = AnswerJob(
        request_id=f"ev-{channel}-{ts}",
        kind=kind,
        team_id=team_id,
        enterprise_id=body.get("enterprise_id") or "",
        channel=channel,
        user=user,
        text=redacted.text,
        thread_ts=event.get("thread_ts") or ts,
        message_ts=ts,
        received_at=deps.clock(),
        redactions=len(redacted.findings),
        files=attached_files(event),
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
    log.info("enqueued request_id=%s kind=%s redactions=%d", job.request_id, kind, job.redactions)


def attached_files(event: dict[str, Any]) -> tuple[FileRef, ...]:
    """The files attached to the message, by id and name: the worker reads them (a file the
    event hides, e.g. over the workspace's storage limit, still has its id)."""
    files = [f for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")]
    return tuple(
        FileRef(id=str(f["id"]), name=str(f.get("name") or f.get("title") or ""))
        for f in files[:MAX_FILES]
    )


class QueueUnavailableError(RuntimeError):
    """Redis refused the event; Bolt answers 500 so Slack retries it."""


__all__ = ["QueueUnavailableError", "asker", "attached_files", "strip_mention", "submit"]
