"""Who the Slack emulator's callers are: its workspaces, Enterprise Grid orgs, and the bot tokens
Slack's OAuth flow hands out for them — as Slack does it.

- `GET /oauth/v2/authorize?client_id&scope&state&team` is the page a person approves: the
  emulator approves at once, as the workspace's installer, and redirects to the app's redirect
  URL with a one-time `code` (or `error=access_denied` for a workspace or org it does not know).
  `team` may name an org (`E…`): an org-wide install.
- `oauth.v2.access` exchanges the code (client id and secret as HTTP Basic auth or form fields)
  for a bot token of that workspace or org, and with `grant_type=refresh_token` rotates one.
- A workspace whose app has token rotation on gets tokens that expire (`xoxe.xoxb-…`, with
  `refresh_token` and `expires_in`); a call with an expired one answers `token_expired`.
- Uninstalling revokes every token of the installation: `token_revoked` from then on.

Any other `xoxb-` token belongs to the default workspace, as before there were installs: the
sandbox's single-workspace mode (SLACK_BOT_TOKEN) works unchanged.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandbox.slack_store import SlackMethodError

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "sandbox-client-secret"
CODE_TTL_S = 600


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None = None
    installer: str = "U_ALICE"
    # Tokens issued for it expire after this long and must be refreshed (token rotation).
    token_lifetime_s: float | None = None


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    bot_user_id: str
    bot_id: str
    installer: str = "U_ALICE"
    token_lifetime_s: float | None = None


@dataclass
class Grant:
    """One bot token and what it may reach."""

    token: str
    team_id: str | None  # None: an org-wide token
    enterprise_id: str | None
    bot_user_id: str
    bot_id: str
    scopes: str
    refresh_token: str | None = None
    expires_at: float | None = None
    revoked: bool = False

    @property
    def installation(self) -> tuple[str | None, str | None]:
        return self.enterprise_id, self.team_id


@dataclass(frozen=True)
class Caller:
    """Whose bot a Web API call acts as."""

    team_id: str
    enterprise_id: str | None
    bot_user_id: str
    bot_id: str
    # Workspaces whose channels it may reach (an org-wide token: every one of the org's).
    teams: frozenset[str] = field(default_factory=frozenset)


class SlackInstalls:
    def __init__(self, default: Workspace, *, redirect_uri: str = "") -> None:
        self.default = default
        # The app's configured redirect URL (OAuth & Permissions), used when a request names none.
        self.redirect_uri = redirect_uri
        self._lock = threading.Lock()
        self._workspaces: dict[str, Workspace] = {default.id: default}
        self._orgs: dict[str, Org] = {}
        self._codes: dict[str, tuple[str, str, float]] = {}  # code -> (team or org, scopes, at)
        self._grants: dict[str, Grant] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> its installation's current token
        self._seq = itertools.count(1)

    # -- the emulated world ------------------------------------------------------------------

    def add_workspace(self, workspace: Workspace) -> None:
        with self._lock:
            self._workspaces[workspace.id] = workspace

    def add_org(self, org: Org) -> None:
        with self._lock:
            self._orgs[org.id] = org

    def workspace(self, team_id: str) -> Workspace:
        with self._lock:
            return self._workspaces[team_id]

    def org_teams(self, enterprise_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(
                t for t, w in self._workspaces.items() if w.enterprise_id == enterprise_id
            )

    def bot_for_team(self, team_id: str) -> tuple[str, str]:
        """(bot user id, bot id) that acts in a workspace: its org's bot when the org installed
        the app org-wide, else its own."""
        with self._lock:
            workspace = self._workspaces.get(team_id, self.default)
            org = self._orgs.get(workspace.enterprise_id or "")
            if org is not None and self._has_live_grant(org.id, None):
                return org.bot_user_id, org.bot_id
            return workspace.bot_user_id, workspace.bot_id

    def tokens(self, team_id: str | None = None, enterprise_id: str | None = None) -> list[str]:
        """Every token issued for an installation, oldest first (revoked ones included)."""
        with self._lock:
            return [
                g.token
                for g in self._grants.values()
                if g.team_id == team_id and g.enterprise_id == enterprise_id
            ]

    def uninstall(self, team_id: str | None = None, enterprise_id: str | None = None) -> int:
        """Revoke every token of the installation; how many were live."""
        with self._lock:
            live = [
                g
                for g in self._grants.values()
                if (g.team_id, g.enterprise_id) == (team_id, enterprise_id) and not g.revoked
            ]
            for grant in live:
                grant.revoked = True
            return len(live)

    # -- OAuth -------------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> str:
        """Where the person's browser goes after approving: the redirect URL with a code (or
        an error), as the `Location` of a 302."""
        redirect = query.get("redirect_uri") or self.redirect_uri
        state = query.get("state", "")
        target = query.get("team") or self.default.id
        with self._lock:
            known = target in self._workspaces or target in self._orgs
            if query.get("client_id") != CLIENT_ID or not known:
                return f"{redirect}?{urlencode({'error': 'access_denied', 'state': state})}"
            code = f"code-{next(self._seq)}-{target}"
            self._codes[code] = (target, query.get("scope", ""), time.time())
        return f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """`oauth.v2.access`: a code for a token, or (`grant_type=refresh_token`) a new token."""
        client_id, client_secret = _client_credentials(args, authorization)
        if client_id != CLIENT_ID:
            raise SlackMethodError("invalid_client_id")
        if client_secret != CLIENT_SECRET:
            raise SlackMethodError("bad_client_secret")
        if args.get("grant_type") == "refresh_token":
            return self._rotate(str(args.get("refresh_token") or ""))
        with self._lock:
            found = self._codes.pop(str(args.get("code") or ""), None)
            if found is None or time.time() - found[2] > CODE_TTL_S:
                raise SlackMethodError("invalid_code")
            target, scopes, _ = found
            if target in self._orgs:
                return self._grant_org(self._orgs[target], scopes)
            return self._grant_team(self._workspaces[target], scopes)

    # -- callers -----------------------------------------------------------------------------

    def caller(self, token: str) -> Caller:
        """Whose bot a token is, or Slack's refusal of it."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is None:
                if not token.startswith("xoxb-"):
                    raise SlackMethodError("invalid_auth")
                d = self.default
                return Caller(d.id, d.enterprise_id, d.bot_user_id, d.bot_id, frozenset({d.id}))
            if grant.revoked:
                raise SlackMethodError("token_revoked")
            if grant.expires_at is not None and grant.expires_at <= time.time():
                raise SlackMethodError("token_expired")
            if grant.team_id is None:
                teams = frozenset(
                    t for t, w in self._workspaces.items() if w.enterprise_id == grant.enterprise_id
                )
                team = grant.enterprise_id or ""
            else:
                teams, team = frozenset({grant.team_id}), grant.team_id
            return Caller(team, grant.enterprise_id, grant.bot_user_id, grant.bot_id, teams)

    def is_org_token(self, token: str) -> bool:
        with self._lock:
            grant = self._grants.get(token)
            return grant is not None and grant.team_id is None

    # -- internals ---------------------------------------------------------------------------

    def _grant_team(self, workspace: Workspace, scopes: str) -> dict[str, Any]:
        grant = self._issue(
            workspace.id, workspace.enterprise_id, workspace, scopes, workspace.token_lifetime_s
        )
        org = self._orgs.get(workspace.enterprise_id or "")
        return {
            **self._token_fields(grant),
            "team": {"id": workspace.id, "name": workspace.name},
            "enterprise": {"id": org.id, "name": org.name} if org else None,
            "is_enterprise_install": False,
            "authed_user": {"id": workspace.installer},
        }

    def _grant_org(self, org: Org, scopes: str) -> dict[str, Any]:
        grant = self._issue(None, org.id, org, scopes, org.token_lifetime_s)
        return {
            **self._token_fields(grant),
            "team": None,
            "enterprise": {"id": org.id, "name": org.name},
            "is_enterprise_install": True,
            "authed_user": {"id": org.installer},
        }

    def _issue(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        bot: Workspace | Org,
        scopes: str,
        lifetime_s: float | None,
    ) -> Grant:
        n = next(self._seq)
        owner = team_id or enterprise_id
        rotating = lifetime_s is not None
        grant = Grant(
            token=f"xoxe.xoxb-{owner}-{n}" if rotating else f"xoxb-{owner}-{n}",
            team_id=team_id,
            enterprise_id=enterprise_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            scopes=scopes,
            refresh_token=f"xoxe-1-{owner}-{n}" if rotating else None,
            expires_at=time.time() + lifetime_s if lifetime_s is not None else None,
        )
        self._grants[grant.token] = grant
        if grant.refresh_token:
            self._refresh[grant.refresh_token] = grant.token
        return grant

    def _rotate(self, refresh_token: str) -> dict[str, Any]:
        with self._lock:
            current = self._grants.get(self._refresh.get(refresh_token, ""))
            if current is None or current.revoked:
                raise SlackMethodError("invalid_refresh_token")
            lifetime = self._lifetime(current)
            owner = (
                self._workspaces.get(current.team_id or "")
                or self._orgs[current.enterprise_id or ""]
            )
            fresh = self._issue(
                current.team_id, current.enterprise_id, owner, current.scopes, lifetime
            )
            # The refresh token stays good (another process may be refreshing with it too);
            # the token it was issued with lives on until it expires.
            self._refresh[refresh_token] = fresh.token
            return {**self._token_fields(fresh), "team": {"id": current.team_id}}

    def _lifetime(self, grant: Grant) -> float:
        if grant.team_id is not None:
            return self._workspaces[grant.team_id].token_lifetime_s or 43_200
        return self._orgs[grant.enterprise_id or ""].token_lifetime_s or 43_200

    def _token_fields(self, grant: Grant) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "app_id": "A_CHATOPS",
            "scope": grant.scopes,
            "token_type": "bot",
            "access_token": grant.token,
            "bot_user_id": grant.bot_user_id,
        }
        if grant.refresh_token and grant.expires_at is not None:
            fields["refresh_token"] = grant.refresh_token
            fields["expires_in"] = max(1, round(grant.expires_at - time.time()))
        return fields

    def _has_live_grant(self, enterprise_id: str | None, team_id: str | None) -> bool:
        return any(
            (g.enterprise_id, g.team_id) == (enterprise_id, team_id) and not g.revoked
            for g in self._grants.values()
        )


def _client_credentials(args: dict[str, Any], authorization: str) -> tuple[str, str]:
    """slack_sdk sends the app's credentials as HTTP Basic auth; form fields work too."""
    if authorization.startswith("Basic "):
        decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "Caller",
    "Grant",
    "Org",
    "SlackInstalls",
    "Workspace",
]
