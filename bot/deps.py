"""What listeners need besides Bolt's own arguments, built once per process.

Its own module so that listeners import it downward, never `bot.app` (which imports them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import redis

from bot.jobs import JobQueue
from chatops.installations import RedisInstallationStore
from chatops.settings import Settings
from chatops.wiring import connect_queue_redis
from gateway.channel_policy import ChannelPolicies
from gateway.ledger import Ledger


@dataclass(frozen=True)
class BotDeps:
    settings: Settings
    redis: redis.Redis
    jobs: JobQueue
    clock: Callable[[], float] = field(default=time.time)

    @cached_property
    def policies(self) -> ChannelPolicies:
        """Channel policies, each read kept CHANNEL_POLICY_CACHE_S in this process."""
        return ChannelPolicies(
            self.redis,
            default_allowed=self.settings.channels_allowed_by_default,
            ttl_s=self.settings.channel_policy_cache_s,
        )

    @cached_property
    def installations(self) -> RedisInstallationStore:
        """Each workspace's installation (OAuth mode), shared with the workers."""
        return RedisInstallationStore(self.redis)

    @cached_property
    def ledger(self) -> Ledger:
        """Read by the App Home (spend in the last 7 days)."""
        return Ledger(self.redis, retention_days=self.settings.ledger_retention_days)


def build_deps(settings: Settings) -> BotDeps:
    # Short Redis timeouts: a listener must still ack within Slack's 3 s if Redis is gone.
    connection = connect_queue_redis(settings.redis_url, timeout_s=1.0)
    return BotDeps(settings, connection, JobQueue(connection, settings))


__all__ = ["BotDeps", "build_deps"]
