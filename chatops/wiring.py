"""Builds the clients the processes need from `Settings`: the one place that does."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from chatops.settings import Settings
from gateway import Gateway, Route
from gateway.backends import BACKENDS
from gateway.budgets import Budgets
from gateway.caching import AnswerCache
from gateway.calibration import TokenCalibration
from gateway.call_journal import CallJournal
from gateway.ec2_fleet import Ec2Fleet, Ec2FleetBackend
from gateway.embeddings import build_embedder
from gateway.engine import CostEngine
from gateway.freshness import FreshnessPolicy
from gateway.ledger import Ledger
from gateway.pricing import EC2_BACKEND, PriceCatalog
from gateway.response_cache import ResponseCache
from gateway.semantic_cache import SemanticCache
from gateway.shaping import ShapePolicy
from gateway.single_flight import SingleFlight

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# A call's lease in the journal outlasts the longest silence a live stream may have.
CALL_LEASE_MARGIN_S = 10.0
SLACK_RATE_LIMIT_RETRIES = 3
QUEUE_REDIS_RETRIES = 3


def connect_queue_redis(url: str, *, timeout_s: float | None = None) -> redis.Redis:
    """A client for the queue/state Redis that comes back after an outage by itself: a pooled
    connection that died meanwhile is reconnected and its command sent again (a few times,
    briefly), instead of failing the first command after Redis returns."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), QUEUE_REDIS_RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )


def build_gateway(
    settings: Settings,
    only_backend: str | None = None,
    queue_redis: redis.Redis | None = None,
) -> Gateway:
    """A gateway with only the backends the tiers use (building boto3 costs ~200 ms).

    `only_backend` keeps just that backend's routes in every tier (the CLI's `--backend`).
    With `queue_redis` and EC2 instances configured, the `ec2` backend spreads calls over the
    running instances, and a route to them is skipped while none is ready (`ec2 stopped`,
    `ec2 starting`): the tier's next route answers meanwhile.
    """
    tiers: dict[str, tuple[Route, ...]] = {
        name: tuple(r for r in routes if only_backend in (None, r.backend))
        for name, routes in settings.tiers.items()
    }
    used = {route.backend for routes in tiers.values() for route in routes}
    backends = {name: BACKENDS[name].from_settings(settings) for name in sorted(used)}
    fleet = Ec2Fleet.from_settings(settings, queue_redis) if queue_redis is not None else None
    if fleet is not None and EC2_BACKEND in backends:
        backends[EC2_BACKEND].close()
        backends[EC2_BACKEND] = Ec2FleetBackend.from_settings(settings, fleet)
    return Gateway(backends, tiers, availability=fleet.availability if fleet else None)


def build_slack_client(
    settings: Settings, *, wait_on_rate_limit: bool = True, token: str | None = None
) -> WebClient:
    """The Web API client of the bot and the workers (`SLACK_API_URL` points it elsewhere),
    with SLACK_BOT_TOKEN or `token` (one installation's, when installs come through OAuth).

    A 429 is waited out (`Retry-After`) and retried; connection errors are not retried, since
    Slack may have posted a message whose answer was lost, and a blind retry would post it
    twice. The streaming reply uses a client with `wait_on_rate_limit=False`: it defers its
    flushes itself rather than block the model's stream.
    """
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    handlers: list[RetryHandler] = (
        [RateLimitErrorRetryHandler(max_retry_count=SLACK_RATE_LIMIT_RETRIES)]
        if wait_on_rate_limit
        else []
    )
    return WebClient(
        token=token,
        base_url=settings.slack_api_url or DEFAULT_SLACK_API_URL,
        retry_handlers=handlers,
    )


def build_engine(
    settings: Settings,
    queue_redis: redis.Redis,
    *,
    cache_redis: redis.Redis | None = None,
    budgets: Budgets | None = None,
    bot_user_id: str = "",
    gateway: Gateway | None = None,
) -> CostEngine:
    """The gateway wrapped in the cost levers, pricing, the ledger and (when any cap is set)
    budgets. The response caches and the token calibration live in `cache_redis` (the queue
    Redis when not given: fine in development).

    `budgets` replaces the caps from settings (the API's, per token and per team); `gateway`
    one built already (the CLI builds its model clients before it opens a ledger)."""
    caps = settings.budget_caps
    if budgets is None and any(caps.in_scope_order()):
        budgets = Budgets(queue_redis, caps)
    cache_client = cache_redis if cache_redis is not None else queue_redis
    return CostEngine(
        gateway or build_gateway(settings, queue_redis=queue_redis),
        PriceCatalog.load(settings.pricing_file),
        Ledger(queue_redis, retention_days=settings.ledger_retention_days),
        CallJournal(queue_redis, settings.model_read_timeout_s + CALL_LEASE_MARGIN_S),
        levers=settings.lever_set,
        budgets=budgets,
        unpriced_call_micro_usd=settings.budget_unpriced_call_micro_usd,
        shape_policy=ShapePolicy(
            question_tokens=settings.compact_question_tokens,
            thread_tokens=settings.thread_budget_tokens,
        ),
        answers=build_answer_cache(settings, cache_client, bot_user_id),
        calibration=TokenCalibration(cache_client),
    )


def build_answer_cache(
    settings: Settings, cache_redis: redis.Redis, bot_user_id: str = ""
) -> AnswerCache:
    """The exact response cache with single-flight, and the semantic cache when it is on."""
    responses = ResponseCache(cache_redis)
    semantic = None
    if settings.semantic_cache:
        embedder = build_embedder(settings)
        embedder.warm()  # loaded once at start-up, never on a person's first question
        semantic = SemanticCache(
            responses,
            embedder,
            threshold=settings.semantic_threshold,
            capacity=settings.semantic_capacity,
            embed_budget_s=settings.embedding_timeout_s,
        )
    return AnswerCache(
        SingleFlight(responses, semantic=semantic),
        FreshnessPolicy.from_settings(settings),
        bot_user_id=bot_user_id,
    )


__all__ = [
    "DEFAULT_SLACK_API_URL",
    "build_answer_cache",
    "build_engine",
    "build_gateway",
    "build_slack_client",
    "connect_queue_redis",
]
