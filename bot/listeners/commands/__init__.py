"""Slash command listeners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from bot.listeners.commands import ask

if TYPE_CHECKING:
    from bot.app import BotDeps


def register(app: App, deps: BotDeps) -> None:
    ask.register(app, deps)


__all__ = ["register"]
