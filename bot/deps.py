"""What listeners need besides Bolt's own arguments, built once per process.

Its own module so that listeners import it downward, never `bot.app` (which imports them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from bot.jobs import JobQueue
from chatops.settings import Settings
from chatops.wiring import connect_queue_redis


@dataclass(frozen=True)
class BotDeps:
    settings: Settings
    redis: redis.Redis
    jobs: JobQueue
    clock: Callable[[], float] = field(default=time.time)


def build_deps(settings: Settings) -> BotDeps:
    # Short Redis timeouts: a listener must still ack within Slack's 3 s if Redis is gone.
    connection = connect_queue_redis(settings.redis_url, timeout_s=1.0)
    return BotDeps(settings, connection, JobQueue(connection, settings))


__all__ = ["BotDeps", "build_deps"]
