"""The bot's HTTP surface: Bolt at `/slack/events`, `/healthz`, `/metrics`, served by gunicorn.

gunicorn (gthread workers) is the production server; Bolt's own development server is never
used. The Bolt app is built in each gunicorn worker after the fork (`load`), so no socket or
thread crosses a fork.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import redis
from gunicorn.app.base import BaseApplication
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import build_app
from bot.deps import build_deps
from bot.metrics import metrics_registry
from chatops.settings import Settings
from integrations.jira import webhook_app as jira_webhook

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def build_wsgi(settings: Settings) -> WSGIApp:
    deps = build_deps(settings)
    connection = deps.redis
    bolt = SlackRequestHandler(build_app(deps))
    registry = metrics_registry(connection)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            try:
                connection.ping()
                status, body = "200 OK", {"ok": True, "redis": "up"}
            except redis.RedisError:
                status, body = "503 Service Unavailable", {"ok": False, "redis": "down"}
            data = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json")])
            return [data]
        if environ.get("PATH_INFO") == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(registry)]
        return bolt(environ, start_response)

    return jira_webhook.mounted(application, deps)


class BotServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, bind: str, workers: int, threads: int) -> None:
        self._settings = settings
        self._options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApp:
        return build_wsgi(self._settings)


__all__ = ["BotServer", "build_wsgi"]
