"""`app_mention`: answer in the thread, with the thread so far as context."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.listeners.events.submit import submit


def register(app: App, deps: BotDeps) -> None:
    @app.event("app_mention")
    def handle_mention(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        submit(deps, "mention", body, context.bot_user_id or "", client)
