"""What the Jira edge hands the rest of the bot: plain, frozen values, no `jira` objects."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

# A body as Jira stores it: wiki markup (REST v2) or an ADF document (REST v3).
JiraBody = str | dict[str, Any]


@dataclass(frozen=True)
class Person:
    """A Jira user. `account_id` is Cloud's accountId (Server's key where there is none);
    `names` are the other identifiers Server uses (key, name), so a webhook from either matches."""

    display_name: str
    account_id: str = ""
    names: frozenset[str] = field(default=frozenset())

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(i for i in (self.account_id, *self.names) if i)


@dataclass(frozen=True)
class IssueComment:
    id: str
    author: Person
    body: JiraBody
    created: datetime.datetime
    updated: datetime.datetime


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    """One changelog entry: who changed which fields, when."""

    id: str
    author: Person | None
    created: datetime.datetime
    items: tuple[FieldChange, ...]


@dataclass(frozen=True)
class Issue:
    key: str
    project: str
    url: str
    summary: str
    status: str
    issue_type: str
    priority: str
    assignee: Person | None
    reporter: Person | None
    labels: tuple[str, ...]
    description: JiraBody | None
    created: datetime.datetime
    updated: datetime.datetime
    comments: tuple[IssueComment, ...] = ()
    changelog: tuple[Change, ...] = ()


__all__ = ["Change", "FieldChange", "Issue", "IssueComment", "JiraBody", "Person"]
