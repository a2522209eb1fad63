"""`app_home_opened`: publish the person's Home tab — the admin page for workspace admins.

One of the few listeners that calls Slack before its ack: the Home is Slack asking for a view,
not work for a worker, and it is cheap (the admin check is cached; spend comes from daily
totals).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import BotDeps
from bot.home.publish import publish_home

log = logging.getLogger(__name__)


def register(app: App, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    def handle_home_opened(
        event: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        team_id = context.team_id or body.get("team_id") or ""
        try:
            admin = publish_home(deps, client, team_id, event["user"])
        except (SlackApiError, redis.RedisError) as exc:
            log.warning("home_not_published team=%s user=%s: %s", team_id, event["user"], exc)
            return
        log.info("home_published team=%s user=%s admin=%s", team_id, event["user"], admin)
