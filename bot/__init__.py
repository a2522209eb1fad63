"""The Slack edge: the Bolt app, its listeners, dedupe, and the HTTP / Socket Mode servers.

A listener verifies (Bolt checks signatures), parses, dedupes, enqueues one job and acks —
nothing else. Never calls a model; imports `gateway.keys`, `chatops` settings, payloads and
messages, never `workers`.
"""

from bot.app import build_app
from bot.deps import BotDeps

__all__ = ["BotDeps", "build_app"]
