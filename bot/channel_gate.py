"""Whether the bot may be asked in a channel (its policy, `gateway.channel_policy`), and the
one sentence a person gets where it may not, naming who can allow it. Nothing is queued for a
refused request.

A slash command says it in its ack (ephemeral by nature). An event has no reply of its own,
so the listener posts the sentence as an ephemeral message — once per message, however often
Slack delivers the event.
"""

from __future__ import annotations

import logging

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.dedupe import DEDUPE_TTL_S
from bot.deps import BotDeps
from chatops import messages
from gateway import keys

log = logging.getLogger(__name__)


def refusal(deps: BotDeps, team_id: str, channel: str) -> str | None:
    """The sentence for a channel where the bot may not be asked; None where it may — or
    where Redis cannot say: then nothing can be queued either, and the person is told that."""
    try:
        if deps.policies.get(team_id, channel).allowed:
            return None
    except redis.RedisError as exc:
        log.warning("channel_policy_unread team=%s channel=%s: %s", team_id, channel, exc)
        return None
    log.info("channel_not_allowed team=%s channel=%s", team_id, channel)
    also = messages.admins_also(deps.settings.policy_admin_usergroup.strip())
    return messages.CHANNEL_NOT_ALLOWED.format(also=also)


def tell_refused(
    deps: BotDeps,
    client: WebClient,
    text: str,
    *,
    message: tuple[str, str],
    user: str,
    thread_ts: str | None,
) -> None:
    """Post `text` to `user` alone beside `message` (channel, ts), unless already told."""
    channel, ts = message
    try:
        first = deps.redis.set(
            keys.dedupe("refused", f"{channel}:{ts}"), 1, nx=True, ex=DEDUPE_TTL_S
        )
    except redis.RedisError:
        first = True  # telling twice beats not telling
    if not first:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("refusal_not_shown channel=%s error=%s", channel, exc.response.get("error"))


__all__ = ["refusal", "tell_refused"]
