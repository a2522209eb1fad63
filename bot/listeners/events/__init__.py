"""Events API listeners: @mentions in channels and threads, direct messages, the App Home
opened, and the app uninstalled (or its token revoked)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import BotDeps
from bot.listeners.events import app_home, mention, message, uninstall


def register(app: App, deps: BotDeps) -> None:
    mention.register(app, deps)
    message.register(app, deps)
    app_home.register(app, deps)
    uninstall.register(app, deps)


__all__ = ["register"]
