"""The channel policy modal submitted: check who submits (a workspace admin), read and check
every field, then save the policy with who set it — or answer with the errors to show under
the fields (`response_action: errors`), which keeps the modal open. A submission by anyone
else is refused under the modal's first field and logged. The admin's Home tab is then
published again, showing the change."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import BotDeps
from bot.home.policy_form import ALLOWED, CALLBACK_ID, read_submission
from bot.home.publish import admin_in, publish_home
from bot.home.views import Deployment
from chatops import messages

log = logging.getLogger(__name__)


def register(app: App, deps: BotDeps) -> None:
    @app.view(CALLBACK_ID)
    def handle_policy_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        team_id = context.team_id or (body.get("team") or {}).get("id", "")
        user = body["user"]["id"]
        form = read_submission(view, Deployment.from_settings(deps.settings).ec2_tiers)
        if not admin_in(deps, client, team_id, user):
            also = messages.admins_also(deps.settings.policy_admin_usergroup.strip())
            deps.policies.refuse(
                team_id, form.channel or "-", by=user, at=deps.clock(), reason="not an admin"
            )
            log.warning("policy_refused team=%s user=%s channel=%s", team_id, user, form.channel)
            ack(
                response_action="errors",
                errors={ALLOWED: messages.POLICY_NOT_ADMIN.format(also=also)},
            )
            return
        if form.policy is None:
            ack(response_action="errors", errors=form.errors)
            return
        change = deps.policies.save(team_id, form.channel, form.policy, by=user, at=deps.clock())
        log.info(
            "channel_policy_changed team=%s channel=%s by=%s fields=%s",
            team_id,
            form.channel,
            user,
            ",".join(change.changes) or "-",
        )
        ack()
        try:
            publish_home(deps, client, team_id, user)
        except (SlackApiError, redis.RedisError) as exc:
            log.warning("home_not_published team=%s user=%s: %s", team_id, user, exc)


__all__ = ["register"]
