"""Who may change channel policies: a workspace admin or owner (Slack's `users.info`
is_admin / is_owner / is_primary_owner), or a member of POLICY_ADMIN_USERGROUP.

The answer is kept briefly in the queue Redis (ADMIN_TTL_S), so opening the Home tab or saving
a modal does not ask Slack each time; someone who stops being an admin keeps the page at most
that long. When Slack cannot say, the person is not an admin (and nothing is kept).
"""

from __future__ import annotations

import contextlib
import logging

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from gateway import keys

log = logging.getLogger(__name__)

ADMIN_TTL_S = 60


def is_admin(
    client: WebClient, connection: redis.Redis, team_id: str, user: str, usergroup: str = ""
) -> bool:
    key = keys.policy_admin(team_id, user)
    try:
        known = connection.get(key)
    except redis.RedisError:
        known = None
    if known is not None:
        return known in (b"1", "1")
    try:
        answer = _ask_slack(client, user, usergroup)
    except SlackApiError as exc:
        log.warning(
            "admin_unknown team=%s user=%s error=%s", team_id, user, exc.response.get("error")
        )
        return False
    with contextlib.suppress(redis.RedisError):
        connection.set(key, int(answer), ex=ADMIN_TTL_S)
    return answer


def _ask_slack(client: WebClient, user: str, usergroup: str) -> bool:
    info = client.users_info(user=user)["user"]
    if info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"):
        return True
    if not usergroup:
        return False
    members = client.usergroups_users_list(usergroup=usergroup).get("users") or []
    return user in members


__all__ = ["ADMIN_TTL_S", "is_admin"]
