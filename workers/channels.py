"""What kind of conversation a request came from — public, private or a DM — for the privacy
scope of what its answer may be shared with (`gateway.response_cache.Scope`).

DMs are known by their id. Channels are asked of Slack once (`conversations.info`) and
remembered for a day in the cache Redis; when Slack cannot say, the kind is unknown, and an
unknown kind gets the narrowest scope (the person within the channel).
"""

from __future__ import annotations

import contextlib
import logging

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from gateway import keys
from gateway.response_cache import ChannelKind, Scope

log = logging.getLogger(__name__)

KIND_TTL_S = 24 * 3600


class ChannelKinds:
    def __init__(self, slack: WebClient, cache: redis.Redis) -> None:
        self._slack = slack
        self._cache = cache

    def kind(self, channel: str) -> str:
        """`public`, `private`, `dm`, or "" when it cannot be told."""
        if channel.startswith("D"):
            return ChannelKind.DM
        try:
            known = self._cache.get(keys.channel_kind(channel))
        except redis.RedisError:
            known = None
        if known is not None:
            return known.decode() if isinstance(known, bytes) else str(known)
        kind = self._ask_slack(channel)
        if kind:
            with contextlib.suppress(redis.RedisError):
                self._cache.set(keys.channel_kind(channel), kind, ex=KIND_TTL_S)
        return kind

    def scope(self, channel: str, *, workspace: str, user: str) -> str:
        return Scope.of(self.kind(channel), workspace=workspace, channel=channel, user=user).name

    def _ask_slack(self, channel: str) -> str:
        try:
            info = self._slack.conversations_info(channel=channel)["channel"]
        except (SlackApiError, KeyError, TypeError) as exc:
            log.info("channel_kind_unknown channel=%s: %s", channel, exc)
            return ""
        if info.get("is_im"):
            return ChannelKind.DM
        private = info.get("is_private") or info.get("is_group") or info.get("is_mpim")
        return ChannelKind.PRIVATE if private else ChannelKind.PUBLIC


__all__ = ["ChannelKinds"]
