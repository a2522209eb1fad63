"""Jira's REST JSON → our frozen values (`integrations.jira.types`). Pure; REST v2 and v3 alike."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from integrations.jira.types import Change, FieldChange, Issue, IssueComment, Person

# Jira's timestamps: 2026-11-09T08:12:00.000+0000 (Server and Cloud alike).
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


def parse_time(value: str | None) -> datetime.datetime:
    if not value:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)
    try:
        parsed = datetime.datetime.strptime(value, _TIME_FORMAT)
    except ValueError:
        parsed = datetime.datetime.fromisoformat(value)
    return parsed.astimezone(datetime.UTC)


def person_from_raw(raw: Mapping[str, Any] | None) -> Person | None:
    if not raw:
        return None
    account = str(raw.get("accountId") or raw.get("key") or raw.get("name") or "")
    names = frozenset(str(raw[k]) for k in ("key", "name") if raw.get(k))
    return Person(str(raw.get("displayName") or account or "someone"), account, names)


def comment_from_raw(raw: Mapping[str, Any]) -> IssueComment:
    author = person_from_raw(raw.get("author")) or Person("someone")
    return IssueComment(
        id=str(raw["id"]),
        author=author,
        body=raw.get("body") or "",
        created=parse_time(raw.get("created")),
        updated=parse_time(raw.get("updated") or raw.get("created")),
    )


def change_from_raw(raw: Mapping[str, Any]) -> Change:
    return Change(
        id=str(raw.get("id", "")),
        author=person_from_raw(raw.get("author")),
        created=parse_time(raw.get("created")),
        items=tuple(
            FieldChange(
                str(item.get("field", "")),
                str(item.get("fromString") or ""),
                str(item.get("toString") or ""),
            )
            for item in raw.get("items", ())
        ),
    )


def issue_from_raw(
    raw: Mapping[str, Any], comments: Sequence[IssueComment], server_url: str
) -> Issue:
    fields = raw.get("fields") or {}
    histories = (raw.get("changelog") or {}).get("histories") or ()
    key = str(raw["key"])
    return Issue(
        key=key,
        project=str((fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0]),
        url=f"{server_url.rstrip('/')}/browse/{key}",
        summary=str(fields.get("summary") or ""),
        status=_name(fields.get("status")),
        issue_type=_name(fields.get("issuetype")),
        priority=_name(fields.get("priority")),
        assignee=person_from_raw(fields.get("assignee")),
        reporter=person_from_raw(fields.get("reporter")),
        labels=tuple(str(label) for label in fields.get("labels") or ()),
        description=fields.get("description") or None,
        created=parse_time(fields.get("created")),
        updated=parse_time(fields.get("updated")),
        comments=tuple(sorted(comments, key=lambda c: c.created)),
        # Cloud and Server disagree on the order of histories: time decides.
        changelog=tuple(sorted((change_from_raw(h) for h in histories), key=lambda c: c.created)),
    )


def _name(raw: Mapping[str, Any] | None) -> str:
    return str((raw or {}).get("name") or "")


__all__ = ["change_from_raw", "comment_from_raw", "issue_from_raw", "parse_time", "person_from_raw"]
