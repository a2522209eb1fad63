"""`build_app`: the Bolt app with every listener registered through `register(app, deps)`.

One workspace (SLACK_BOT_TOKEN, the default) or many: with SLACK_CLIENT_ID and
SLACK_CLIENT_SECRET the app serves Slack's OAuth flow (`/slack/install`,
`/slack/oauth_redirect`) and authorizes each request with its workspace's installation, from
the store the workers read too (`chatops.installations`); rotating tokens are refreshed on the
way (Bolt's `InstallationStoreAuthorize`).
"""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings

from bot.deps import BotDeps, build_deps
from bot.listeners import actions, commands, events, views
from chatops.installations import RedisOAuthStateStore
from chatops.settings import Settings
from chatops.wiring import build_slack_client
from gateway.errors import ConfigError

# What an install asks for: the scopes of slack-manifest.yml (a test keeps them equal).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "mpim:history",
    "mpim:read",
    "reactions:write",
    "usergroups:read",
    "users:read",
)


def require_slack_settings(settings: Settings, *, socket_mode: bool = False) -> None:
    """Stop with one line when a setting the Slack edge needs is missing."""
    if settings.oauth_enabled:
        if settings.slack_bot_token is not None:
            raise ConfigError(
                "SLACK_BOT_TOKEN: leave it unset with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
                " (each workspace's token then comes from its installation)"
            )
        if socket_mode:
            raise ConfigError(
                "SLACK_APP_TOKEN: installs across workspaces need the HTTP endpoints"
                " (/slack/install); unset SLACK_APP_TOKEN, or SLACK_CLIENT_ID for one workspace"
            )
    elif settings.slack_bot_token is None:
        raise ConfigError(
            "SLACK_BOT_TOKEN: required to run the bot (xoxb-…), or SLACK_CLIENT_ID and"
            " SLACK_CLIENT_SECRET to install it in many workspaces"
        )
    if not socket_mode and settings.slack_signing_secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET: required in HTTP mode, where it verifies every request"
            " (Socket Mode uses SLACK_APP_TOKEN instead)"
        )


def build_app(deps: BotDeps, *, socket_mode: bool = False) -> App:
    """Over HTTP every request must carry Slack's signature: without a signing secret the
    app is not built at all (an unsigned request would otherwise be taken as Slack's).
    Socket Mode requests come over the app's own WebSocket and are not signed."""
    settings = deps.settings
    require_slack_settings(settings, socket_mode=socket_mode)
    client = build_slack_client(settings)
    secret = settings.slack_signing_secret
    oauth = oauth_settings(deps) if settings.oauth_enabled else None
    app = App(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=not socket_mode,
        # Run listeners in the request's thread and answer when they return. Our listeners
        # only enqueue (~1 ms); Bolt's other mode polls for the ack every 10 ms, which made
        # each ack ~12 ms.
        process_before_response=True,
        # With the store given here too, Bolt refreshes rotating tokens through `client`
        # (SLACK_API_URL), not slack.com.
        installation_store=deps.installations if oauth else None,
        oauth_settings=oauth,
    )
    commands.register(app, deps)
    events.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    return app


def oauth_settings(deps: BotDeps) -> OAuthSettings:
    settings = deps.settings
    secret = settings.slack_client_secret
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=list(BOT_SCOPES),
        redirect_uri=settings.slack_oauth_redirect_uri,
        authorization_url=settings.slack_oauth_authorize_url,
        installation_store=deps.installations,
        state_store=RedisOAuthStateStore(deps.redis),
        token_rotation_expiration_minutes=settings.slack_token_rotation_minutes,
    )


__all__ = [
    "BOT_SCOPES",
    "BotDeps",
    "build_app",
    "build_deps",
    "oauth_settings",
    "require_slack_settings",
]
