"""The API's errors, and every error as OpenAI's clients expect it:
`{"error": {"message", "type", "param", "code"}}` with the matching HTTP status.

    ChatOpsError (gateway.errors)
    └── ApiError                   a refusal at the edge: bad key, bad body, unknown model or
                                   URL — it carries its status, type, code and parameter
    ClientDisconnectedError        the client went away mid-stream: raised from `on_delta`, so
                                   the engine stops the call, records and settles it

`ClientDisconnectedError` is not a `ChatOpsError` on purpose: the gateway reports a
`ChatOpsError` after the first token as the model's stream breaking (`StreamInterruptedError`,
worth a retry), and a client that left is no fault of the model's. It travels through the
engine as a Slack error from a worker's `on_delta` does.

`reply_for(exc)` maps the engine's errors that reach the edge by what the client can do:
a refusal it can fix (400), a budget (429, not to be retried: `x-should-retry: false`, which
the openai client honours), a failure worth retrying (503), and the server's own set-up
(500). The public message is all a client sees; the detail is logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from gateway.errors import (
    AllRoutesFailedError,
    BudgetExceededError,
    ChatOpsError,
    ConfigError,
    FallbackError,
    InputTooLargeError,
    ModelsMisconfiguredError,
    RetryableError,
    StreamInterruptedError,
    UserFacingError,
)

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"
INSUFFICIENT_QUOTA = "insufficient_quota"
# Seconds a client should wait before retrying a request every route refused.
RETRY_AFTER_S = 2


class ApiError(ChatOpsError):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message, public_message=message)
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers


class ClientDisconnectedError(Exception):
    """The client closed the connection before the answer was finished."""


@dataclass(frozen=True)
class ErrorReply:
    status: int
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def body(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class _Kind:
    status: int
    type: str
    code: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


# The engine's errors by class; the nearest class in an exception's MRO decides.
_KINDS: dict[type[ChatOpsError], _Kind] = {
    BudgetExceededError: _Kind(
        429, INSUFFICIENT_QUOTA, "budget_exceeded", (("x-should-retry", "false"),)
    ),
    InputTooLargeError: _Kind(400, INVALID_REQUEST, "context_length_exceeded"),
    ModelsMisconfiguredError: _Kind(500, SERVER_ERROR, "models_misconfigured"),
    UserFacingError: _Kind(400, INVALID_REQUEST),
    StreamInterruptedError: _Kind(502, SERVER_ERROR, "stream_interrupted"),
    AllRoutesFailedError: _Kind(
        503, SERVER_ERROR, "service_unavailable", (("retry-after", str(RETRY_AFTER_S)),)
    ),
    RetryableError: _Kind(503, SERVER_ERROR, "service_unavailable"),
    FallbackError: _Kind(503, SERVER_ERROR, "service_unavailable"),
    ConfigError: _Kind(500, SERVER_ERROR),
    ChatOpsError: _Kind(500, SERVER_ERROR),
}


def reply_for(exc: ChatOpsError, message: str | None = None) -> ErrorReply:
    """The client's view of `exc`; `message` replaces its public message."""
    text = message or exc.public_message
    if isinstance(exc, ApiError):
        return ErrorReply(exc.status, text, exc.type, exc.code, exc.param, exc.headers)
    kind = next(_KINDS[cls] for cls in type(exc).__mro__ if cls in _KINDS)
    return ErrorReply(kind.status, text, kind.type, kind.code, headers=kind.headers)


def server_error(message: str) -> ErrorReply:
    """An unexpected failure: a 500 whose message carries the error id of the logged trace."""
    return ErrorReply(500, message, SERVER_ERROR)


def unavailable(message: str) -> ErrorReply:
    """The server cannot work right now (its Redis is down): a 503 the client may retry."""
    return ErrorReply(
        503,
        message,
        SERVER_ERROR,
        "service_unavailable",
        headers=(("retry-after", str(RETRY_AFTER_S)),),
    )


__all__ = [
    "INSUFFICIENT_QUOTA",
    "INVALID_REQUEST",
    "SERVER_ERROR",
    "ApiError",
    "ClientDisconnectedError",
    "ErrorReply",
    "reply_for",
    "server_error",
    "unavailable",
]
