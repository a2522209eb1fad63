"""Slack's own refusals that retrying cannot fix, and the sentence each one gets.

A job that Slack will not let post (`not_in_channel`, `missing_scope`, an archived channel …)
is not retried: the person is told privately, once, what to do about it.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from chatops import messages

# Errors about where or whether the bot may post; anything else may pass on a retry.
PERMANENT = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "missing_scope",
        "restricted_action",
        "cannot_reply_to_message",
        "ekm_access_denied",
        "access_denied",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "not_allowed_token_type",
    }
)
_NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, SlackApiError) and error_code(exc) in PERMANENT


def explain(exc: SlackApiError) -> str:
    """The sentence for the person: invite me, add this scope, or what Slack said."""
    code = error_code(exc)
    if code in _NOT_A_MEMBER:
        return messages.NOT_IN_CHANNEL
    if code == "missing_scope":
        needed = str(exc.response.get("needed", "")) if exc.response is not None else ""
        return messages.MISSING_SCOPE.format(scope=needed or "chat:write")
    return messages.CANNOT_POST.format(error=code or "unknown error")


__all__ = ["PERMANENT", "error_code", "explain", "is_permanent"]
