"""Jira REST v2 and v3 JSON shapes for the emulator's records, and a small wiki-markup renderer.

Every object carries a `self` URL on the emulator because the `jira` library follows them
(`Comment.update` PUTs to `comment.self`). Comment and issue URLs use the numeric issue id, as
real Jira does, so a client that builds paths from `self` must accept ids as well as keys.
One renderer per API version: v2 writes bodies (description, comments) as wiki markup, v3 as
ADF documents, whichever form they were stored in (`sandbox.jira_adf`).
"""

from __future__ import annotations

import html
import re
from typing import Any

from sandbox.jira_adf import adf_to_wiki, wiki_to_adf
from sandbox.jira_store import JiraComment, JiraIssue, JiraStore, JiraUser

ALL_FIELDS = (
    "summary",
    "description",
    "status",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "labels",
    "issuetype",
    "project",
    "comment",
)
NAVIGABLE_FIELDS = tuple(f for f in ALL_FIELDS if f != "comment")

FIELD_NAMES = {f: f.title() for f in ALL_FIELDS} | {"issuetype": "Issue Type"}

_STATUSES = {
    "To Do": ("10000", "new", "To Do"),
    "In Progress": ("3", "indeterminate", "In Progress"),
    "In Review": ("10002", "indeterminate", "In Progress"),
    "Done": ("10001", "done", "Done"),
}
_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
_ISSUE_TYPES = {"Story": "10001", "Task": "10002", "Bug": "10004", "Incident": "10005"}


class JiraRenderer:
    """Turns store records into the JSON a Jira Server 9 (REST v2) or Jira Cloud (REST v3)
    instance returns."""

    def __init__(self, base_url: str, store: JiraStore, version: str = "2") -> None:
        self.base = base_url
        self.version = version
        self.api = f"{base_url}/rest/api/{version}"
        self.store = store

    def body(self, value: Any) -> Any:
        """A stored body in this version's form: wiki markup for v2, ADF for v3."""
        if self.version == "3":
            if isinstance(value, str):
                names = {u.name: u.display_name for u in self.store.users.values()}
                return wiki_to_adf(value, names)
            return value
        return adf_to_wiki(value) if isinstance(value, dict) else value

    def wiki(self, value: Any) -> str:
        return adf_to_wiki(value) if isinstance(value, dict) else str(value or "")

    def user(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        user = self.store.users.get(name) or JiraUser(name, name)
        return {
            "self": f"{self.api}/user?username={name}",
            "key": name,
            "name": name,
            "accountId": f"acc-{name}",
            "emailAddress": user.email,
            "displayName": user.display_name,
            "active": True,
            "timeZone": "Europe/London",
            "avatarUrls": {"48x48": f"{self.base}/secure/useravatar?ownerId={name}"},
        }

    def comment(self, issue_id: str, c: JiraComment, rendered: bool = False) -> dict[str, Any]:
        out = {
            "self": f"{self.api}/issue/{issue_id}/comment/{c.id}",
            "id": c.id,
            "author": self.user(c.author),
            "body": self.body(c.body),
            "updateAuthor": self.user(c.update_author),
            "created": c.created,
            "updated": c.updated,
            "jsdPublic": c.visibility is None,
        }
        if c.visibility is not None:
            out["visibility"] = dict(c.visibility)
        if rendered:
            out["renderedBody"] = render_wiki(self.wiki(c.body))
        return out

    def comment_page(
        self, issue: JiraIssue, start_at: int, max_results: int, rendered: bool = False
    ) -> dict[str, Any]:
        page = issue.comments[start_at : start_at + max_results]
        return {
            "startAt": start_at,
            "maxResults": max_results,
            "total": len(issue.comments),
            "comments": [self.comment(issue.id, c, rendered) for c in page],
        }

    def issue(self, issue: JiraIssue, fields: list[str], expand: set[str]) -> dict[str, Any]:
        navigable = self._navigable_fields(issue)
        values = {
            name: self.comment_page(issue, 0, len(issue.comments))
            if name == "comment"
            else navigable[name]
            for name in fields
        }
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
            "fields": values,
        }
        if "renderedFields" in expand:
            out["renderedFields"] = {name: self._rendered(issue, name) for name in fields}
        if "names" in expand:
            out["names"] = {name: FIELD_NAMES[name] for name in fields}
        if "changelog" in expand:
            out["changelog"] = self._changelog(issue)
        return out

    def _navigable_fields(self, issue: JiraIssue) -> dict[str, Any]:
        status_id, category, category_name = _STATUSES.get(issue.status, ("1", "new", "To Do"))
        project_id, project_name = self.store.projects[issue.project]
        return {
            "summary": issue.summary,
            "description": self.body(issue.description) if issue.description else None,
            "status": {
                "self": f"{self.api}/status/{status_id}",
                "id": status_id,
                "name": issue.status,
                "statusCategory": {"key": category, "name": category_name},
            },
            "priority": {
                "self": f"{self.api}/priority/{_PRIORITIES.get(issue.priority, '3')}",
                "id": _PRIORITIES.get(issue.priority, "3"),
                "name": issue.priority,
            },
            "assignee": self.user(issue.assignee),
            "reporter": self.user(issue.reporter),
            "created": issue.created,
            "updated": issue.updated,
            "labels": list(issue.labels),
            "issuetype": {
                "self": f"{self.api}/issuetype/{_ISSUE_TYPES.get(issue.issuetype, '10002')}",
                "id": _ISSUE_TYPES.get(issue.issuetype, "10002"),
                "name": issue.issuetype,
                "subtask": False,
            },
            "project": {
                "self": f"{self.api}/project/{project_id}",
                "id": project_id,
                "key": issue.project,
                "name": project_name,
            },
        }

    def _rendered(self, issue: JiraIssue, name: str) -> Any:
        if name == "description":
            return render_wiki(self.wiki(issue.description)) if issue.description else None
        if name == "comment":
            return self.comment_page(issue, 0, len(issue.comments), rendered=True)
        return None

    def _user_key(self, item: dict[str, Any], side: str) -> str | None:
        """A user field's raw value is the user name; other fields carry none here."""
        return item.get(side) if item["field"] in _USER_FIELDS else None

    def _display(self, item: dict[str, Any], side: str) -> str | None:
        """What people read: a user field shows the display name, as Jira's `toString` does."""
        value = item.get(side)
        if item["field"] in _USER_FIELDS and value in self.store.users:
            return self.store.users[value].display_name
        return value

    def _changelog(self, issue: JiraIssue) -> dict[str, Any]:
        histories = [
            {
                "id": str(n),
                "author": self.user(entry["author"]),
                "created": entry["created"],
                "items": [
                    {
                        "field": item["field"],
                        "fieldtype": "jira",
                        "from": self._user_key(item, "from"),
                        "fromString": self._display(item, "from"),
                        "to": self._user_key(item, "to"),
                        "toString": self._display(item, "to"),
                    }
                    for item in entry["items"]
                ],
            }
            for n, entry in enumerate(issue.changelog, start=1)
        ]
        return {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }


