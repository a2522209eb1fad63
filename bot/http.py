"""The bot's HTTP surface: Bolt at `/slack/events`, `/healthz`, `/metrics`, served by gunicorn.

gunicorn (gthread workers) is the production server; Bolt's own development server is never
used. The Bolt app is built in each gunicorn worker after the fork (`load`), so no socket or
thread crosses a fork.

The port faces the internet, so it gives nothing away: `/healthz` says only "ok"; `/metrics`
(queue depths, spend, request counts) needs METRICS_TOKEN as a bearer token, or is served
only on METRICS_PORT, a second listener kept off the internet; a request body over
MAX_REQUEST_BYTES is refused (413) before anything reads it; gunicorn caps the request line
and headers.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from typing import Any

import redis
from gunicorn.app.base import BaseApplication
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import build_app
from bot.deps import build_deps
from bot.metrics import metrics_registry
from chatops.settings import Settings
from integrations.jira import webhook_app as jira_webhook

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]

# gunicorn's own limits on what comes before the body (its defaults, stated: a request line
# of 4 KiB, 50 headers of 8 KiB at most; Slack sends about a dozen).
REQUEST_LIMITS = {
    "limit_request_line": 4094,
    "limit_request_fields": 50,
    "limit_request_field_size": 8190,
}


def _plain(
    start_response: StartResponse, status: str, text: str, *headers: tuple[str, str]
) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers])
    return [text.encode()]


def _body_too_large(environ: dict[str, Any], limit: int) -> bool:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return True  # gunicorn refuses a malformed length first; never pass one on


class MetricsEndpoint:
    """`/metrics` for whoever may scrape it: any request on METRICS_PORT, or one with
    `Authorization: Bearer METRICS_TOKEN`; with neither setting, nobody."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._port = str(settings.metrics_port) if settings.metrics_port else None
        token = settings.metrics_token
        self._expected = f"Bearer {token.get_secret_value()}".encode() if token else None

    def is_metrics_port(self, environ: dict[str, Any]) -> bool:
        return self._port is not None and environ.get("SERVER_PORT") == self._port

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if not self.is_metrics_port(environ):
            if self._expected is None:
                return _plain(start_response, "404 Not Found", "not found")
            given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
            if not hmac.compare_digest(given, self._expected):
                challenge = ("WWW-Authenticate", 'Bearer realm="metrics"')
                return _plain(start_response, "401 Unauthorized", "unauthorized", challenge)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(self._registry)]


def build_wsgi(settings: Settings) -> WSGIApp:
    deps = build_deps(settings)
    connection = deps.redis
    bolt = SlackRequestHandler(build_app(deps))
    metrics = MetricsEndpoint(settings, metrics_registry(connection))
    max_bytes = settings.max_request_bytes

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if _body_too_large(environ, max_bytes):
            log.warning("request_too_large path=%s length=%s", path, environ.get("CONTENT_LENGTH"))
            return _plain(start_response, "413 Content Too Large", "request body too large")
        if path == "/healthz":
            try:
                connection.ping()
            except redis.RedisError:
                return _plain(start_response, "503 Service Unavailable", "unavailable")
            return _plain(start_response, "200 OK", "ok")
        if path == "/metrics":
            return metrics(environ, start_response)
        if metrics.is_metrics_port(environ):
            return _plain(start_response, "404 Not Found", "not found")
        return bolt(environ, start_response)

    return jira_webhook.mounted(application, deps)


class BotServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, bind: str, workers: int, threads: int) -> None:
        self._settings = settings
        binds = [bind]
        if settings.metrics_port:
            binds.append(f"{bind.rsplit(':', 1)[0]}:{settings.metrics_port}")
        self._options = {
            "bind": binds,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            **REQUEST_LIMITS,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApp:
        return build_wsgi(self._settings)


__all__ = ["BotServer", "MetricsEndpoint", "build_wsgi"]
