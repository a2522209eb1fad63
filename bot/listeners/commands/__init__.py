"""Slash command listeners."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import BotDeps
from bot.listeners.commands import ask, digest, llm_cost, llm_ec2, summarize


def register(app: App, deps: BotDeps) -> None:
    ask.register(app, deps)
    llm_cost.register(app, deps)
    llm_ec2.register(app, deps)
    summarize.register(app, deps)
    digest.register(app, deps)


__all__ = ["register"]
