"""What the Jira emulator remembers — users, projects, issues, comments, change history — and
the small JQL subset it answers.

Seeded from `jira_fixtures.json` (DEMO-1, an incident with 200 comments — a decision made early
and reversed late, bot noise, "+1"s — then DEMO-2, DEMO-3, OPS-1, OPS-2); tests and replay tools
add more with `add_issue`. Reads hand out deep copies taken under the lock, so a request thread
never renders an issue while another one appends to it.

A body is kept in the form it was written — wiki markup (a str, REST v2) or an ADF document (a
dict, REST v3) — and converted when read through the other API version. Personal access tokens
(`add_token`) sign in as their user; `restrict` hides a project from everyone but some users,
who then get the 404 Jira answers for an issue they may not see.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).with_name("jira_fixtures.json")

_ORDER_BY = re.compile(r"\s+order\s+by\s+(\w+)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"^\s*(\w+)\s*(!=|>=|<=|>|<|=|\bin\b)\s*(.+?)\s*$", re.IGNORECASE)
# `updated >= -1d`: a time relative to now (m, h, d, w), or a date, `2026-11-30[ 08:00]`.
_RELATIVE = re.compile(r"^-(\d+)([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_COMPARE: dict[str, Callable[[str, str], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def jira_now() -> str:
    """The current time in Jira's own format, e.g. 2026-11-20T09:15:00.000+0000."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class JiraApiError(Exception):
    """A request Jira would refuse; rendered as `{"errorMessages": […], "errors": {…}}`."""

    def __init__(self, status: int, message: str = "", errors: dict[str, str] | None = None):
        super().__init__(message or str(errors))
        self.status = status
        self.messages = [message] if message else []
        self.errors = errors or {}


@dataclass
class JiraUser:
    name: str
    display_name: str
    email: str = ""


@dataclass
class JiraComment:
    id: str
    author: str
    body: Any  # wiki markup (str) or an ADF document (dict)
    created: str
    updated: str
    update_author: str
    visibility: dict[str, str] | None = None


@dataclass
class JiraIssue:
    id: str
    key: str
    project: str
    summary: str
    description: Any = ""  # wiki markup (str) or an ADF document (dict)
    issuetype: str = "Task"
    status: str = "To Do"
    priority: str = "Medium"
    assignee: str | None = None
    reporter: str = "alice"
    labels: list[str] = field(default_factory=list)
    created: str = field(default_factory=jira_now)
    updated: str = ""
    comments: list[JiraComment] = field(default_factory=list)
    changelog: list[dict[str, Any]] = field(default_factory=list)


