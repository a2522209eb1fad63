"""`message` events: direct messages hold a conversation; a channel message that @mentions
the bot is the same message Slack also sends as `app_mention` (dedupe answers it once)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import BotDeps
from bot.listeners.events.submit import submit

# Edits, deletions, joins and the like are not questions; `bot_message` is, from an allowed
# bot (`submit` decides who may ask), and `file_share` is a message with files attached.
_ANSWERED_SUBTYPES = (None, "bot_message", "file_share")


def register(app: App, deps: BotDeps) -> None:
    @app.event("message")
    def handle_message(body: dict[str, Any], context: BoltContext) -> None:
        event = body["event"]
        if event.get("subtype") not in _ANSWERED_SUBTYPES:
            return
        bot_user_id = context.bot_user_id or ""
        if event.get("channel_type") == "im":
            submit(deps, "dm", body, bot_user_id)
        elif bot_user_id and f"<@{bot_user_id}" in (event.get("text") or ""):
            submit(deps, "mention", body, bot_user_id)
