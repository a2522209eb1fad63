"""Jira's failures, as the rest of the bot sees them: leaves of the tree in `gateway.errors`.

    ConfigError
    └── JiraSignInError           401: the credentials or JIRA_AUTH are wrong
    RetryableError
    └── JiraUnavailableError      down, 5xx or 429 after the bounded retries
    UserFacingError
    ├── IssueNotVisibleError      404 / 403 on a read, or a malformed key: "OPS-9 was not found…"
    ├── ProjectNotAllowedError    outside JIRA_PROJECTS: refused before any HTTP call
    ├── JiraRefusedError          any other 4xx (a write Jira would not take)
    └── WebhookPayloadError       a signed delivery that is not a Jira issue event (HTTP 400)

Raised by `integrations.jira.client`, from `JIRAError` / `requests` exceptions
(`raise … from exc`); the public messages come from `chatops.messages` and never quote Jira.
"""

from __future__ import annotations

from chatops import messages
from gateway.errors import ConfigError, RetryableError, UserFacingError


class JiraSignInError(ConfigError):
    public_message = messages.JIRA_SIGN_IN_FAILED


class JiraUnavailableError(RetryableError):
    def __init__(self, detail: str, *, attempts: int, retry_after_s: float | None = None):
        if retry_after_s is not None:
            public = messages.JIRA_RATE_LIMITED.format(seconds=round(retry_after_s))
        else:
            public = messages.JIRA_UNAVAILABLE
        super().__init__(detail, public_message=public)
        self.attempts = attempts
        self.retry_after_s = retry_after_s


class IssueNotVisibleError(UserFacingError):
    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(
            detail or f"{key}: not found or not visible",
            public_message=messages.JIRA_NOT_VISIBLE.format(key=key),
        )
        self.key = key


class ProjectNotAllowedError(UserFacingError):
    def __init__(self, project: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"project {project} is outside JIRA_PROJECTS",
            public_message=messages.JIRA_PROJECT_NOT_ALLOWED.format(
                project=project, allowed=", ".join(allowed)
            ),
        )
        self.project = project


class JiraRefusedError(UserFacingError):
    def __init__(self, detail: str, *, action: str, key: str) -> None:
        super().__init__(
            detail, public_message=messages.JIRA_REFUSED.format(action=action, key=key)
        )


class WebhookPayloadError(UserFacingError):
    """Answered to Jira (HTTP 400), never shown to a person."""


__all__ = [
    "IssueNotVisibleError",
    "JiraRefusedError",
    "JiraSignInError",
    "JiraUnavailableError",
    "ProjectNotAllowedError",
    "WebhookPayloadError",
]
