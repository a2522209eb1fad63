"""`/digest add "JQL" HH:MM`, `/digest list`, `/digest remove N`: a channel's daily Jira
digests. Parse, enqueue, ack; the worker keeps the schedules (RQ's own scheduling runs them)
and answers privately."""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.channel_gate import refusal
from bot.deps import BotDeps
from chatops import messages
from chatops.payloads import DigestCommandJob

log = logging.getLogger(__name__)

_ADD = re.compile(
    r"^add\s+[\"“”'](?P<jql>.+?)[\"“”']\s+(?P<at>(?:[01]?[0-9]|2[0-3]):[0-5][0-9])$",
    re.IGNORECASE | re.DOTALL,
)
_REMOVE = re.compile(r"^(?:remove|rm|delete)\s+#?(?P<number>[1-9][0-9]*)$", re.IGNORECASE)


def parse(text: str) -> dict[str, Any] | None:
    """The verb and its arguments, as `DigestCommandJob` fields; None if not understood."""
    text = text.strip()
    if text.lower() in ("list", "ls", ""):
        return {"verb": "list"}
    if found := _ADD.match(text):
        hours, minutes = found.group("at").split(":")
        return {
            "verb": "add",
            "jql": found.group("jql").strip(),
            "at": f"{int(hours):02}:{minutes}",
        }
    if found := _REMOVE.match(text):
        return {"verb": "remove", "number": int(found.group("number"))}
    return None


def register(app: App, deps: BotDeps) -> None:
    @app.command("/digest")
    def handle_digest(ack: Ack, command: dict[str, Any]) -> None:
        refused = refusal(deps, command["team_id"], command["channel_id"])
        if refused is not None:
            ack(text=refused)
            return
        parsed = parse(command.get("text") or "")
        if parsed is None:
            ack(text=messages.DIGEST_USAGE)
            return
        trigger = command["trigger_id"]
        job = DigestCommandJob(
            request_id=f"digestcmd-{trigger}",
            team_id=command["team_id"],
            enterprise_id=command.get("enterprise_id") or "",
            channel=command["channel_id"],
            user=command["user_id"],
            received_at=deps.clock(),
            response_url=command.get("response_url"),
            **parsed,
        )
        try:
            deps.jobs.enqueue_digest_command(job, once=(("slash", trigger),))
        except redis.RedisError:
            log.exception("enqueue_failed request_id=%s", job.request_id)
            ack(text=messages.BUSY)
            return
        ack()
