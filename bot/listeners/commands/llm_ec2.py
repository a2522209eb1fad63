"""`/llm-ec2 [status|start|stop] [instance-id]`: check who asks, parse, enqueue, ack.
The worker asks the instance controller and answers privately."""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.deps import BotDeps
from chatops import messages
from chatops.payloads import Ec2CommandJob
from chatops.settings import Settings, split_names

log = logging.getLogger(__name__)

VERBS = ("status", "start", "stop")
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")


def parse(text: str) -> dict[str, str] | None:
    """`start i-0abc…` → {"verb": "start", "instance_id": "i-0abc…"}; None if not understood."""
    words = text.split()
    verb = words.pop(0) if words and words[0] in VERBS else "status"
    if len(words) > 1 or (words and not _INSTANCE_ID.match(words[0])):
        return None
    return {"verb": verb, **({"instance_id": words[0]} if words else {})}


def allowed_users(settings: Settings) -> frozenset[str]:
    """EC2_CONTROL_USERS (else COST_REPORT_USERS) and COST_REPORT_ADMINS; nobody when they
    are empty: starting and stopping GPUs is spending money, like seeing spend."""
    listed = settings.ec2_control_users or settings.cost_report_users
    return frozenset(split_names(listed)) | frozenset(split_names(settings.cost_report_admins))


def register(app: App, deps: BotDeps) -> None:
    allowed = allowed_users(deps.settings)

    @app.command("/llm-ec2")
    def handle_llm_ec2(ack: Ack, command: dict[str, Any]) -> None:
        if command["user_id"] not in allowed:
            ack(text=messages.EC2_NOT_ALLOWED)
            return
        parsed = parse(command.get("text") or "")
        if parsed is None:
            ack(text=messages.EC2_USAGE)
            return
        job = Ec2CommandJob(
            request_id=f"ec2-{command['trigger_id']}",
            team_id=command["team_id"],
            enterprise_id=command.get("enterprise_id") or "",
            channel=command["channel_id"],
            user=command["user_id"],
            received_at=deps.clock(),
            response_url=command.get("response_url"),
            **parsed,  # type: ignore[arg-type]
        )
        try:
            deps.jobs.enqueue_ec2_command(job, once=(("slash", command["trigger_id"]),))
        except redis.RedisError:
            log.exception("enqueue_failed request_id=%s", job.request_id)
            ack(text=messages.BUSY)
            return
        ack()


__all__ = ["VERBS", "allowed_users", "parse", "register"]
