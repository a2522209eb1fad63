"""API tokens: issued once, stored hashed, looked up on every request, revoked for good.

A token is `chatops-` and 32 random bytes (URL-safe base64). Only its SHA-256 is kept, as the
key of its record, so the queue Redis never holds a token a reader could use; a token that is
lost cannot be shown again, only revoked and replaced. A random token needs no slow hash: a
preimage of SHA-256 is out of reach, and the lookup is one GET.

Layout (builders in `gateway.keys`), in the queue/state Redis (noeviction: an evicted record
would lock its client out):

    chatops:api:token:{sha256 hex}   STRING  the token's record (JSON)
    chatops:api:tokens               HASH    token id -> sha256 hex, for list and revoke

A revoked token keeps its record, marked, so that a client still using it is told why.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import redis

from gateway import keys
from gateway.errors import ConfigError

TOKEN_PREFIX = "chatops-"
TOKEN_ID_PREFIX = "tok_"
# Team names go into budget keys, cache scopes and reports: plain words only.
_TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_USER = re.compile(r"[^\s:]{1,128}")


@dataclass(frozen=True)
class ApiToken:
    """Who a token speaks for. `daily_budget_micro_usd` None: the default cap from settings
    (API_TOKEN_DAILY_MICRO_USD) applies, as it is when the request runs; 0: no cap."""

    token_id: str
    team: str
    user: str
    created_at: float
    daily_budget_micro_usd: int | None = None
    revoked_at: float | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ApiToken:
        return cls(**json.loads(raw))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, redis_client: redis.Redis, *, clock: Callable[[], float] = time.time):
        self._redis = redis_client
        self._clock = clock

    def create(
        self, team: str, user: str, daily_budget_micro_usd: int | None = None
    ) -> tuple[str, ApiToken]:
        """A new token and its record; the token is returned here and never again."""
        if not _TEAM.fullmatch(team):
            raise ConfigError(f"--team {team!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if not _USER.fullmatch(user):
            raise ConfigError(f"--user {user!r}: one word of at most 128 characters, no ':'")
        if daily_budget_micro_usd is not None and daily_budget_micro_usd < 0:
            raise ConfigError("--daily-budget-usd cannot be negative")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            token_id=TOKEN_ID_PREFIX + secrets.token_hex(6),
            team=team,
            user=user,
            created_at=self._clock(),
            daily_budget_micro_usd=daily_budget_micro_usd,
        )
        hashed = digest(token)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(keys.api_token(hashed), record.to_json())
        pipe.hset(keys.api_tokens(), record.token_id, hashed)
        pipe.execute()
        return token, record

    def find(self, token: str) -> ApiToken | None:
        """The record of a token as a client presents it (revoked ones too), or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        raw = self._redis.get(keys.api_token(digest(token)))
        return None if raw is None else ApiToken.from_json(raw)

    def all(self) -> list[ApiToken]:
        """Every token ever issued, oldest first."""
        hashes = self._redis.hgetall(keys.api_tokens())
        if not hashes:
            return []
        raws = self._redis.mget([keys.api_token(_text(h)) for h in hashes.values()])
        records = [ApiToken.from_json(raw) for raw in raws if raw is not None]
        return sorted(records, key=lambda record: (record.created_at, record.token_id))

    def revoke(self, token_or_id: str) -> ApiToken:
        """Revoke by id (`tok_…`) or by the token itself; revoking twice keeps the first
        time. Raises `ConfigError` for a token this store never issued."""
        hashed = (
            digest(token_or_id)
            if token_or_id.startswith(TOKEN_PREFIX)
            else self._redis.hget(keys.api_tokens(), token_or_id)
        )
        raw = None if hashed is None else self._redis.get(keys.api_token(_text(hashed)))
        if hashed is None or raw is None:
            raise ConfigError(f"no API token {token_or_id!r}: `chatops api-token list` shows them")
        record = ApiToken.from_json(raw)
        if record.is_revoked:
            return record
        revoked = replace(record, revoked_at=self._clock())
        self._redis.set(keys.api_token(_text(hashed)), revoked.to_json())
        return revoked


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["TOKEN_ID_PREFIX", "TOKEN_PREFIX", "ApiToken", "TokenStore", "digest"]
