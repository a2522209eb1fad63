"""`/llm-cost [today|7d|30d] [@user|#channel] [share]`: check who asks, parse, enqueue, ack.
The worker sends the Block Kit report and its chart to the person in a DM, or posts them in
the channel when they add `share`.

Spend names people and channels, so nobody sees it unless named: COST_REPORT_USERS,
COST_REPORT_ADMINS, or the Slack user group COST_REPORT_USERGROUP (whose members the worker
looks up: a listener makes no Slack call before its ack). Another person's spend is for
admins alone.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.deps import BotDeps
from chatops import messages
from chatops.payloads import CostReportJob
from chatops.settings import Settings, split_names
from gateway.report import PERIODS

log = logging.getLogger(__name__)

DEFAULT_PERIOD = "7d"
SHARE = "share"
_USER = re.compile(r"^<@([UW][A-Z0-9_]+)(\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9_]+)(\|[^>]*)?>$")


def parse(text: str) -> dict[str, Any] | None:
    """`7d <@U123|bob> share` → {"period": "7d", "only_user": "U123", "share": True}; None if
    not understood."""
    parsed: dict[str, Any] = {"period": DEFAULT_PERIOD}
    for word in text.split():
        if word in PERIODS:  # today, 7d, 30d
            parsed["period"] = word
        elif word == SHARE:
            parsed["share"] = True
        elif match := _USER.match(word):
            parsed["only_user"] = match.group(1)
        elif match := _CHANNEL.match(word):
            parsed["only_channel"] = match.group(1)
        else:
            return None
    return parsed


def refusal(settings: Settings, user: str, parsed: dict[str, Any] | None) -> str | None:
    """What to tell a person who may not have this report; None when the worker may build
    it (for a user group's member, once it has checked the membership)."""
    admins = split_names(settings.cost_report_admins)
    listed = user in admins or user in split_names(settings.cost_report_users)
    if not listed and not settings.cost_report_usergroup.strip():
        return messages.COST_NOT_ALLOWED
    if parsed is None:
        return messages.COST_USAGE
    if parsed.get("only_user", user) != user and user not in admins:
        return messages.COST_OTHERS_NOT_ALLOWED
    return None


def register(app: App, deps: BotDeps) -> None:
    @app.command("/llm-cost")
    def handle_llm_cost(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse(command.get("text") or "")
        refused = refusal(deps.settings, command["user_id"], parsed)
        if refused is not None or parsed is None:
            ack(text=refused or messages.COST_USAGE)
            return
        job = CostReportJob(
            request_id=f"cost-{command['trigger_id']}",
            team_id=command["team_id"],
            enterprise_id=command.get("enterprise_id") or "",
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
