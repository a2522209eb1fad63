"""A Jira REST API v2 / v3 emulator that the real `jira` library talks to unchanged.

Point a client at it with `JIRA(server=emulator.url, basic_auth=(user, token),
get_server_info=False)` — Jira Cloud's e-mail + API token — or `token_auth=<token>` with a
personal access token made by `add_token` (Server / Data Center). Any basic-auth login is
accepted (it becomes the author of the comments it writes); an unknown bearer token or no
credentials is a 401. URL layout, under `/rest/api/2` (wiki markup bodies), `/rest/api/3`
(ADF bodies, as Jira Cloud) or `/rest/api/latest` (= 2):

    GET  /serverInfo, /myself, /field
    GET  /issue/{key|id}                  fields=…, expand=changelog,renderedFields,names
    GET  /issue/{key|id}/comment          startAt, maxResults (default 5000), expand=renderedBody
    POST /issue/{key|id}/comment          {"body": wiki markup or ADF, "visibility": …} → 201
    GET  /issue/{key|id}/comment/{id}
    PUT  /issue/{key|id}/comment/{id}     {"body": …, "visibility": …}
    GET|POST /search                      jql (see `JiraStore.search`), startAt, maxResults, fields

Errors are Jira's `{"errorMessages": […], "errors": {…}}`; an issue the caller may not see
(`restrict`) is the same 404 as a missing one. Faults: `throttle` → 429 with Retry-After,
`error` → `Fault.status` or 500 (a 503 carries Retry-After, as Jira's does), `cut` → the
connection drops.

Webhooks (`sandbox.jira_webhooks`): `subscribe(url, secret)` makes every comment written
through the API or `post_comment` reach `url` signed, as an admin webhook would;
`send_webhook` delivers one event on demand and `redeliver` repeats a delivery as Jira retries.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sandbox.jira_render import FIELD_NAMES, NAVIGABLE_FIELDS, JiraRenderer, select_fields
from sandbox.jira_store import FIXTURES, JiraApiError, JiraComment, JiraIssue, JiraStore, jira_now
from sandbox.jira_webhooks import (
    EVENTS,
    ISSUE_EVENT_TYPES,
    Delivery,
    WebhookSender,
    issue_payload,
)
from sandbox.server import EmulatorServer, Exchange, Fault

DEFAULT_COMMENT_PAGE = 5000
DEFAULT_SEARCH_PAGE = 50

Reply = tuple[int, Any]
Handler = Callable[[Exchange, str], Reply]


class JiraEmulator(EmulatorServer):
    """A Jira Server 9 site seeded from `fixtures` (None: start empty, for replays)."""

    name = "jira"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, fixtures: Path | None = FIXTURES
    ) -> None:
        super().__init__(host, port)
        self.store = JiraStore()
        if fixtures is not None:
            self.store.load(fixtures)
        self.render = JiraRenderer(self.url, self.store)
        self._renderers = {"2": self.render, "3": JiraRenderer(self.url, self.store, "3")}
        self.webhooks = WebhookSender()
        api = r"/rest/api/(?P<version>2|3|latest)"
        issue = api + r"/issue/(?P<issue>[\w-]+)"
        self._api("GET", api + r"/serverInfo", self._server_info)
        self._api("GET", api + r"/myself", self._myself)
        self._api("GET", api + r"/field", self._fields)
        self._api("GET", issue, self._get_issue)
        self._api("GET", issue + r"/comment", self._list_comments)
        self._api("POST", issue + r"/comment", self._add_comment)
        self._api("GET", issue + r"/comment/(?P<comment>\d+)", self._get_comment)
        self._api("PUT", issue + r"/comment/(?P<comment>\d+)", self._update_comment)
        self._api("GET", api + r"/search", self._search)
        self._api("POST", api + r"/search", self._search)

    # -- what tests and replay tools call ----------------------------------------------------

    def add_issue(
        self,
        key: str,
        summary: str,
        description: str = "",
        *,
        comments: Sequence[tuple[str, str]] = (),
        **fields: Any,
    ) -> JiraIssue:
        """Add an issue; `comments` are (author, wiki-markup body) pairs, oldest first.

        Other keyword arguments set JiraIssue fields: issuetype, status, priority, assignee,
        reporter, labels, created, updated.
        """
        now = jira_now()
        return self.store.add_issue(
            key.upper(),
            summary,
            description=description,
            comments=[(author, body, now) for author, body in comments],
            **fields,
        )

    def issue(self, key: str) -> JiraIssue:
        return self.store.issue(key)

    def comments(self, key: str) -> list[JiraComment]:
        """An issue's comments as they are now, oldest first."""
        return self.store.issue(key).comments

    def add_token(self, user: str, token: str | None = None) -> str:
        """A personal access token for `user` (bearer auth), made up unless given."""
        token = token or f"pat-{user}-{len(self.requests)}-{id(self):x}"
        self.store.add_token(token, user)
        return token

    def restrict(self, project: str, users: Iterable[str]) -> None:
        """Only `users` may see the project's issues; to anyone else they do not exist."""
        self.store.restrict(project, users)

    def post_comment(self, key: str, author: str, body: Any) -> JiraComment:
        """A comment written by a person in Jira's own UI (subscribers are notified)."""
        comment = self.store.add_comment(key, author, body)
        self._notify("comment_created", key, comment, author)
        return comment

    # -- webhooks ----------------------------------------------------------------------------

    def subscribe(self, url: str, secret: str, events: Iterable[str] = EVENTS) -> None:
        """Every comment written from now on is delivered to `url`, signed with `secret`."""
        self.webhooks.subscribe(url, secret, events)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.webhooks.deliveries)

    def send_webhook(
        self,
        url: str,
        secret: str,
        event: str,
        key: str,
        *,
        comment_id: str | None = None,
        actor: str | None = None,
        identifier: str | None = None,
    ) -> Delivery:
        """POST one Jira-shaped event about `key` (and one of its comments) to `url`, signed
        with `secret`, and wait for the answer. `actor` is who caused it (default: the
        comment's author, else the reporter)."""
        payload = self._payload(event, self.store.issue(key), comment_id, actor)
        return self.webhooks.deliver(url, secret, payload, identifier=identifier)

    def redeliver(self, delivery: Delivery) -> Delivery:
        return self.webhooks.redeliver(delivery)

    def _notify(self, event: str, key: str, comment: JiraComment, actor: str) -> None:
        if not self.webhooks.subscriptions:
            return
        issue = self.store.issue(key)
        self.webhooks.notify(
            event,
            {
                event: self._payload(event, issue, comment.id, actor),
                "jira:issue_updated": self._payload(
                    "jira:issue_updated", issue, comment.id, actor, ISSUE_EVENT_TYPES[event]
                ),
            },
        )

    def _payload(
        self,
        event: str,
        issue: JiraIssue,
        comment_id: str | None,
        actor: str | None,
        issue_event: str | None = None,
    ) -> dict[str, Any]:
        comment = self.store.comment(issue.key, comment_id) if comment_id else None
        who = actor or (comment.update_author if comment else issue.reporter)
        if event == "jira:issue_created":
            issue_event = issue_event or "issue_created"
        elif event == "jira:issue_updated" and issue_event is None:
            issue_event = "issue_commented" if comment else "issue_generic"
        return issue_payload(
            event,
            self.render.issue(issue, list(NAVIGABLE_FIELDS), set()),
            user=self.render.user(who),
            comment=self.render.comment(issue.id, comment) if comment else None,
            issue_event=issue_event,
        )

    # -- HTTP plumbing -----------------------------------------------------------------------

    def _api(self, method: str, pattern: str, handler: Handler) -> None:
        def guarded(ex: Exchange) -> None:
            fault = self.take_fault(ex.path)
            if fault is not None:
                self._send_fault(ex, fault)
                return
            user = self._authenticated_user(ex.headers.get("authorization", ""))
            if user is None:
                ex.send_json(_errors("You are not authenticated. Authentication required."), 401)
                return
            try:
                status, payload = handler(ex, self.store.user(user).name)
            except JiraApiError as exc:
                status, payload = exc.status, _errors(*exc.messages, errors=exc.errors)
            ex.send_json(payload, status)

        self.route(method, pattern, guarded)

    def _authenticated_user(self, header: str) -> str | None:
        if header.startswith("Bearer "):
            return self.store.token_user(header[7:].strip())
        return _basic_auth_user(header)

    def _renderer(self, ex: Exchange) -> JiraRenderer:
        return self._renderers.get(ex.param("version"), self.render)

    def _send_fault(self, ex: Exchange, fault: Fault) -> None:
        if fault.kind == "cut":
            ex.cut()
            return
        retry_after = {"Retry-After": str(fault.retry_after)}
        if fault.kind == "throttle":
            ex.send_json(_errors("Rate limit exceeded."), fault.status or 429, retry_after)
            return
        status = fault.status or 500
        # Jira sends Retry-After with a 503, and the library only retries a 503 that has one.
        headers = retry_after if status == 503 else {}
        ex.send_json(_errors("Internal server error"), status, headers)

    # -- REST resources ----------------------------------------------------------------------

    def _server_info(self, ex: Exchange, user: str) -> Reply:
        return 200, {
            "baseUrl": self.url,
            "version": "9.12.15",
            "versionNumbers": [9, 12, 15],
            "deploymentType": "Server",
            "buildNumber": 9120015,
            "serverTime": jira_now(),
            "serverTitle": "ChatOps sandbox Jira",
        }

    def _myself(self, ex: Exchange, user: str) -> Reply:
        return 200, self._renderer(ex).user(user)

    def _fields(self, ex: Exchange, user: str) -> Reply:
        """Field definitions: `search_issues` reads them to map JQL names to field ids."""
        return 200, [
            {
                "id": name,
                "key": name,
                "name": title,
                "custom": False,
                "navigable": name in NAVIGABLE_FIELDS,
                "searchable": True,
                "clauseNames": [name],
            }
            for name, title in FIELD_NAMES.items()
        ]

    def _get_issue(self, ex: Exchange, user: str) -> Reply:
        issue = self.store.issue(ex.param("issue"), viewer=user)
        fields = select_fields(_query_list(ex, "fields"), ("*all",))
        return 200, self._renderer(ex).issue(issue, fields, _expand(_query_list(ex, "expand")))

    def _list_comments(self, ex: Exchange, user: str) -> Reply:
        issue = self.store.issue(ex.param("issue"), viewer=user)
        if _first(ex, "orderBy") == "-created":
            issue.comments.reverse()
        start = _int(_first(ex, "startAt"), 0)
        size = _int(_first(ex, "maxResults"), DEFAULT_COMMENT_PAGE)
        rendered = "renderedBody" in _expand(_query_list(ex, "expand"))
        return 200, self._renderer(ex).comment_page(issue, start, size, rendered)

    def _add_comment(self, ex: Exchange, user: str) -> Reply:
        issue = self.store.issue(ex.param("issue"), viewer=user)
        body, visibility = _comment_fields(ex)
        comment = self.store.add_comment(issue.key, user, body, visibility)
        self._notify("comment_created", issue.key, comment, user)
        return 201, self._renderer(ex).comment(issue.id, comment)

    def _get_comment(self, ex: Exchange, user: str) -> Reply:
        issue = self.store.issue(ex.param("issue"), viewer=user)
        comment = self.store.comment(issue.key, ex.param("comment"))
        rendered = "renderedBody" in _expand(_query_list(ex, "expand"))
        return 200, self._renderer(ex).comment(issue.id, comment, rendered)

    def _update_comment(self, ex: Exchange, user: str) -> Reply:
        issue = self.store.issue(ex.param("issue"), viewer=user)
        body, visibility = _comment_fields(ex)
        comment = self.store.update_comment(issue.key, ex.param("comment"), user, body, visibility)
        self._notify("comment_updated", issue.key, comment, user)
        return 200, self._renderer(ex).comment(issue.id, comment)

    def _search(self, ex: Exchange, user: str) -> Reply:
        """GET takes query parameters; POST (`search_issues(use_post=True)`) a JSON body."""
        body = ex.body if isinstance(ex.body, dict) else {}
        params = {k: ",".join(v) for k, v in ex.query.items()}
        params.update({k: _join(v) for k, v in body.items() if v is not None})
        found = self.store.search(params.get("jql", ""))
        issues = [issue for issue in found if self.store.can_see(user, issue)]
        start = _int(params.get("startAt"), 0)
        size = _int(params.get("maxResults"), DEFAULT_SEARCH_PAGE)
        fields = select_fields(params.get("fields"), NAVIGABLE_FIELDS)
        expand = _expand(params.get("expand"))
        return 200, {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(issues),
            "issues": [
                self._renderer(ex).issue(i, fields, expand) for i in issues[start : start + size]
            ],
        }


