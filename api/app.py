"""The API as a WSGI application: `POST /v1/chat/completions`, `GET /v1/models`, `/healthz`.

A completion is a Slack job's twin: authenticated by its bearer token, turned into an
`LLMRequest` (`api.conversation`), and run by the same `CostEngine` as the workers' — routing,
compaction, caches, budgets, the ledger — answered whole as JSON or streamed as server-sent
events (`api.sse`). Errors become visible here, once, in OpenAI's shape (`api.errors`):
a refusal with its status, anything unexpected as a 500 with an error id whose traceback is
logged. One log line per request, never its text.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import redis

from api.budgets import ApiCaps
from api.conversation import ApiLimits, build_request
from api.errors import (
    ApiError,
    ClientDisconnectedError,
    ErrorReply,
    reply_for,
    server_error,
    unavailable,
)
from api.models import ModelCatalog
from api.schema import ChatRequest, completion_body, parse_request
from api.sse import SseStream, StartResponse
from api.tokens import ApiToken, TokenStore
from chatops import messages
from chatops.settings import Settings
from chatops.wiring import build_engine, connect_queue_redis
from gateway.budgets import BudgetCaps, Budgets
from gateway.engine import CostEngine
from gateway.errors import BudgetExceededError, ChatOpsError
from gateway.tokens import CHARS_PER_TOKEN
from gateway.types import LLMRequest

log = logging.getLogger(__name__)

Environ = dict[str, Any]
COMPLETIONS, MODELS, HEALTH = "/v1/chat/completions", "/v1/models", "/healthz"
JSON = ("Content-Type", "application/json")
# A body may be this many times its input token limit in bytes (JSON escapes, UTF-8), plus
# room for the rest of the body.
BODY_BYTES_PER_CHAR = 4
BODY_SLACK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ApiDeps:
    settings: Settings
    redis: redis.Redis
    engine: CostEngine
    tokens: TokenStore
    caps: ApiCaps
    catalog: ModelCatalog
    limits: ApiLimits
    started_at: int = field(default_factory=lambda: int(time.time()))


def build_deps(settings: Settings) -> ApiDeps:
    connection = connect_queue_redis(settings.redis_url)
    caps = ApiCaps.from_settings(settings)
    return ApiDeps(
        settings=settings,
        redis=connection,
        engine=build_engine(
            settings, connection, budgets=Budgets(connection, BudgetCaps(), caps_for=caps)
        ),
        tokens=TokenStore(connection),
        caps=caps,
        catalog=ModelCatalog.from_settings(settings),
        limits=ApiLimits.from_settings(settings),
    )


@dataclass
class _Exchange:
    """One request as it goes: for its log line."""

    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    status: int = 200
    token: ApiToken | None = None
    model: str = ""


class ApiApp:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self._routes: dict[str, dict[str, Callable[[Environ, StartResponse, _Exchange], Any]]] = {
            COMPLETIONS: {"POST": self._completions},
            MODELS: {"GET": self._models},
            HEALTH: {"GET": self._health},
        }
        self._max_body_bytes = (
            deps.limits.max_input_tokens * CHARS_PER_TOKEN * BODY_BYTES_PER_CHAR + BODY_SLACK_BYTES
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        exchange = _Exchange(uuid.uuid4().hex[:24], method, path)
        try:
            handler = self._route(method, path)
            return handler(environ, start_response, exchange)  # type: ignore[no-any-return]
        except Exception as exc:
            return self._error(start_response, exchange, self._failure(exc, exchange))
        finally:
            self._log(exchange)

    def _route(self, method: str, path: str) -> Callable[[Environ, StartResponse, _Exchange], Any]:
        methods = self._routes.get(path.rstrip("/") or "/")
        if methods is None:
            raise ApiError(
                messages.API_NOT_FOUND.format(method=method, path=path),
                status=404,
                code="unknown_url",
            )
        if method not in methods:
            allowed = ", ".join(methods)
            raise ApiError(
                messages.API_METHOD.format(method=method, path=path, allowed=allowed),
                status=405,
                code="method_not_allowed",
                headers=(("Allow", allowed),),
            )
        return methods[method]

    # -- the routes ----------------------------------------------------------------------

    def _health(
        self, environ: Environ, start_response: StartResponse, exchange: _Exchange
    ) -> Iterable[bytes]:
        try:
            self.deps.redis.ping()
            return self._json(start_response, exchange, 200, {"ok": True, "redis": "up"})
        except redis.RedisError:
            return self._json(start_response, exchange, 503, {"ok": False, "redis": "down"})

    def _models(
        self, environ: Environ, start_response: StartResponse, exchange: _Exchange
    ) -> Iterable[bytes]:
        self._authenticate(environ, exchange)
        body = self.deps.catalog.listing(self.deps.started_at)
        return self._json(start_response, exchange, 200, body)

    def _completions(
        self, environ: Environ, start_response: StartResponse, exchange: _Exchange
    ) -> Iterable[bytes]:
        try:
            return self._complete(environ, start_response, exchange)
        finally:
            self._retry_refused_closes()

    def _complete(
        self, environ: Environ, start_response: StartResponse, exchange: _Exchange
    ) -> Iterable[bytes]:
        token = self._authenticate(environ, exchange)
        body = parse_request(self._body(environ))
        exchange.model = body.model
        choice = self.deps.catalog.resolve(body.model)
        request = build_request(
            body,
            token=token,
            choice=choice,
            limits=self.deps.limits,
            request_id=f"api-{exchange.request_id}",
        )
        headers = _request_headers(exchange, request.redactions)
        if body.stream:
            return self._stream(start_response, exchange, body, request, headers)
        metered = self.deps.engine.complete(request, _ignore)
        exchange.model = metered.record.model
        reply = completion_body(
            _completion_id(exchange),
            int(time.time()),
            metered.record.model or body.model,
            metered.completion.text,
            metered.completion.usage,
        )
        return self._json(start_response, exchange, 200, reply, headers)

    def _stream(
        self,
        start_response: StartResponse,
        exchange: _Exchange,
        body: ChatRequest,
        request: LLMRequest,
        headers: tuple[tuple[str, str], ...],
    ) -> Iterable[bytes]:
        stream = SseStream(
            start_response,
            completion_id=_completion_id(exchange),
            created=int(time.time()),
            model=body.model,
            include_usage=body.include_usage,
            headers=headers,
        )
        try:
            metered = self.deps.engine.complete(request, stream.delta)
            exchange.model = metered.record.model
            stream.finish(metered)
        except ClientDisconnectedError:
            exchange.status = 499  # nginx's name for it: the client closed the request
            log.info("api_client_gone request_id=%s", exchange.request_id)
        except Exception as exc:
            if not stream.started:
                raise
            # The status line is sent: the failure goes to the client as an error event.
            self._fail_stream(stream, self._failure(exc, exchange))
            exchange.status = 200
        return []

    # -- pieces ----------------------------------------------------------------------------

    def _authenticate(self, environ: Environ, exchange: _Exchange) -> ApiToken:
        scheme, _, presented = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(messages.API_NO_KEY, status=401, code="invalid_api_key")
        token = self.deps.tokens.find(presented.strip())
        if token is None:
            raise ApiError(messages.API_UNKNOWN_KEY, status=401, code="invalid_api_key")
        exchange.token = token
        if token.revoked_at is not None:
            at = datetime.datetime.fromtimestamp(token.revoked_at, datetime.UTC)
            revoked = messages.API_REVOKED_KEY.format(at=at)
            raise ApiError(revoked, status=401, code="invalid_api_key")
        self.deps.caps.remember(token)
        return token

    def _body(self, environ: Environ) -> bytes:
        stream = environ["wsgi.input"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self._max_body_bytes:
            raise ApiError(
                messages.API_BODY_TOO_LARGE.format(size=length, limit=self._max_body_bytes),
                status=413,
                code="request_too_large",
            )
        raw: bytes = stream.read(length) if length else stream.read(self._max_body_bytes + 1)
        if len(raw) > self._max_body_bytes:
            raise ApiError(
                messages.API_BODY_TOO_LARGE.format(size=len(raw), limit=self._max_body_bytes),
                status=413,
                code="request_too_large",
            )
        return raw

    def _failure(self, exc: Exception, exchange: _Exchange) -> ErrorReply:
        """What the client is told of a failure, logged here: a refusal in a line, a Redis
        outage as a 503 to retry, anything else with its traceback and an error id."""
        if isinstance(exc, ApiError):
            return reply_for(exc)
        if isinstance(exc, ChatOpsError):
            log.warning("api_refused request_id=%s error=%r", exchange.request_id, exc)
            return self._reply(exc, exchange)
        if isinstance(exc, redis.RedisError):
            log.warning("api_redis_down request_id=%s error=%r", exchange.request_id, exc)
            return unavailable(messages.API_UNAVAILABLE)
        error_id = uuid.uuid4().hex[:8]
        log.error(
            "api_failed request_id=%s error_id=%s", exchange.request_id, error_id, exc_info=exc
        )
        return server_error(messages.API_SERVER_ERROR.format(error_id=error_id))

    def _retry_refused_closes(self) -> None:
        """Closes of earlier calls Redis refused (kept by the engine) are tried again."""
        try:
            self.deps.engine.flush_pending()
        except redis.RedisError:
            log.debug("closes_still_pending")

    def _reply(self, exc: ChatOpsError, exchange: _Exchange) -> ErrorReply:
        if isinstance(exc, BudgetExceededError) and exchange.token is not None:
            reply = reply_for(exc, self.deps.caps.explain(exc, exchange.token))
            wait_s = max(1, int(exc.resets_at.timestamp() - time.time()))
            return ErrorReply(
                reply.status,
                reply.message,
                reply.type,
                reply.code,
                headers=(*reply.headers, ("retry-after", str(wait_s))),
            )
        return reply_for(exc)

    def _fail_stream(self, stream: SseStream, reply: ErrorReply) -> None:
        with contextlib.suppress(ClientDisconnectedError):  # nobody is left to tell
            stream.fail(reply)

    def _error(
        self, start_response: StartResponse, exchange: _Exchange, reply: ErrorReply
    ) -> Iterable[bytes]:
        headers = (*reply.headers, ("x-request-id", exchange.request_id))
        return self._respond(start_response, exchange, reply.status, reply.to_bytes(), headers)

    def _json(
        self,
        start_response: StartResponse,
        exchange: _Exchange,
        status: int,
        body: object,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Iterable[bytes]:
        return self._respond(start_response, exchange, status, json.dumps(body).encode(), headers)

    def _respond(
        self,
        start_response: StartResponse,
        exchange: _Exchange,
        status: int,
        data: bytes,
        headers: tuple[tuple[str, str], ...],
    ) -> Iterable[bytes]:
        exchange.status = status
        start_response(
            _status_line(status),
            [JSON, ("Content-Length", str(len(data))), *headers],
        )
        return [data]

    def _log(self, exchange: _Exchange) -> None:
        token = exchange.token
        log.info(
            "api_request request_id=%s method=%s path=%s status=%d token=%s team=%s model=%s"
            " ms=%.1f",
            exchange.request_id,
            exchange.method,
            exchange.path,
            exchange.status,
            token.token_id if token else "-",
            token.team if token else "-",
            exchange.model or "-",
            (time.perf_counter() - exchange.started) * 1000,
        )


def build_app(settings: Settings) -> ApiApp:
    return ApiApp(build_deps(settings))


def _request_headers(exchange: _Exchange, redactions: int) -> tuple[tuple[str, str], ...]:
    headers = [("x-request-id", exchange.request_id)]
    if redactions:
        headers.append(("x-chatops-redactions", str(redactions)))
    return tuple(headers)


def _completion_id(exchange: _Exchange) -> str:
    return f"chatcmpl-{exchange.request_id}"


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _ignore(_: str) -> None:
    return None


__all__ = ["ApiApp", "ApiDeps", "build_app", "build_deps"]
