"""The clients a worker process builds once, before it takes its first job.

`install` is called by the worker entrypoint; job functions read `current()`. Building boto3
and slack_sdk clients costs ~200 ms, which no job should pay.

With installs across workspaces (OAuth mode) there is no one Slack token: a job's runtime is
`current().for_team(team, enterprise)`, the same runtime with that installation's clients
(`workers.installations`); in single-workspace mode it is the runtime itself.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.installations import NotInstalledError
from chatops.settings import Settings, load_settings
from chatops.wiring import build_engine, build_slack_client, connect_queue_redis
from gateway.budgets import Budgets
from gateway.channel_policy import ChannelPolicies
from gateway.engine import CostEngine
from gateway.errors import ConfigError
from gateway.response_cache import connect as connect_cache
from prompts import PromptTemplate, load_all
from workers.channels import ChannelKinds
from workers.installations import InstallationClients

log = logging.getLogger(__name__)


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
    # What each channel's admins decided (`gateway.channel_policy`), read through a short cache.
    policies: ChannelPolicies
    # Each workspace's clients, when installs come through OAuth; None with SLACK_BOT_TOKEN.
    installations: InstallationClients | None = None

    def for_team(self, team_id: str, enterprise_id: str = "") -> Runtime:
        """This runtime with the Slack clients of the job's workspace. Raises
        `chatops.installations.NotInstalledError` for a workspace with no installation. A job
        of no workspace (a Jira webhook's summary, which writes only to Jira) gets this one."""
        if self.installations is None or not team_id:
            return self
        clients = self.installations.clients(team_id, enterprise_id)
        return replace(
            self,
            slack=clients.slack,
            slack_stream=clients.slack_stream,
            bot_user_id=clients.bot_user_id,
            channel_kinds=ChannelKinds(clients.slack, self.cache_redis),
        )


def build_runtime(settings: Settings) -> Runtime:
    slack = build_slack_client(settings)
    queue_redis = connect_queue_redis(settings.redis_url)
    # Losing the cache costs money, never correctness: it gives up fast.
    cache_redis = connect_cache(
        settings.cache_redis_url or settings.redis_url, timeout_s=settings.cache_redis_timeout_s
    )
    bot_user_id = _bot_user_id(slack) if settings.slack_bot_token else ""
    policies = ChannelPolicies(
        queue_redis,
        default_allowed=settings.channels_allowed_by_default,
        ttl_s=settings.channel_policy_cache_s,
    )
    # Always budgets: a channel's admins may give it a daily budget at any time.
    caps = settings.budget_caps
    budgets = Budgets(queue_redis, caps, caps_for=policies.budget_caps(caps))
    return Runtime(
        settings=settings,
        engine=build_engine(
            settings,
            queue_redis,
            cache_redis=cache_redis,
            budgets=budgets,
            bot_user_id=bot_user_id,
        ),
        slack=slack,
        slack_stream=build_slack_client(settings, wait_on_rate_limit=False),
        bot_user_id=bot_user_id,
        queue_redis=queue_redis,
        cache_redis=cache_redis,
        prompts=load_all(),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack"),
        channel_kinds=ChannelKinds(slack, cache_redis),
        policies=policies,
        installations=InstallationClients(settings, queue_redis)
        if settings.oauth_enabled
        else None,
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


def team_runtime(team_id: str, enterprise_id: str = "", request_id: str = "") -> Runtime | None:
    """The runtime with the workspace's Slack clients; None (one log line) when the app is
    no longer installed there: the job is dropped."""
    try:
        return current().for_team(team_id, enterprise_id)
    except NotInstalledError as exc:
        log.warning(
            "job_dropped_not_installed request_id=%s team=%s enterprise=%s: %s",
            request_id,
            team_id,
            enterprise_id or "-",
            exc,
        )
        return None


def current() -> Runtime:
    """The installed runtime; built on first use in a process that did not install one."""
    if _current is None:
        install(build_runtime(load_settings()))
    assert _current is not None
    return _current


__all__ = ["Runtime", "build_runtime", "current", "install", "team_runtime"]
