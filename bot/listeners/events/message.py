"""`message` events: direct messages hold a conversation; a channel message that @mentions
the bot is the same message Slack also sends as `app_mention` (dedupe answers it once); and
where a channel's policy opted in, a reply in a thread the bot has answered in is answered
without a new mention (the worker marks such threads: `keys.bot_thread`)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.listeners.events.submit import submit
from gateway import keys

log = logging.getLogger(__name__)

# Edits, deletions, joins and the like are not questions; `bot_message` is, from an allowed
# bot (`submit` decides who may ask), and `file_share` is a message with files attached.
_ANSWERED_SUBTYPES = (None, "bot_message", "file_share")


def register(app: App, deps: BotDeps) -> None:
    @app.event("message")
    def handle_message(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        event = body["event"]
        if event.get("subtype") not in _ANSWERED_SUBTYPES:
            return
        bot_user_id = context.bot_user_id or ""
        if event.get("channel_type") == "im":
            submit(deps, "dm", body, bot_user_id, client)
        elif bot_user_id and f"<@{bot_user_id}" in (event.get("text") or ""):
            submit(deps, "mention", body, bot_user_id, client)
        elif is_reply_in_followed_thread(deps, body):
            submit(deps, "mention", body, bot_user_id)


def is_reply_in_followed_thread(deps: BotDeps, body: dict[str, Any]) -> bool:
    """A reply in a thread the bot has answered in, in a channel that asks for such replies
    to be answered without a mention. Most channel messages are not replies: they cost
    nothing here; a reply costs a cached policy read and one EXISTS."""
    event = body["event"]
    thread_ts, channel = event.get("thread_ts"), event.get("channel", "")
    if not thread_ts or thread_ts == event.get("ts"):
        return False
    try:
        policy = deps.policies.get(body.get("team_id") or event.get("team", ""), channel)
        if not (policy.allowed and policy.thread_replies):
            return False
        return bool(deps.redis.exists(keys.bot_thread(channel, thread_ts)))
    except redis.RedisError as exc:
        log.warning("thread_reply_not_checked channel=%s: %s", channel, exc)
        return False


__all__ = ["is_reply_in_followed_thread", "register"]
