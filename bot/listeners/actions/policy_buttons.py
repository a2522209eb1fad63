"""The Home tab's *Edit* (a channel's policy) and *Set a channel's policy* buttons: ack, and
open the policy modal — for a workspace admin. Anyone else gets a modal saying who can, and the
attempt is logged. Opening a modal needs the click's trigger id within 3 seconds, so it is done
here rather than by a worker."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import BotDeps
from bot.home.policy_form import policy_modal
from bot.home.publish import admin_in
from bot.home.views import ADD_POLICY_ACTION, EDIT_POLICY_ACTION
from chatops import messages

log = logging.getLogger(__name__)


def register(app: App, deps: BotDeps) -> None:
    @app.action(EDIT_POLICY_ACTION)
    @app.action(ADD_POLICY_ACTION)
    def handle_policy_button(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()
        team_id = context.team_id or (body.get("team") or {}).get("id", "")
        user = body["user"]["id"]
        action = body["actions"][0]
        channel = action.get("value", "") if action["action_id"] == EDIT_POLICY_ACTION else ""
        if admin_in(deps, client, team_id, user):
            view = policy_modal(channel, deps.policies.stored_one(team_id, channel))
        else:
            deps.policies.refuse(
                team_id, channel or "-", by=user, at=deps.clock(), reason="not an admin"
            )
            log.warning("policy_refused team=%s user=%s channel=%s", team_id, user, channel)
            view = not_allowed_modal(deps)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("policy_modal_not_opened user=%s error=%s", user, exc.response.get("error"))


def not_allowed_modal(deps: BotDeps) -> dict[str, Any]:
    also = messages.admins_also(deps.settings.policy_admin_usergroup.strip())
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": messages.POLICY_MODAL_TITLE},
        "close": {"type": "plain_text", "text": messages.POLICY_CANCEL},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": messages.POLICY_NOT_ADMIN.format(also=also)},
            }
        ],
    }


__all__ = ["not_allowed_modal", "register"]