_USER_FIELDS = ("assignee", "reporter")


def select_fields(spec: str | None, default: tuple[str, ...]) -> list[str]:
    """Jira's `fields` parameter: names, `*all`, `*navigable`, and `-name` to leave one out."""
    tokens = [t.strip() for t in (spec or "").split(",") if t.strip()]
    if not tokens or all(t.startswith("-") for t in tokens):
        tokens = [*default, *tokens]
    chosen: set[str] = set()
    for token in tokens:
        if token == "*all":
            chosen.update(ALL_FIELDS)
        elif token == "*navigable":
            chosen.update(NAVIGABLE_FIELDS)
        elif token in ALL_FIELDS:
            chosen.add(token)
    chosen -= {t[1:] for t in tokens if t.startswith("-")}
    return [f for f in ALL_FIELDS if f in chosen]


# -- wiki markup → HTML (enough for renderedFields) ----------------------------------------

_FENCE = re.compile(r"^\{(code(?::\w+)?|noformat)\}\s*$")
_INLINE = [
    (re.compile(r"\{\{(.+?)\}\}"), r"<tt>\1</tt>"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])"), r"<em>\1</em>"),
    (re.compile(r"\[~(\w[\w.-]*)\]"), r'<a class="user-hover" rel="\1">\1</a>'),
    (re.compile(r"\[([^|\]]+)\|([^\]]+)\]"), r'<a href="\2">\1</a>'),
]


def render_wiki(text: str) -> str:
    """Code and noformat blocks as <pre>, headings, list items, inline bold/italic/monospace,
    user mentions and links; everything else as escaped lines."""
    out: list[str] = []
    in_block = False
    for line in text.splitlines():
        if _FENCE.match(line.strip()) or (in_block and line.strip() in ("{code}", "{noformat}")):
            out.append("</pre>" if in_block else "<pre>")
            in_block = not in_block
            continue
        if in_block:
            out.append(html.escape(line))
            continue
        rendered = html.escape(line, quote=False)
        for pattern, replacement in _INLINE:
            rendered = pattern.sub(replacement, rendered)
        heading = re.match(r"^h([1-6])\.\s+(.*)$", rendered)
        if heading:
            rendered = f"<h{heading.group(1)}>{heading.group(2)}</h{heading.group(1)}>"
        elif re.match(r"^[*#]\s", rendered):
            rendered = f"<li>{rendered[2:]}</li>"
        elif rendered.strip():
            rendered = f"<p>{rendered}</p>"
        out.append(rendered)
    if in_block:
        out.append("</pre>")
    return "\n".join(line for line in out if line)


__all__ = ["ALL_FIELDS", "NAVIGABLE_FIELDS", "JiraRenderer", "render_wiki", "select_fields"]
