"""The *Post to Jira* button under a summary: ack, enqueue the post. The worker writes the
summary it showed (from its cache, no model call while the issue is unchanged) as the issue's
one summary comment, and rewrites the button's message with the outcome."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.deps import BotDeps
from chatops.payloads import POST_SUMMARY_ACTION, SummarizeJob

log = logging.getLogger(__name__)


def register(app: App, deps: BotDeps) -> None:
    @app.action(POST_SUMMARY_ACTION)
    def handle_post_summary(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        action = body["actions"][0]
        key = str(json.loads(action["value"])["key"])
        channel = body["channel"]["id"]
        message = body["message"]
        clicked = f"{channel}:{message['ts']}:{action.get('action_ts', '')}"
        job = SummarizeJob(
            request_id=f"post-{clicked.replace(':', '-')}",
            source="button",
            key=key,
            post=True,
            team_id=(body.get("team") or {}).get("id", ""),
            enterprise_id=(body.get("enterprise") or {}).get("id") or "",
            channel=channel,
            user=body["user"]["id"],
            thread_ts=message.get("thread_ts") or message["ts"],
            notice_ts=message["ts"],
            received_at=deps.clock(),
            response_url=body.get("response_url"),
        )
        try:
            deps.jobs.enqueue_summary(job, once=(("action", clicked),))
        except redis.RedisError:
            # Bolt has acknowledged: the click is lost, and the button is still there to retry.
            log.exception("enqueue_failed request_id=%s", job.request_id)
