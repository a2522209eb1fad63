"""The Slack clients of each installation, for a worker serving many workspaces (OAuth mode).

A job names its workspace (`team_id`, and `enterprise_id` in an Enterprise Grid org); the
worker reads that installation's bot token from the store the bot writes
(`chatops.installations`) — each job, so an uninstall or a rotated token is seen at once — and
keeps one pair of clients per token. A rotating token close to expiry is refreshed first,
by one process at a time (a short lock in the queue Redis); the others wait for it and read
the new one.

No installation, no bot token (revoked), or a refresh Slack refuses: `NotInstalledError`,
which the job functions turn into one log line and a dropped job.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation import TokenRotator

from chatops.installations import NotInstalledError, RedisInstallationStore, installation_id
from chatops.settings import Settings
from chatops.wiring import build_slack_client
from gateway import keys

log = logging.getLogger(__name__)

# Clients kept (by token); the oldest go first beyond this.
MAX_CLIENTS = 256
ROTATION_LOCK_S = 10
ROTATION_WAIT_S = 0.1
ROTATION_ATTEMPTS = 50


@dataclass(frozen=True)
class TeamClients:
    token: str
    # Waits out 429s; and one that does not, for the streamed reply (see `Runtime`).
    slack: WebClient
    slack_stream: WebClient
    bot_user_id: str


class InstallationClients:
    def __init__(self, settings: Settings, connection: redis.Redis) -> None:
        self._settings = settings
        self._redis = connection
        self.store = RedisInstallationStore(connection)
        secret = settings.slack_client_secret
        self._rotator = TokenRotator(
            client_id=settings.slack_client_id or "",
            client_secret=secret.get_secret_value() if secret else "",
            client=build_slack_client(settings),
        )
        self._minutes = settings.slack_token_rotation_minutes
        self._clients: OrderedDict[str, TeamClients] = OrderedDict()

    def clients(self, team_id: str, enterprise_id: str = "") -> TeamClients:
        """The installation's clients; `NotInstalledError` when it has no usable bot token."""
        bot = self._bot(team_id, enterprise_id)
        if bot.bot_token_expires_at is not None and self._expiring(bot):
            bot = self._rotated(bot, team_id, enterprise_id)
        token = str(bot.bot_token)
        cached = self._clients.get(token)
        if cached is not None:
            self._clients.move_to_end(token)
            return cached
        built = TeamClients(
            token,
            build_slack_client(self._settings, token=token),
            build_slack_client(self._settings, wait_on_rate_limit=False, token=token),
            bot.bot_user_id or "",
        )
        self._clients[token] = built
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)
        return built

    def _bot(self, team_id: str, enterprise_id: str) -> Bot:
        bot = self.store.find_bot(enterprise_id=enterprise_id or None, team_id=team_id or None)
        if bot is None or not bot.bot_token:
            raise NotInstalledError(f"no bot token for {installation_id(enterprise_id, team_id)}")
        return bot

    def _expiring(self, bot: Bot) -> bool:
        expires_at = bot.bot_token_expires_at or 0
        return expires_at <= time.time() + self._minutes * 60

    def _rotated(self, bot: Bot, team_id: str, enterprise_id: str) -> Bot:
        """The bot with a token refreshed by this process, or by the one holding the lock."""
        lock = keys.token_rotation_lock(bot.enterprise_id or "", bot.team_id or "")
        for _ in range(ROTATION_ATTEMPTS):
            if self._redis.set(lock, 1, nx=True, ex=ROTATION_LOCK_S):
                try:
                    return self._rotate(self._bot(team_id, enterprise_id))
                finally:
                    self._redis.delete(lock)
            time.sleep(ROTATION_WAIT_S)
            bot = self._bot(team_id, enterprise_id)
            if not self._expiring(bot):
                return bot
        return bot  # never got the lock: the token may still work until it expires

    def _rotate(self, bot: Bot) -> Bot:
        if not self._expiring(bot):
            return bot  # another process refreshed it while we waited
        try:
            fresh = self._rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self._minutes
            )
        except SlackTokenRotationError as exc:
            where = installation_id(bot.enterprise_id, bot.team_id)
            raise NotInstalledError(f"token refresh refused for {where}: {exc}") from exc
        if fresh is None:
            return bot
        self.store.save_bot(fresh)
        log.info("token_rotated installation=%s", installation_id(bot.enterprise_id, bot.team_id))
        return fresh


__all__ = ["InstallationClients", "TeamClients"]