def _basic_auth_user(header: str) -> str | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, _ = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None


def _errors(*messages: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"errorMessages": list(messages), "errors": errors or {}}


def _query_list(ex: Exchange, name: str) -> str | None:
    """A query parameter that may be repeated (requests sends lists that way) or comma-joined."""
    values = ex.query.get(name)
    return ",".join(values) if values else None


def _first(ex: Exchange, name: str) -> str | None:
    values = ex.query.get(name)
    return values[0] if values else None


def _join(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _expand(spec: str | None) -> set[str]:
    return {part.strip() for part in (spec or "").split(",") if part.strip()}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError as exc:
        raise JiraApiError(400, f"'{value}' is not a number.") from exc


def _comment_fields(ex: Exchange) -> tuple[Any, dict[str, str] | None]:
    """The body (wiki markup on v2, an ADF document on v3) and visibility of a comment write."""
    data = ex.body if isinstance(ex.body, dict) else {}
    body = data.get("body")
    wanted = dict if ex.param("version") == "3" else str
    if not isinstance(body, wanted):
        raise JiraApiError(400, errors={"comment": "Comment body can not be empty!"})
    visibility = data.get("visibility")
    if visibility is not None and not (
        isinstance(visibility, dict) and visibility.get("type") in ("role", "group")
    ):
        raise JiraApiError(400, errors={"visibility": "Visibility type must be role or group."})
    return body, visibility


__all__ = ["JiraEmulator"]
