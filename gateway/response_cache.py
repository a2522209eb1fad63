"""The exact response cache: one answer per normalised request, in the cache Redis.

A `CacheKey` hashes everything that shapes an answer — a version, the tier and the route
that would answer, the task, the system prompt, the whole (already compacted) conversation
and the generation settings — plus the privacy scope, so an answer cannot leave its scope by
construction: the workspace for public channels, the channel for private ones, the person in
a DM, and the person within the channel when the kind is unknown. What does not change the
meaning is normalised away first: case, whitespace, trailing `?!.`, the bot's own mention and
Slack markup.

The cache Redis evicts (`allkeys-lfu`) and may be down: every Redis error here is a miss or a
skipped write, never an error for the caller, and after one the cache stays out of the way
for a few seconds instead of making each request wait for a timeout. A corrupt entry is
deleted and read as a miss. Only finished, whole answers are stored (`storable`).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway import keys
from gateway.types import Completion, LLMRequest, Route, Usage

log = logging.getLogger(__name__)

# Bump when what a key covers, or how an answer is stored, changes: old entries become misses.
CACHE_VERSION = "1"
DEFAULT_TIMEOUT_S = 0.25
# After a Redis error the cache is skipped for this long (a down cache costs one timeout).
DEFAULT_COOL_OFF_S = 5.0
# Stop reasons (Bedrock's words; the OpenAI backend maps to them) of a whole answer.
COMPLETE_STOP_REASONS = frozenset({"end_turn", "stop_sequence"})

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|[^>]*)?>")
_LINK = re.compile(r"<(?:mailto:)?([^>|]+)(?:\|[^>]*)?>")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_EMPHASIS = re.compile(r"(?<!\w)[*~`]+|[*~`]+(?!\w)")
_TRAILING = re.compile(r"[\s?!.]+$")
_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry,|i (?:can(?:no|')t|am unable to|'m unable to|won't) "
    r"(?:help|assist|answer|provide|do that|comply)|as an ai\b)",
    re.IGNORECASE,
)


def clean_markup(text: str, bot_user_id: str = "") -> str:
    """Slack markup as a person reads it: the bot's own mention dropped, `<@U1|ann>` → `@U1`,
    `<#C1|ops>` → `#C1`, `<!here>` → `@here`, `<https://x.io/a|label>` → `x.io/a`, entities
    unescaped, emphasis markers removed. Case and spacing are kept (the guards read case)."""

    def mention(match: re.Match[str]) -> str:
        return "" if match.group(1) == bot_user_id else f"@{match.group(1)}"

    def link(match: re.Match[str]) -> str:
        return _SCHEME.sub("", match.group(1)).rstrip("/")

    text = _MENTION.sub(mention, text)
    text = _CHANNEL.sub(r"#\1", text)
    text = _SPECIAL.sub(r"@\1", text)
    text = html.unescape(_LINK.sub(link, text))
    return " ".join(_EMPHASIS.sub("", text).split())


def fold(text: str) -> str:
    """What two texts must share to be the same question: case, spacing and trailing
    `?!.` removed. Apply after `clean_markup`."""
    return _TRAILING.sub("", " ".join(text.casefold().split()))


class ChannelKind(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    DM = "dm"


@dataclass(frozen=True)
class Scope:
    """Who may share an answer. `name` is part of every key built in this scope."""

    name: str

    @classmethod
    def of(cls, kind: str, *, workspace: str, channel: str, user: str) -> Scope:
        """Public channel → workspace; private → channel; DM → person; unknown → the person
        within the channel (narrower than either)."""
        if kind == ChannelKind.PUBLIC:
            return cls(f"workspace:{workspace}")
        if kind == ChannelKind.PRIVATE:
            return cls(f"channel:{workspace}:{channel}")
        if kind == ChannelKind.DM:
            return cls(f"person:{workspace}:{user}")
        return cls(f"person-in-channel:{workspace}:{channel}:{user}")


def _digest(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()


@dataclass(frozen=True)
class CacheKey:
    """The identity of one answer. `partition` is the same hash without the conversation: a
    semantic neighbour may only come from the same partition (scope, prompt, route, settings)."""

    digest: str
    partition: str
    scope: Scope
    route: Route
    tier: str
    task: str
    max_output_tokens: int
    # The last user message, markup cleaned but case kept: what the semantic cache compares.
    question: str
    # True when earlier messages (a thread, a DM's history) are part of the conversation.
    is_follow_up: bool

    @classmethod
    def for_request(
        cls, request: LLMRequest, *, route: Route, scope: Scope, bot_user_id: str = ""
    ) -> CacheKey:
        """`route` is the one that would answer (the tier's primary)."""
        context = {
            "v": CACHE_VERSION,
            "scope": scope.name,
            "task": request.task,
            "tier": request.tier,
            "route": str(route),
            "system": request.system.strip(),
            "max_tokens": request.max_output_tokens,
            "temperature": request.temperature,
        }
        cleaned = [(m.role, clean_markup(m.text, bot_user_id)) for m in request.messages]
        conversation = [[role, fold(text)] for role, text in cleaned]
        question = next((text for role, text in reversed(cleaned) if role == "user"), "")
        return cls(
            digest=_digest({**context, "messages": conversation}),
            partition=_digest(context),
            scope=scope,
            route=route,
            tier=request.tier,
            task=request.task,
            max_output_tokens=request.max_output_tokens,
            question=question,
            is_follow_up=len(request.messages) > 1,
        )


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer and what the original call cost, so a hit can say what it saved."""

    text: str
    route: Route
    tier: str
    created_at: float
    cost_micro_usd: int | None
    usage: Usage

    @classmethod
    def of(
        cls, key: CacheKey, completion: Completion, *, cost_micro_usd: int | None, now: float
    ) -> CachedAnswer:
        return cls(
            text=completion.text,
            route=completion.route,
            tier=key.tier,
            created_at=now,
            cost_micro_usd=cost_micro_usd,
            usage=completion.usage,
        )

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.created_at)

    def to_json(self) -> str:
        data = asdict(self)
        data["route"] = str(self.route)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> CachedAnswer:
        """Raises ValueError (or KeyError/TypeError) on anything malformed."""
        data = json.loads(raw)
        backend, _, model = str(data["route"]).partition(":")
        cost = data["cost_micro_usd"]
        answer = cls(
            text=str(data["text"]),
            route=Route(backend, model),
            tier=str(data["tier"]),
            created_at=float(data["created_at"]),
            cost_micro_usd=None if cost is None else int(cost),
            usage=Usage(**data["usage"]),
        )
        if not answer.text or not model:
            raise ValueError("an empty answer or route")
        return answer


PutOutcome = Literal[
    "stored",
    "not_stored:fresh_only",
    "not_stored:fallback_route",
    "not_stored:estimated_usage",
    "not_stored:truncated",
    "not_stored:stopped",
    "not_stored:refusal",
    "not_stored:empty",
    "not_stored:cache_unavailable",
]


def storable(key: CacheKey, completion: Completion) -> PutOutcome:
    """Whether a finished call is a whole answer worth serving again, and if not why.

    Errors and cut streams never reach here (they raise instead of returning a
    `Completion`); what remains to refuse: an answer from a fallback route (the key names
    the route that would answer), usage counted locally (the provider's stream ended
    early), a stop other than the end of the answer, hitting the output cap, an empty
    answer, and a refusal."""
    usage = completion.usage
    stop_reason = usage.stop_reason
    if completion.route != key.route:
        return "not_stored:fallback_route"
    if usage.estimated:
        return "not_stored:estimated_usage"
    if stop_reason == "max_tokens" or usage.output_tokens >= key.max_output_tokens:
        return "not_stored:truncated"
    if stop_reason and stop_reason not in COMPLETE_STOP_REASONS:
        return "not_stored:stopped"
    if not completion.text.strip():
        return "not_stored:empty"
    if _REFUSAL.match(completion.text):
        return "not_stored:refusal"
    return "stored"


class Breaker:
    """Keeps a failing cache Redis out of the way for `cool_off_s` after an error."""

    def __init__(
        self, cool_off_s: float = DEFAULT_COOL_OFF_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cool_off_s = cool_off_s
        self._clock = clock
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def trip(self, what: str, exc: Exception) -> None:
        with self._lock:
            self._open_until = self._clock() + self._cool_off_s
        log.warning("cache_unavailable op=%s error=%s", what, type(exc).__name__)


def connect(url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> redis.Redis:
    """A client for the cache Redis that gives up fast: short socket timeouts, no retries."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=30,
    )


