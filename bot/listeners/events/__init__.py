"""Events API listeners: @mentions in channels and threads, and direct messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from bot.listeners.events import mention, message

if TYPE_CHECKING:
    from bot.app import BotDeps


def register(app: App, deps: BotDeps) -> None:
    mention.register(app, deps)
    message.register(app, deps)


__all__ = ["register"]
