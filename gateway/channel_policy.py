"""A channel's policy, set by workspace admins from the App Home, and the one place it is read.

What a channel's admins decide: whether the bot may be asked there at all; the least and the
most capable tier that may answer; a line added to the system prompt; whether replies in a
thread the bot is part of are answered without a new mention (opt-in); whether its answers may
be cached (and shared); whether its requests may reach the self-hosted model only ("EC2 only":
never Bedrock, not even as a fallback); and its daily budget.

Layout (queue Redis, noeviction; builders in `gateway.keys`):

    chatops:policy:{team}        HASH  channel id -> policy JSON
    chatops:policy:{team}:log    LIST  every change and refused attempt (JSON), newest first
    chatops:policy:{team}:seen   SET   channels people have asked from (the admin page's list)

A channel with no stored policy has the default one: allowed unless the deployment says
otherwise (CHANNELS_ALLOWED_BY_DEFAULT), no limits. Reads are kept in the process for `ttl_s`
(a few seconds): a change reaches every bot and worker process within that, and a busy
channel costs no Redis round trip per message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace

import redis

from gateway import keys
from gateway.budgets import BudgetCaps, CapsLookup
from gateway.pricing import EC2_BACKEND
from gateway.router import TIERS, tier_rank

# Longest prompt addition a channel may carry: it is sent with every question asked there.
MAX_PROMPT_CHARS = 1_000
# How many changes (and refused attempts) a workspace's log keeps.
LOG_LENGTH = 200
# A channel asked from is listed on the admin page this long after its last question.
SEEN_TTL_S = 30 * 86_400
# Fields a person changes; the rest say who changed them and when.
POLICY_FIELDS = (
    "allowed",
    "min_tier",
    "max_tier",
    "prompt_addition",
    "thread_replies",
    "cache_allowed",
    "ec2_only",
    "daily_budget_micro_usd",
)


@dataclass(frozen=True)
class ChannelPolicy:
    allowed: bool = True
    # Tier names from `gateway.router.TIERS`; "" for no limit.
    min_tier: str = ""
    max_tier: str = ""
    prompt_addition: str = ""
    # Answer replies in a thread the bot has answered in, without a mention.
    thread_replies: bool = False
    cache_allowed: bool = True
    ec2_only: bool = False
    # 0: the deployment's channel cap (BUDGET_CHANNEL_DAILY_MICRO_USD) applies.
    daily_budget_micro_usd: int = 0
    # Who set it and when (unix seconds); empty for a channel nobody has set.
    updated_by: str = ""
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        for name in ("min_tier", "max_tier"):
            tier = getattr(self, name)
            if tier and tier not in TIERS:
                raise ValueError(f"{name}: unknown tier {tier!r} (expected one of {TIERS})")
        if self.min_tier and self.max_tier and tier_rank(self.min_tier) > tier_rank(self.max_tier):
            raise ValueError(f"min_tier {self.min_tier} is above max_tier {self.max_tier}")
        if self.daily_budget_micro_usd < 0:
            raise ValueError(
                f"daily_budget_micro_usd cannot be negative ({self.daily_budget_micro_usd})"
            )
        if len(self.prompt_addition) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt_addition is longer than {MAX_PROMPT_CHARS} characters")

    @property
    def is_set(self) -> bool:
        return bool(self.updated_by)

    @property
    def allowed_backends(self) -> tuple[str, ...]:
        """What `LLMRequest.allowed_backends` carries for this channel: empty for any."""
        return (EC2_BACKEND,) if self.ec2_only else ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ChannelPolicy:
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})

    def changes_from(self, before: ChannelPolicy) -> dict[str, tuple[object, object]]:
        """What a person changed: field -> (before, after)."""
        return {
            name: (getattr(before, name), getattr(self, name))
            for name in POLICY_FIELDS
            if getattr(before, name) != getattr(self, name)
        }


@dataclass(frozen=True)
class PolicyChange:
    """One entry of a workspace's log: a change, or an attempt refused (`refused` says why)."""

    at: float
    by: str
    channel: str
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)
    refused: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))  # its changes in the order of POLICY_FIELDS

    @classmethod
    def from_json(cls, raw: str | bytes) -> PolicyChange:
        data = json.loads(raw)
        data["changes"] = {k: tuple(v) for k, v in data.get("changes", {}).items()}
        return cls(**data)