class ResponseCache:
    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Callable[[], float] = time.time,
        breaker: Breaker | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.breaker = breaker or Breaker()

    def get(self, key: CacheKey, *, max_age_s: float | None = None) -> CachedAnswer | None:
        """The stored answer, or None: absent, older than `max_age_s`, corrupt (then
        deleted), or the cache unavailable."""
        return self.get_digest(key.digest, max_age_s=max_age_s)

    def get_digest(self, digest: str, *, max_age_s: float | None = None) -> CachedAnswer | None:
        if self.breaker.is_open:
            return None
        name = keys.response_cache(digest)
        try:
            raw = self.client.get(name)
            if raw is None:
                return None
            try:
                answer = CachedAnswer.from_json(raw)
            except (ValueError, KeyError, TypeError):
                log.warning("cache_corrupt_entry digest=%s", digest)
                self.client.delete(name)
                return None
        except redis.RedisError as exc:
            self.breaker.trip("get", exc)
            return None
        if max_age_s is not None and answer.age_s(self.clock()) > max_age_s:
            return None
        return answer

    def put(
        self,
        key: CacheKey,
        completion: Completion,
        *,
        cost_micro_usd: int | None,
        ttl_s: int,
    ) -> PutOutcome:
        """Store a finished call's answer for `ttl_s` seconds if it is `storable`."""
        outcome = storable(key, completion) if ttl_s > 0 else "not_stored:fresh_only"
        if outcome != "stored":
            log.info("cache_skip digest=%s reason=%s", key.digest, outcome)
            return outcome
        answer = CachedAnswer.of(key, completion, cost_micro_usd=cost_micro_usd, now=self.clock())
        return "stored" if self.store(key.digest, answer, ttl_s) else "not_stored:cache_unavailable"

    def store(self, digest: str, answer: CachedAnswer, ttl_s: int) -> bool:
        """Write an answer already judged storable (the single-flight leader's path)."""
        if self.breaker.is_open:
            return False
        try:
            self.client.set(keys.response_cache(digest), answer.to_json(), ex=ttl_s)
        except redis.RedisError as exc:
            self.breaker.trip("put", exc)
            return False
        return True


__all__ = [
    "CACHE_VERSION",
    "Breaker",
    "CacheKey",
    "CachedAnswer",
    "ChannelKind",
    "PutOutcome",
    "ResponseCache",
    "Scope",
    "clean_markup",
    "connect",
    "fold",
    "storable",
]
