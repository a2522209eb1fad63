"""Socket Mode: the same Bolt app over Slack's WebSocket, for hosts Slack cannot reach."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import build_app
from bot.deps import build_deps
from chatops.settings import Settings
from gateway.errors import ConfigError


def run_socket_mode(settings: Settings) -> None:
    if settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN: required for Socket Mode (xapp-…)")
    deps = build_deps(settings)
    app = build_app(deps, socket_mode=True)
    SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]


__all__ = ["run_socket_mode"]
