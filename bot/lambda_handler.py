"""The Slack edge on AWS Lambda: API Gateway (a REST API or an HTTP API) → this function → the
same Bolt app as `chatops bot`, through Bolt's AWS Lambda adapter.

Only the ack path runs here — verify the signature, validate, redact, dedupe, enqueue — against
the queue Redis (ElastiCache, reached from inside the VPC); the workers stay where they run and
take the jobs from the same REDIS_URL. The listeners ack when they return
(`process_before_response`), which Lambda needs: nothing may run after the function returns.

Settings come from the function's environment. The app is built by the first invocation of
a container and kept for the next ones, so only a cold start pays for building clients;
importing this module builds nothing. The function's handler is `bot.lambda_handler.handler`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from bot.app import build_app
from bot.deps import build_deps
from chatops import logs
from chatops.settings import Settings, load_settings

LambdaEvent = dict[str, Any]
LambdaResponse = dict[str, Any]
Handler = Callable[[LambdaEvent, Any], LambdaResponse]


def build_handler(settings: Settings) -> Handler:
    """A Lambda handler around the bot's Bolt app, built from `settings`."""
    bolt = SlackRequestHandler(build_app(build_deps(settings)))

    def handle(event: LambdaEvent, context: Any) -> LambdaResponse:
        response: LambdaResponse = bolt.handle(event, context)  # type: ignore[no-untyped-call]
        return response

    return handle


_built: Handler | None = None
_lock = threading.Lock()


def handler(event: LambdaEvent, context: Any) -> LambdaResponse:
    """The function's entry point: an API Gateway event in, the HTTP response out."""
    global _built
    with _lock:
        if _built is None:
            settings = load_settings()
            logs.configure(settings.log_level)
            _built = build_handler(settings)
    return _built(event, context)


__all__ = ["build_handler", "handler"]
