"""Builds a person's Home tab from the store and the ledger, and publishes it
(`views.publish`): the admin page for a workspace admin, the member page for anyone else."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.home.admins import is_admin
from bot.home.spend import last_week
from bot.home.views import ChannelRow, Deployment, View, admin_home, member_home


def publish_home(deps: BotDeps, client: WebClient, team_id: str, user: str) -> bool:
    """Publish `user`'s Home tab; True when it is the admin page."""
    admin = admin_in(deps, client, team_id, user)
    client.views_publish(user_id=user, view=home_view(deps, team_id, user, admin=admin))
    return admin


def admin_in(deps: BotDeps, client: WebClient, team_id: str, user: str) -> bool:
    group = deps.settings.policy_admin_usergroup.strip()
    return is_admin(client, deps.redis, team_id, user, group)


def home_view(deps: BotDeps, team_id: str, user: str, *, admin: bool) -> View:
    deployment = Deployment.from_settings(deps.settings)
    spend = last_week(deps.ledger, deps.clock())
    stored = deps.policies.stored(team_id)
    ec2_only = sorted(channel for channel, policy in stored.items() if policy.ec2_only)
    own = spend.user(user)
    if not admin:
        return member_home(deployment, own, ec2_only)
    channels = deps.policies.seen(team_id) | set(stored)
    rows = [
        ChannelRow(channel, stored.get(channel, deps.policies.default), spend.channel(channel))
        for channel in channels
    ]
    return admin_home(deployment, rows, deps.policies.log(team_id), own, ec2_only)


__all__ = ["admin_in", "home_view", "publish_home"]