class ChannelPolicies:
    """Reads (cached for `ttl_s`) and writes channel policies in the queue Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        default_allowed: bool = True,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self.default = ChannelPolicy(allowed=default_allowed)
        self._ttl_s = ttl_s
        self._clock = clock
        self._cached: dict[tuple[str, str], tuple[float, ChannelPolicy]] = {}

    def get(self, team_id: str, channel: str) -> ChannelPolicy:
        """The channel's policy, or the default. A read that reaches Redis also notes the
        channel as asked from (at most once per `ttl_s` per process)."""
        now = self._clock()
        cached = self._cached.get((team_id, channel))
        if cached is not None and cached[0] > now:
            return cached[1]
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(keys.channel_policies(team_id), channel)
        if _is_channel(channel):
            pipe.sadd(keys.channels_seen(team_id), channel)
            pipe.expire(keys.channels_seen(team_id), SEEN_TTL_S)
        raw = pipe.execute()[0]
        policy = ChannelPolicy.from_json(raw) if raw else self.default
        if self._ttl_s > 0:
            self._cached[(team_id, channel)] = (now + self._ttl_s, policy)
        return policy

    def stored(self, team_id: str) -> dict[str, ChannelPolicy]:
        """Every channel of the workspace with a policy of its own (not cached)."""
        raw = self._redis.hgetall(keys.channel_policies(team_id))
        return {_text(k): ChannelPolicy.from_json(v) for k, v in raw.items()}

    def seen(self, team_id: str) -> set[str]:
        return {_text(member) for member in self._redis.smembers(keys.channels_seen(team_id))}

    def save(
        self, team_id: str, channel: str, policy: ChannelPolicy, *, by: str, at: float
    ) -> PolicyChange:
        """Store the channel's policy as `by` set it, and log what changed."""
        before = self.stored_one(team_id, channel)
        policy = replace(policy, updated_by=by, updated_at=at)
        change = PolicyChange(at, by, channel, policy.changes_from(before))
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(keys.channel_policies(team_id), channel, policy.to_json())
        self._log(pipe, team_id, change)
        pipe.execute()
        self._cached.pop((team_id, channel), None)
        return change

    def stored_one(self, team_id: str, channel: str) -> ChannelPolicy:
        """The channel's policy as stored now (never cached), or the default."""
        raw = self._redis.hget(keys.channel_policies(team_id), channel)
        return ChannelPolicy.from_json(raw) if raw else self.default

    def refuse(
        self, team_id: str, channel: str, *, by: str, at: float, reason: str
    ) -> PolicyChange:
        """Log an attempted change that was not made, and why."""
        change = PolicyChange(at, by, channel, refused=reason)
        pipe = self._redis.pipeline(transaction=True)
        self._log(pipe, team_id, change)
        pipe.execute()
        return change

    def log(self, team_id: str, limit: int = 10) -> list[PolicyChange]:
        """The newest entries first."""
        raw = self._redis.lrange(keys.channel_policy_log(team_id), 0, limit - 1)
        return [PolicyChange.from_json(entry) for entry in raw]

    def drop_team(self, team_id: str) -> list[str]:
        """Forget a workspace (its app was uninstalled): its policies, log and channels. The
        channels it had, for the caller to drop what else it keeps per channel."""
        channels = sorted(self.seen(team_id) | set(self.stored(team_id)))
        self._redis.delete(
            keys.channel_policies(team_id),
            keys.channel_policy_log(team_id),
            keys.channels_seen(team_id),
        )
        self._cached = {k: v for k, v in self._cached.items() if k[0] != team_id}
        return channels

    def budget_caps(self, base: BudgetCaps) -> CapsLookup:
        """`Budgets(caps_for=…)`: the deployment's caps, with a channel's own daily budget in
        place of the channel cap where its admins set one."""

        def caps(user: str, channel: str, workspace: str) -> BudgetCaps:
            own = self.get(workspace, channel).daily_budget_micro_usd if channel else 0
            return replace(base, channel_micro_usd=own) if own else base

        return caps

    def _log(self, pipe: redis.client.Pipeline, team_id: str, change: PolicyChange) -> None:
        pipe.lpush(keys.channel_policy_log(team_id), change.to_json())
        pipe.ltrim(keys.channel_policy_log(team_id), 0, LOG_LENGTH - 1)


def _is_channel(channel: str) -> bool:
    """A public or private channel (C…, G…); DMs have no policy of their own."""
    return channel[:1] in ("C", "G")


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = [
    "LOG_LENGTH",
    "MAX_PROMPT_CHARS",
    "POLICY_FIELDS",
    "ChannelPolicies",
    "ChannelPolicy",
    "PolicyChange",
]
