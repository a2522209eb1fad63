"""Jira webhooks, pure: signature check, dedupe identity, parsing, and whether to summarize.

The HTTP route (in `bot/`) reads the raw body, calls `verify` (401 when it fails), takes
`identity` as the dedupe key (Jira resends a delivery with the same identifier), `parse`s the
JSON (400 on `WebhookPayloadError`), asks `should_summarize`, and enqueues.

Admin webhooks with a secret are signed `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw
body>`. Events the bot's own Jira account caused — its summary comment, an edit of it — never
trigger a summary: a summarizer that reacts to its own comment summarizes forever.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from chatops.settings import Settings, split_names
from integrations.jira.errors import WebhookPayloadError
from integrations.jira.records import person_from_raw
from integrations.jira.types import Person

SIGNATURE_HEADER = "X-Hub-Signature"
IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
COMMENT_EVENTS = frozenset({"comment_created", "comment_updated"})
ISSUE_CREATED = "jira:issue_created"
# `jira:issue_updated` also reports a new comment, as this issue event type.
_COMMENTED = "issue_commented"
_MAX_IDENTIFIER = 200


def verify(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """True only for `sha256=<hex HMAC of raw_body with secret>`, compared in constant time.
    No secret configured means nothing verifies."""
    if not secret or not header_value:
        return False
    algorithm, _, signature = header_value.strip().partition("=")
    if algorithm.strip().lower() != "sha256" or not signature:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def identity(headers: Mapping[str, str]) -> str | None:
    """The delivery's `X-Atlassian-Webhook-Identifier` (the same on every retry), if sane."""
    wanted = IDENTIFIER_HEADER.lower()
    for name, value in headers.items():
        if name.lower() == wanted:
            value = value.strip()
            return value if 0 < len(value) <= _MAX_IDENTIFIER and value.isprintable() else None
    return None


@dataclass(frozen=True)
class WebhookEvent:
    event: str
    issue_event: str
    issue_key: str
    project: str
    issue_type: str
    # None when the payload does not carry them (some Cloud comment events).
    labels: tuple[str, ...] | None
    # Who caused the event, and for comment events who wrote and last edited the comment.
    actor: Person | None
    comment_id: str | None
    comment_people: tuple[Person, ...]
    timestamp_ms: int

    @property
    def is_comment(self) -> bool:
        return self.event in COMMENT_EVENTS or self.issue_event == _COMMENTED

    @property
    def people(self) -> tuple[Person, ...]:
        return (*((self.actor,) if self.actor else ()), *self.comment_people)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _IssueFields(_Model):
    project: dict[str, Any] | None = None
    issuetype: dict[str, Any] | None = None
    labels: list[str] | None = None


class _Issue(_Model):
    key: str
    fields: _IssueFields = _IssueFields()


class _Comment(_Model):
    id: str
    author: dict[str, Any] | None = None
    updateAuthor: dict[str, Any] | None = None


class _Payload(_Model):
    webhookEvent: str
    issue_event_type_name: str = ""
    timestamp: int = 0
    user: dict[str, Any] | None = None
    issue: _Issue
    comment: _Comment | None = None


def parse(payload: Mapping[str, Any]) -> WebhookEvent:
    try:
        data = _Payload.model_validate(payload)
    except ValidationError as exc:
        raise WebhookPayloadError(f"not a Jira issue event: {exc.error_count()} error(s)") from exc
    fields = data.issue.fields
    comment = data.comment
    people = (
        [person_from_raw(comment.author), person_from_raw(comment.updateAuthor)] if comment else []
    )
    return WebhookEvent(
        event=data.webhookEvent,
        issue_event=data.issue_event_type_name,
        issue_key=data.issue.key.upper(),
        project=str((fields.project or {}).get("key") or data.issue.key.rsplit("-", 1)[0]).upper(),
        issue_type=str((fields.issuetype or {}).get("name") or ""),
        labels=tuple(fields.labels) if fields.labels is not None else None,
        actor=person_from_raw(data.user),
        comment_id=comment.id if comment else None,
        comment_people=tuple(p for p in people if p is not None),
        timestamp_ms=data.timestamp,
    )


@dataclass(frozen=True)
class Triggers:
    """Which events start a summary. Empty sets mean any; names compare without case."""

    projects: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    issue_types: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset({"jira:issue_created", "comment_created"})
    min_new_comments: int = 1
    # JIRA_PROJECTS: the bot reads nothing outside it, whatever the triggers say.
    allowed_projects: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Triggers:
        """JIRA_TRIGGER_*, kept within JIRA_PROJECTS."""

        def names(spec: str) -> frozenset[str]:
            return frozenset(name.lower() for name in split_names(spec))

        return cls(
            projects=frozenset(p.upper() for p in names(settings.jira_trigger_projects)),
            labels=names(settings.jira_trigger_labels),
            issue_types=names(settings.jira_trigger_issue_types),
            events=frozenset(split_names(settings.jira_trigger_events)),
            min_new_comments=settings.jira_trigger_min_new_comments,
            allowed_projects=frozenset(p.upper() for p in names(settings.jira_projects)),
        )


class Decision(NamedTuple):
    summarize: bool
    reason: str


def should_summarize(
    event: WebhookEvent, triggers: Triggers, bot_account_id: str, *, new_comments: int = 1
) -> Decision:
    """Whether this event calls for a (new) summary, and why (for the log).

    `new_comments` is the caller's count of comments since the last summary, this one
    included (`gateway.keys.jira_new_comments`); it matters only for comment events.
    """
    if event.event not in triggers.events:
        return Decision(False, f"event {event.event} is not a trigger")
    if any(bot_account_id in person.ids for person in event.people):
        return Decision(False, "caused by the bot's own Jira account")
    if triggers.allowed_projects and event.project not in triggers.allowed_projects:
        return Decision(False, f"project {event.project} is outside JIRA_PROJECTS")
    if triggers.projects and event.project not in triggers.projects:
        return Decision(False, f"project {event.project} is not a trigger")
    if triggers.issue_types and event.issue_type.lower() not in triggers.issue_types:
        return Decision(False, f"issue type {event.issue_type or '(none)'} is not a trigger")
    if triggers.labels:
        if event.labels is None:
            return Decision(False, "the event does not say the issue's labels")
        if not triggers.labels & {label.lower() for label in event.labels}:
            return Decision(False, "no trigger label on the issue")
    if event.is_comment and new_comments < triggers.min_new_comments:
        return Decision(False, f"{new_comments} of {triggers.min_new_comments} new comments so far")
    return Decision(True, f"{event.event} on {event.issue_key}")


__all__ = [
    "IDENTIFIER_HEADER",
    "ISSUE_CREATED",
    "SIGNATURE_HEADER",
    "Decision",
    "Triggers",
    "WebhookEvent",
    "identity",
    "parse",
    "should_summarize",
    "verify",
]
