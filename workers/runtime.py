"""The clients a worker process builds once, before it takes its first job.

`install` is called by the worker entrypoint; job functions read `current()`. Building boto3
and slack_sdk clients costs ~200 ms, which no job should pay.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.settings import Settings, load_settings
from chatops.wiring import build_engine, build_slack_client, connect_queue_redis
from gateway.engine import CostEngine
from gateway.errors import ConfigError
from gateway.response_cache import connect as connect_cache
from prompts import PromptTemplate, load_all
from workers.channels import ChannelKinds


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: CostEngine
    # Waits out 429s (Retry-After): roots, updates, history, uploads.
    slack: WebClient
    # For the streamed reply: a 429 defers its flushes instead of blocking the model stream.
    slack_stream: WebClient
    bot_user_id: str
    queue_redis: redis.Redis
    cache_redis: redis.Redis
    prompts: dict[str, PromptTemplate]
    # Slack calls that can overlap the model call (posting an /ask root message).
    background: ThreadPoolExecutor
    # Public, private or DM: who may share what an answer there produces.
    channel_kinds: ChannelKinds


def build_runtime(settings: Settings) -> Runtime:
    slack = build_slack_client(settings)
    queue_redis = connect_queue_redis(settings.redis_url)
    # Losing the cache costs money, never correctness: it gives up fast.
    cache_redis = connect_cache(
        settings.cache_redis_url or settings.redis_url, timeout_s=settings.cache_redis_timeout_s
    )
    bot_user_id = _bot_user_id(slack) if settings.slack_bot_token else ""
    return Runtime(
        settings=settings,
        engine=build_engine(
            settings, queue_redis, cache_redis=cache_redis, bot_user_id=bot_user_id
        ),
        slack=slack,
        slack_stream=build_slack_client(settings, wait_on_rate_limit=False),
        bot_user_id=bot_user_id,
        queue_redis=queue_redis,
        cache_redis=cache_redis,
        prompts=load_all(),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack"),
        channel_kinds=ChannelKinds(slack, cache_redis),
    )


def _bot_user_id(slack: WebClient) -> str:
    """Who the bot is (to tell its own thread messages apart); also proves the token works."""
    try:
        return str(slack.auth_test()["user_id"])
    except (SlackApiError, OSError) as exc:
        raise ConfigError(f"SLACK_BOT_TOKEN: Slack's auth.test failed ({exc})") from exc


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    """The installed runtime; built on first use in a process that did not install one."""
    if _current is None:
        install(build_runtime(load_settings()))
    assert _current is not None
    return _current


__all__ = ["Runtime", "build_runtime", "current", "install"]
