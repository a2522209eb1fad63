"""Events API listeners: @mentions in channels and threads, and direct messages."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import BotDeps
from bot.listeners.events import mention, message


def register(app: App, deps: BotDeps) -> None:
    mention.register(app, deps)
    message.register(app, deps)


__all__ = ["register"]
