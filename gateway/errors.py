"""The project's exceptions, grouped by what the caller can do about them.

    ChatOpsError                      root; `public_message` is safe to show a person
    ├── ConfigError                   stop: a setting is missing or invalid
    ├── FallbackError                 try the next route of the tier
    │   ├── ThrottledError            the provider said slow down (429, throttlingException)
    │   └── BackendUnavailableError   5xx, refused connection, timeout before the first token
    ├── RetryableError                retry the job later
    │   ├── StreamInterruptedError    the stream broke after its first token
    │   └── AllRoutesFailedError      every route of the tier fell back
    └── UserFacingError               tell the person; retrying will not help
        ├── RequestRejectedError      the provider refused the request (4xx validation)
        └── InputTooLargeError        the question or document is too long

Foreign exceptions are mapped where they enter (one place per client) with `raise … from exc`;
their raw text never reaches Slack or Jira.
"""

from __future__ import annotations

from gateway.types import Failover, Usage


class ChatOpsError(Exception):
    public_message = "Something went wrong."

    def __init__(self, detail: str = "", *, public_message: str | None = None) -> None:
        super().__init__(detail or self.public_message)
        if public_message is not None:
            self.public_message = public_message


class ConfigError(ChatOpsError):
    public_message = "The bot is misconfigured."


class FallbackError(ChatOpsError):
    public_message = "The model service is unavailable."


class ThrottledError(FallbackError):
    public_message = "The model service is busy."


class BackendUnavailableError(FallbackError):
    public_message = "The model service is unavailable."


class RetryableError(ChatOpsError):
    public_message = "The answer could not be finished; it will be retried."


class StreamInterruptedError(RetryableError):
    public_message = "The model's answer was cut off."

    def __init__(self, detail: str, *, partial_text: str, usage: Usage) -> None:
        super().__init__(detail)
        self.partial_text = partial_text
        self.usage = usage


class AllRoutesFailedError(RetryableError):
    public_message = "Every model for this request is busy or unavailable."

    def __init__(self, detail: str, *, failovers: tuple[Failover, ...]) -> None:
        super().__init__(detail)
        self.failovers = failovers


class UserFacingError(ChatOpsError):
    pass


class RequestRejectedError(UserFacingError):
    public_message = "The model refused this request."


class InputTooLargeError(UserFacingError):
    public_message = "That is too long for me to read in one go."


__all__ = [
    "AllRoutesFailedError",
    "BackendUnavailableError",
    "ChatOpsError",
    "ConfigError",
    "FallbackError",
    "InputTooLargeError",
    "RequestRejectedError",
    "RetryableError",
    "StreamInterruptedError",
    "ThrottledError",
    "UserFacingError",
]
