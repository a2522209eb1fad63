"""The project's exceptions, grouped by what the caller can do about them.

    ChatOpsError                      root; `public_message` is safe to show a person
    ├── LeaderLostError               take over: the identical request being followed failed
    ├── EmbeddingUnavailableError     skip the semantic cache for this request (a miss)
    ├── ConfigError                   stop: a setting is missing or invalid
    ├── Ec2ControlError               an EC2 call was refused or failed: leave the instance
    │                                 alone for a while, answer from Bedrock, show it in status
    ├── FallbackError                 try the next route of the tier
    │   ├── ThrottledError            the provider said slow down (429, throttlingException)
    │   ├── BackendUnavailableError   5xx, refused connection, timeout before the first token
    │   └── RouteMisconfiguredError   access denied, model not found, bad API key: the route's
    │                                 set-up is wrong, not the request
    ├── RetryableError                retry the job later
    │   ├── StreamInterruptedError    the stream broke after its first token
    │   └── AllRoutesFailedError      every route of the tier fell back
    └── UserFacingError               tell the person; retrying will not help
        ├── ModelsMisconfiguredError  every route failed for set-up reasons: tell the admins
        ├── RequestRejectedError      the provider refused the request (4xx validation)
        ├── InputTooLargeError        the question or document is too long
        ├── OptionError               an unknown option or value at the start of a request
        ├── BudgetExceededError       a daily spend cap leaves too little for this request
        └── BackendNotAllowedError    the request may run only on some backends (a channel
                                      kept to the self-hosted model) and none of them can

Foreign exceptions are mapped where they enter (one place per client) with `raise … from exc`;
their raw text never reaches Slack or Jira.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, Decimal

from gateway.types import Failover, Route, Usage


class ChatOpsError(Exception):
    public_message = "Something went wrong."

    def __init__(self, detail: str = "", *, public_message: str | None = None) -> None:
        super().__init__(detail or self.public_message)
        if public_message is not None:
            self.public_message = public_message


class LeaderLostError(ChatOpsError):
    """The single-flight leader this request followed failed or vanished before finishing:
    make the model call yourself (look the key up again; one follower becomes the leader)."""

    public_message = "The answer I was waiting for failed; asking again."


class EmbeddingUnavailableError(ChatOpsError):
    """The embedding backend failed or is too slow: the semantic cache misses this time."""

    public_message = "The semantic cache is unavailable."


class ConfigError(ChatOpsError):
    public_message = "The bot is misconfigured."


class Ec2ControlError(ChatOpsError):
    """DescribeInstances, StartInstances or StopInstances failed: `problem` says why in a few
    words (`not found`, `access denied: ec2:StartInstances`, `EC2 API unreachable`)."""

    public_message = "The self-hosted model's instance could not be controlled."

    def __init__(self, detail: str, *, problem: str) -> None:
        super().__init__(detail)
        self.problem = problem


class FallbackError(ChatOpsError):
    public_message = "The model service is unavailable."


class ThrottledError(FallbackError):
    public_message = "The model service is busy."


class BackendUnavailableError(FallbackError):
    public_message = "The model service is unavailable."


class RouteMisconfiguredError(FallbackError):
    public_message = "A model is not set up correctly (access denied or not found)."


class RetryableError(ChatOpsError):
    public_message = "The answer could not be finished; it will be retried."


class StreamInterruptedError(RetryableError):
    public_message = "The model's answer was cut off."

    def __init__(self, detail: str, *, partial_text: str, usage: Usage, route: Route) -> None:
        super().__init__(detail)
        self.partial_text = partial_text
        self.usage = usage
        self.route = route


class AllRoutesFailedError(RetryableError):
    public_message = "Every model for this request is busy or unavailable."

    def __init__(self, detail: str, *, failovers: tuple[Failover, ...]) -> None:
        super().__init__(detail)
        self.failovers = failovers


class UserFacingError(ChatOpsError):
    pass


class ModelsMisconfiguredError(UserFacingError):
    """Every route of the tier was refused for set-up reasons; retrying the job cannot help."""

    public_message = (
        "The models I am configured to use refused to serve me (access denied or model not"
        " found). This is a configuration problem: please tell the bot's admins."
    )

    def __init__(self, detail: str, *, failovers: tuple[Failover, ...]) -> None:
        super().__init__(detail)
        self.failovers = failovers


class RequestRejectedError(UserFacingError):
    public_message = "The model refused this request."


class InputTooLargeError(UserFacingError):
    public_message = "That is too long for me to read in one go."


class OptionError(UserFacingError):
    """`--tier huge`, `--model foo`, `--bogus`: the one-line public message lists what is valid."""

    public_message = "I did not understand the options at the start of your request."


class BudgetExceededError(UserFacingError):
    """Refused before any model ran: says which budget, what is left, and when it resets."""

    public_message = "This request would go over a daily budget."

    def __init__(
        self,
        *,
        scope: str,
        budget_name: str,
        remaining_micro_usd: int,
        resets_at: datetime.datetime,
    ) -> None:
        self.scope = scope
        self.budget_name = budget_name
        self.remaining_micro_usd = max(remaining_micro_usd, 0)
        self.resets_at = resets_at
        left = _dollars(self.remaining_micro_usd)
        super().__init__(
            f"{scope} budget exceeded: {self.remaining_micro_usd} micro-USD left",
            public_message=(
                f"This request would go over {budget_name}: {left} left."
                f" It resets at {resets_at:%H:%M} UTC on {resets_at:%Y-%m-%d}."
            ),
        )


class BackendNotAllowedError(UserFacingError):
    """Every route the request may use (`LLMRequest.allowed_backends`) was skipped or failed,
    or its tier has none: nothing was sent to any other backend, fallbacks included."""

    public_message = (
        "This channel's requests may only go to the self-hosted model, and it is not available"
        " right now: nothing was sent anywhere else. Try again in a few minutes."
    )
    no_route_message = (
        "This channel's requests may only go to the self-hosted model, and none of the models"
        " for this request runs there: please tell the bot's admins."
    )

    def __init__(self, detail: str, *, failovers: tuple[Failover, ...]) -> None:
        super().__init__(detail, public_message=None if failovers else self.no_route_message)
        self.failovers = failovers


def _dollars(micro_usd: int) -> str:
    """`$0.37`, `$0.0123`, `$12.50`: two to four decimals, rounded down so as never to overstate."""
    dollars = (Decimal(micro_usd) / 1_000_000).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    text = f"{dollars:.4f}"
    while text.endswith("0") and len(text.partition(".")[2]) > 2:
        text = text[:-1]
    return f"${text}"


__all__ = [
    "AllRoutesFailedError",
    "BackendNotAllowedError",
    "BackendUnavailableError",
    "BudgetExceededError",
    "ChatOpsError",
    "ConfigError",
    "Ec2ControlError",
    "EmbeddingUnavailableError",
    "FallbackError",
    "InputTooLargeError",
    "LeaderLostError",
    "ModelsMisconfiguredError",
    "OptionError",
    "RequestRejectedError",
    "RetryableError",
    "RouteMisconfiguredError",
    "StreamInterruptedError",
    "ThrottledError",
    "UserFacingError",
]