class JiraStore:
    """Thread-safe state of one emulated Jira site."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(10001)
        self.users: dict[str, JiraUser] = {}
        self.projects: dict[str, tuple[str, str]] = {}
        self._issues: dict[str, JiraIssue] = {}
        self._tokens: dict[str, str] = {}
        self._restricted: dict[str, set[str]] = {}

    def load(self, path: Path) -> None:
        seed = json.loads(path.read_text(encoding="utf-8"))
        for user in seed["users"]:
            self.add_user(JiraUser(user["name"], user["displayName"], user.get("email", "")))
        for project in seed["projects"]:
            self.add_project(project["key"], project["name"])
        for raw in seed["issues"]:
            comments = [(c["author"], c["body"], c["created"]) for c in raw.pop("comments")]
            self.add_issue(**raw, comments=comments)

    # -- users -------------------------------------------------------------------------------

    def add_user(self, user: JiraUser) -> None:
        with self._lock:
            self.users[user.name] = user

    def user(self, name: str) -> JiraUser:
        """A known user; an unknown login (a bot's service account) becomes one on first use."""
        with self._lock:
            if name not in self.users:
                self.users[name] = JiraUser(name, name, f"{name}@example.com")
            return self.users[name]

    def add_token(self, token: str, user: str) -> None:
        """A personal access token that signs in as `user` (Server / Data Center bearer auth)."""
        with self._lock:
            self._tokens[token] = self.user(user).name

    def token_user(self, token: str) -> str | None:
        with self._lock:
            return self._tokens.get(token)

    def restrict(self, project: str, users: Iterable[str]) -> None:
        """Only `users` may see `project`'s issues; everyone else gets a 404."""
        with self._lock:
            self._restricted[project.upper()] = set(users)

    def can_see(self, user: str, issue: JiraIssue) -> bool:
        with self._lock:
            allowed = self._restricted.get(issue.project)
            return allowed is None or user in allowed

    def add_project(self, key: str, name: str) -> None:
        """Projects as key → (id, name); ids are numbered in the order projects appear."""
        with self._lock:
            if key not in self.projects:
                self.projects[key] = (str(10000 + len(self.projects)), name)

    # -- issues and comments -----------------------------------------------------------------

    def add_issue(
        self,
        key: str,
        summary: str,
        *,
        comments: Iterable[tuple[str, str, str]] = (),
        **fields: Any,
    ) -> JiraIssue:
        """Add an issue; `comments` are (author, wiki-markup body, created) in order."""
        with self._lock:
            key = key.upper()
            project = key.rsplit("-", 1)[0]
            self.add_project(project, project.title())
            issue = JiraIssue(str(next(self._ids)), key, project, summary, **fields)
            issue.updated = issue.updated or issue.created
            for author, body, created in comments:
                self.user(author)
                issue.comments.append(
                    JiraComment(str(next(self._ids)), author, body, created, created, author)
                )
            self._issues[key] = issue
            return copy.deepcopy(issue)

    def issue(self, key_or_id: str, viewer: str | None = None) -> JiraIssue:
        """The issue; with a `viewer`, a 404 unless they may see it (as Jira answers)."""
        with self._lock:
            issue = self._find(key_or_id)
            if viewer is not None and not self.can_see(viewer, issue):
                raise _not_found()
            return copy.deepcopy(issue)

    def add_comment(
        self,
        key_or_id: str,
        author: str,
        body: Any,
        visibility: dict[str, str] | None = None,
    ) -> JiraComment:
        _check_body(body)
        with self._lock:
            issue = self._find(key_or_id)
            now = jira_now()
            comment = JiraComment(
                str(next(self._ids)), self.user(author).name, body, now, now, author, visibility
            )
            issue.comments.append(comment)
            issue.updated = now
            return copy.deepcopy(comment)

    def update_comment(
        self,
        key_or_id: str,
        comment_id: str,
        author: str,
        body: Any,
        visibility: dict[str, str] | None = None,
    ) -> JiraComment:
        _check_body(body)
        with self._lock:
            issue = self._find(key_or_id)
            comment = self._find_comment(issue, comment_id)
            comment.body, comment.updated = body, jira_now()
            comment.update_author = self.user(author).name
            if visibility is not None:
                comment.visibility = visibility
            issue.updated = comment.updated
            return copy.deepcopy(comment)

    def comment(self, key_or_id: str, comment_id: str) -> JiraComment:
        with self._lock:
            return copy.deepcopy(self._find_comment(self._find(key_or_id), comment_id))

    # -- JQL ---------------------------------------------------------------------------------

    def search(self, jql: str) -> list[JiraIssue]:
        """Issues matching `jql`: clauses joined by AND (`field = v`, `!=`, `in (…)`) on
        project, key, status, assignee, reporter, priority, issuetype and labels, then
        `ORDER BY updated|created|key|priority [ASC|DESC]` (default: key, newest first)."""
        order_field, descending = "key", True
        match = _ORDER_BY.search(" " + jql)
        if match:
            order_field, descending = (
                match.group(1).lower(),
                (match.group(2) or "asc").lower() == "desc",
            )
            jql = (" " + jql)[: match.start()]
        if order_field not in _ORDER_KEYS:
            raise _jql_error(f"Field '{order_field}' does not exist or you do not have permission.")
        with self._lock:
            tests = [self._clause(c) for c in _AND.split(jql.strip()) if c.strip()]
            found = [i for i in self._issues.values() if all(test(i) for test in tests)]
            found.sort(key=_ORDER_KEYS[order_field], reverse=descending)
            return copy.deepcopy(found)

    def _clause(self, text: str) -> Callable[[JiraIssue], bool]:
        match = _CLAUSE.match(text)
        if match is not None and match.group(2) in _COMPARE:
            return _time_clause(match.group(1).lower(), match.group(2), match.group(3), text)
        if match is None or match.group(1).lower() not in _FIELD_VALUES:
            raise _jql_error(f"The emulator does not understand the JQL clause '{text.strip()}'.")
        name, op = match.group(1).lower(), match.group(2).lower()
        values = {v.lower() for v in _jql_values(match.group(3), many=op == "in")}
        for value in values:
            self._check_exists(name, value)
        read = _FIELD_VALUES[name]

        def test(issue: JiraIssue) -> bool:
            hit = bool(values & {v.lower() for v in read(issue)})
            return not hit if op == "!=" else hit

        return test

    def _check_exists(self, name: str, value: str) -> None:
        """Jira refuses a query naming a project or issue that does not exist."""
        if name == "project" and value.upper() not in self.projects:
            raise _jql_error(f"The value '{value}' does not exist for the field 'project'.")
        if name in ("key", "issuekey") and value.upper() not in self._issues:
            raise _jql_error(f"An issue with key '{value.upper()}' does not exist for field 'key'.")

    # -- internals ---------------------------------------------------------------------------

    def _find(self, key_or_id: str) -> JiraIssue:
        issue = self._issues.get(key_or_id.upper())
        if issue is None:
            issue = next((i for i in self._issues.values() if i.id == key_or_id), None)
        if issue is None:
            raise _not_found()
        return issue

    @staticmethod
    def _find_comment(issue: JiraIssue, comment_id: str) -> JiraComment:
        for comment in issue.comments:
            if comment.id == comment_id:
                return comment
        raise JiraApiError(404, f"Can not find a comment for the id: {comment_id}.")


_PRIORITY_RANK = {"Highest": 1, "High": 2, "Medium": 3, "Low": 4, "Lowest": 5}

_ORDER_KEYS: dict[str, Callable[[JiraIssue], Any]] = {
    "updated": lambda i: i.updated,
    "created": lambda i: i.created,
    "key": lambda i: (i.project, int(i.key.rsplit("-", 1)[1])),
    "priority": lambda i: -_PRIORITY_RANK.get(i.priority, 3),
}

_FIELD_VALUES: dict[str, Callable[[JiraIssue], list[str]]] = {
    "project": lambda i: [i.project],
    "key": lambda i: [i.key],
    "issuekey": lambda i: [i.key],
    "status": lambda i: [i.status],
    "assignee": lambda i: [i.assignee or "empty"],
    "reporter": lambda i: [i.reporter],
    "priority": lambda i: [i.priority],
    "issuetype": lambda i: [i.issuetype],
    "type": lambda i: [i.issuetype],
    "labels": lambda i: i.labels,
}


def _time_clause(name: str, op: str, value: str, text: str) -> Callable[[JiraIssue], bool]:
    """`updated >= -1d`, `created < "2026-11-30"`: compared in Jira's own time format."""
    if name not in ("updated", "created"):
        raise _jql_error(f"The emulator does not understand the JQL clause '{text.strip()}'.")
    value = value.strip("'\"")
    relative = _RELATIVE.match(value)
    if relative:
        seconds = int(relative.group(1)) * _UNIT_S[relative.group(2)]
        bound = datetime.fromtimestamp(datetime.now(UTC).timestamp() - seconds, UTC)
    else:
        try:
            bound = datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError as exc:
            raise _jql_error(f"Date value '{value}' for field '{name}' is invalid.") from exc
    limit = bound.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    compare = _COMPARE[op]
    return lambda issue: compare(getattr(issue, name), limit)


def _not_found() -> JiraApiError:
    return JiraApiError(404, "Issue does not exist or you do not have permission to see it.")


def _check_body(body: Any) -> None:
    """Jira refuses an empty comment, in either form."""
    empty = not body.strip() if isinstance(body, str) else not (body or {}).get("content")
    if empty:
        raise JiraApiError(400, errors={"comment": "Comment body can not be empty!"})


def _jql_values(text: str, *, many: bool) -> list[str]:
    if many:
        if not (text.startswith("(") and text.endswith(")")):
            raise _jql_error(f"Expected a list in parentheses after IN, got '{text}'.")
        return [v.strip().strip("'\"") for v in text[1:-1].split(",") if v.strip()]
    return [text.strip("'\"")]


def _jql_error(message: str) -> JiraApiError:
    return JiraApiError(400, f"Error in the JQL Query: {message}")


__all__ = [
    "FIXTURES",
    "JiraApiError",
    "JiraComment",
    "JiraIssue",
    "JiraStore",
    "JiraUser",
    "jira_now",
]
