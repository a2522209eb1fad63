"""Slash command listeners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from bot.listeners.commands import ask, llm_cost

if TYPE_CHECKING:
    from bot.app import BotDeps


def register(app: App, deps: BotDeps) -> None:
    ask.register(app, deps)
    llm_cost.register(app, deps)


__all__ = ["register"]
