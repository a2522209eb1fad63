"""The buttons under an answer — *Not helpful*, *Answer again with the large model*, *Answer
fresh*: ack, enqueue the click for a worker. No model is called here; the worker re-answers
into the same message from what the answered request kept (its reply state)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.deps import BotDeps
from chatops.payloads import ANSWER_ACTIONS, AnswerActionJob

log = logging.getLogger(__name__)

_ACTION_IDS = re.compile("^(?:" + "|".join(map(re.escape, ANSWER_ACTIONS)) + ")$")


def register(app: App, deps: BotDeps) -> None:
    @app.action(_ACTION_IDS)
    def handle_answer_button(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        job = click_job(body, deps.clock())
        if job is None:
            log.warning("answer_button_unreadable")
            return
        try:
            deps.jobs.enqueue_answer_action(job, once=(("action", job.request_id),))
        except redis.RedisError:
            # Bolt has acknowledged: the click is lost, and the button is still there to retry.
            log.exception("enqueue_failed request_id=%s", job.request_id)
            return
        log.info("enqueued request_id=%s action=%s", job.request_id, job.action)


def click_job(body: dict[str, Any], now: float) -> AnswerActionJob | None:
    """The job for one click, or None when the payload is not one of our buttons' (a value
    that is not ours, a message without a channel)."""
    try:
        action = body["actions"][0]
        answered = str(json.loads(action["value"])["request"])
        channel = str(body["channel"]["id"])
        message = body["message"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    kind = ANSWER_ACTIONS[action["action_id"]]
    # One job per press: Slack's retry of the same delivery carries the same action_ts.
    clicked = re.sub(r"[^A-Za-z0-9_-]", "_", f"{channel}-{message['ts']}-{action['action_ts']}")
    return AnswerActionJob(
        request_id=f"{kind}-{clicked}",
        action=kind,  # type: ignore[arg-type]
        answered=answered,
        team_id=(body.get("team") or {}).get("id", ""),
        enterprise_id=(body.get("enterprise") or {}).get("id") or "",
        channel=channel,
        user=body["user"]["id"],
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts"),
        received_at=now,
        response_url=body.get("response_url"),
    )


__all__ = ["click_job", "register"]
