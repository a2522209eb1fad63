"""`/llm-cost [today|7d|30d] [@user|#channel]`: check who asks, parse, enqueue, ack.
The worker posts the Block Kit report and uploads the chart into its thread."""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.deps import BotDeps
from chatops import messages
from chatops.payloads import CostReportJob
from gateway.report import PERIODS

log = logging.getLogger(__name__)

DEFAULT_PERIOD = "7d"
_USER = re.compile(r"^<@([UW][A-Z0-9_]+)(\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9_]+)(\|[^>]*)?>$")


def parse(text: str) -> dict[str, str] | None:
    """`7d <@U123|bob>` → {"period": "7d", "only_user": "U123"}; None if not understood."""
    parsed = {"period": DEFAULT_PERIOD}
    for word in text.split():
        if word in PERIODS:  # today, 7d, 30d
            parsed["period"] = word
        elif match := _USER.match(word):
            parsed["only_user"] = match.group(1)
        elif match := _CHANNEL.match(word):
            parsed["only_channel"] = match.group(1)
        else:
            return None
    return parsed


def register(app: App, deps: BotDeps) -> None:
    allowed = {u.strip() for u in deps.settings.cost_report_users.split(",") if u.strip()}

    @app.command("/llm-cost")
    def handle_llm_cost(ack: Ack, command: dict[str, Any]) -> None:
        if allowed and command["user_id"] not in allowed:
            ack(text=messages.COST_NOT_ALLOWED)
            return
        parsed = parse(command.get("text") or "")
        if parsed is None:
            ack(text=messages.COST_USAGE)
            return
        job = CostReportJob(
            request_id=f"cost-{command['trigger_id']}",
            team_id=command["team_id"],
            channel=command["channel_id"],
            user=command["user_id"],
            received_at=deps.clock(),
            response_url=command.get("response_url"),
            **parsed,
        )
        try:
            deps.jobs.enqueue_cost_report(job, once=(("slash", command["trigger_id"]),))
        except redis.RedisError:
            log.exception("enqueue_failed request_id=%s", job.request_id)
            ack(text=messages.BUSY)
            return
        ack()
