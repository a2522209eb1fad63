"""Slack installations across processes, in the queue Redis: slack_sdk's `InstallationStore`
and `OAuthStateStore` interfaces, so Bolt's OAuth flow (`/slack/install`), its authorization of
each request (token rotation included) and the workers' per-workspace clients read one store.

    chatops:install:{enterprise|-}:{team|-}  HASH  `bot`, `latest`, `user:{id}` (JSON)
    chatops:installs                          SET   `{enterprise|-}:{team|-}` of each one
    chatops:install:teams                     HASH  team -> enterprise (org-wide installs)
    chatops:oauth-state:{state}               one OAuth state until used (or expired)

An Enterprise Grid org-wide installation is stored once, for the org (team `-`). A request or
job from one of the org's workspaces names both ids: looked up as that workspace first, then as
the org — and the workspace is remembered as the org's, so a job that carries only the team
(a daily digest set up there) still finds its token. That fallback is what keeps an org-wide
install from silently never answering.

`bot` is the source of truth for the bot token: `tokens_revoked` deletes it, and an
installation read afterwards has no bot token rather than a revoked one.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import redis
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from gateway import keys
from gateway.errors import ChatOpsError

log = logging.getLogger(__name__)

BOT_FIELD = "bot"
LATEST_FIELD = "latest"
# Bot fields an installation takes from the stored bot (its latest, rotated token).
_BOT_FIELDS = (
    "bot_id",
    "bot_user_id",
    "bot_token",
    "bot_scopes",
    "bot_refresh_token",
    "bot_token_expires_at",
)
DEFAULT_STATE_EXPIRY_S = 600


class NotInstalledError(ChatOpsError):
    """No installation (or no bot token) for the workspace: uninstalled, or never installed."""

    public_message = "The app is not installed in this workspace."


def installation_id(enterprise_id: str | None, team_id: str | None) -> str:
    return f"{enterprise_id or '-'}:{team_id or '-'}"


class RedisInstallationStore(InstallationStore):
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        # Workspaces already recorded as part of an org (one HSET per process each).
        self._known_members: set[str] = set()

    @property
    def logger(self) -> logging.Logger:
        return log

    # -- writes ------------------------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        e_id, t_id = installation.enterprise_id, installation.team_id
        key = keys.slack_installation(e_id or "", t_id or "")
        data = json.dumps(installation.__dict__)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(key, LATEST_FIELD, data)
        if installation.user_id:
            pipe.hset(key, f"user:{installation.user_id}", data)
        if installation.bot_token:
            pipe.hset(key, BOT_FIELD, json.dumps(installation.to_bot().__dict__))
        pipe.sadd(keys.slack_installations(), installation_id(e_id, t_id))
        pipe.execute()
        log.info("installation_saved installation=%s", installation_id(e_id, t_id))

    def save_bot(self, bot: Bot) -> None:
        if not bot.bot_token:
            return
        key = keys.slack_installation(bot.enterprise_id or "", bot.team_id or "")
        self._redis.hset(key, BOT_FIELD, json.dumps(bot.__dict__))

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._redis.hdel(keys.slack_installation(enterprise_id or "", team_id or ""), BOT_FIELD)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        key = keys.slack_installation(enterprise_id or "", team_id or "")
        if user_id is not None:
            self._redis.hdel(key, f"user:{user_id}")
            return
        names = [_text(name) for name in self._redis.hkeys(key)]
        doomed = [name for name in names if name == LATEST_FIELD or name.startswith("user:")]
        if doomed:
            self._redis.hdel(key, *doomed)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(keys.slack_installation(enterprise_id or "", team_id or ""))
        pipe.srem(keys.slack_installations(), installation_id(enterprise_id, team_id))
        if enterprise_id and not team_id:
            members = self.org_members(enterprise_id)
            if members:
                pipe.hdel(keys.slack_team_enterprises(), *members)
        pipe.execute()
        self._known_members.clear()
        log.info("installation_deleted installation=%s", installation_id(enterprise_id, team_id))

    # -- reads -------------------------------------------------------------------------------

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = self._find(enterprise_id, team_id, is_enterprise_install)
        raw = found.get(BOT_FIELD)
        return Bot(**json.loads(raw)) if raw else None

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = self._find(enterprise_id, team_id, is_enterprise_install)
        raw = found.get(f"user:{user_id}" if user_id else LATEST_FIELD)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        bot = json.loads(found[BOT_FIELD]) if BOT_FIELD in found else {}
        for name in _BOT_FIELDS:
            data[name] = bot.get(name)
        return Installation(**data)

    def installed(self) -> list[tuple[str | None, str | None]]:
        """Every installation as (enterprise id, team id), None for an absent id."""
        members = sorted(_text(m) for m in self._redis.smembers(keys.slack_installations()))
        pairs = [member.split(":", 1) for member in members]
        return [(e if e != "-" else None, t if t != "-" else None) for e, t in pairs]

    def org_members(self, enterprise_id: str) -> list[str]:
        """The workspaces seen answering through the org's org-wide installation."""
        raw = self._redis.hgetall(keys.slack_team_enterprises())
        return sorted(_text(team) for team, org in raw.items() if _text(org) == enterprise_id)

    def _find(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> dict[str, str]:
        """The fields of the installation for these ids: the workspace's own, else its org's."""
        if is_enterprise_install or not team_id:
            return self._fields(enterprise_id, None)
        own = self._fields(enterprise_id, team_id)
        if own:
            return own
        org = enterprise_id or _text_or_none(
            self._redis.hget(keys.slack_team_enterprises(), team_id)
        )
        if not org:
            return {}
        found = self._fields(org, None)
        if found and team_id not in self._known_members:
            self._redis.hset(keys.slack_team_enterprises(), team_id, org)
            self._known_members.add(team_id)
        return found

    def _fields(self, enterprise_id: str | None, team_id: str | None) -> dict[str, str]:
        raw = self._redis.hgetall(keys.slack_installation(enterprise_id or "", team_id or ""))
        return {_text(k): _text(v) for k, v in raw.items()}


class RedisOAuthStateStore(OAuthStateStore):
    """OAuth `state` values shared by every bot process: the install page may be served by one
    gunicorn worker and Slack's redirect come back to another."""

    def __init__(self, client: redis.Redis, expiration_s: int = DEFAULT_STATE_EXPIRY_S) -> None:
        self._redis = client
        self._expiration_s = expiration_s

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        self._redis.set(keys.oauth_state(state), 1, ex=self._expiration_s)
        return state

    def consume(self, state: str) -> bool:
        """True once per state handed out, within its lifetime."""
        return bool(self._redis.delete(keys.oauth_state(state)))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _text_or_none(value: str | bytes | None) -> str | None:
    return None if value is None else _text(value)


__all__ = [
    "NotInstalledError",
    "RedisInstallationStore",
    "RedisOAuthStateStore",
    "installation_id",
]
