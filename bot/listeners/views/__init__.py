"""Modal submissions (`view_submission`): the channel policy modal of the App Home."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import BotDeps
from bot.listeners.views import channel_policy


def register(app: App, deps: BotDeps) -> None:
    channel_policy.register(app, deps)


__all__ = ["register"]
