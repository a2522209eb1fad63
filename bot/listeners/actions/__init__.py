"""Block Kit action listeners (buttons under the bot's messages, and on its App Home)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import BotDeps
from bot.listeners.actions import answer_buttons, policy_buttons, post_summary


def register(app: App, deps: BotDeps) -> None:
    post_summary.register(app, deps)
    answer_buttons.register(app, deps)
    policy_buttons.register(app, deps)


__all__ = ["register"]
