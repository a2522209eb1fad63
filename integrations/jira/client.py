"""`JiraClient`: the one place the bot talks to Jira, over the `jira` library.

Every call goes through `_call`, which is where Jira's failures enter our error tree
(`integrations.jira.errors`). The library's own retries are switched off (`max_retries=0`):
it doubles `Retry-After`, adds jitter, retries only 429 and 503, and waits 20–80 s after a
refused connection. Ours honour `Retry-After` as sent, give up at once when Jira asks for a
longer wait than `RetryPolicy.max_wait_s`, and never resend a POST that Jira may have applied
(only a 429 or a connection that was never made is retried for a new comment).
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from chatops.settings import Settings, split_names
from gateway.errors import ChatOpsError, ConfigError
from integrations.jira.errors import (
    IssueNotVisibleError,
    JiraRefusedError,
    JiraSignInError,
    JiraUnavailableError,
    ProjectNotAllowedError,
)
from integrations.jira.records import comment_from_raw, issue_from_raw, person_from_raw
from integrations.jira.types import Issue, IssueComment, JiraBody, Person

log = logging.getLogger(__name__)

T = TypeVar("T")

ISSUE_FIELDS = (
    "summary,status,assignee,reporter,issuetype,priority,labels,description,project,created,updated"
)
# Jira Cloud serves at most 100 comments a page whatever is asked; Server takes more, but a
# page this size keeps each response small either way.
COMMENT_PAGE = 100
_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")


@dataclass(frozen=True)
class ProjectAccess:
    """The projects the bot may read and write (JIRA_PROJECTS); empty means all of them."""

    projects: frozenset[str] = frozenset()

    def check(self, key: str) -> str:
        """The key, upper-cased, if it is well formed and in an allowed project.

        A malformed key is "not found" (it could not name an issue, and must not reach a URL);
        a key outside the allowlist is refused here, before any HTTP call.
        """
        normal = key.strip().upper()
        if not _ISSUE_KEY.match(normal):
            raise IssueNotVisibleError(key.strip()[:40], f"malformed issue key {key!r}")
        project = normal.rsplit("-", 1)[0]
        if not self.allows(project):
            raise ProjectNotAllowedError(project, tuple(sorted(self.projects)))
        return normal

    def allows(self, project: str) -> bool:
        return not self.projects or project.upper() in self.projects


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    max_wait_s: float = 20.0
    first_wait_s: float = 1.0

    def wait_s(self, attempt: int, retry_after_s: float | None) -> float | None:
        """How long to wait before attempt `attempt + 1`; None: stop trying."""
        if attempt >= self.attempts:
            return None
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.max_wait_s else None
        return min(self.first_wait_s * 2.0 ** (attempt - 1), self.max_wait_s)


class JiraClient:
    def __init__(
        self,
        jira: JIRA,
        *,
        api_version: str = "2",
        access: ProjectAccess | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jira = jira
        self.api_version = api_version
        self.access = access or ProjectAccess()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._me: Person | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> JiraClient:
        return cls(
            connect(settings),
            api_version=settings.jira_api_version,
            access=ProjectAccess(frozenset(p.upper() for p in split_names(settings.jira_projects))),
            retry=RetryPolicy(settings.jira_attempts, settings.jira_max_retry_wait_s),
        )

    def close(self) -> None:
        self._jira.close()  # type: ignore[no-untyped-call]

    # -- reads -------------------------------------------------------------------------------

    def issue(self, key: str) -> Issue:
        """The issue with every comment (paged until Jira has no more) and its changelog."""
        key = self.access.check(key)
        raw = self._call(
            lambda: self._jira.issue(key, fields=ISSUE_FIELDS, expand="changelog").raw,
            key=key,
            action="read",
        )
        return issue_from_raw(raw, self.comments(key), self._jira.server_url)

    def comments(self, key: str) -> tuple[IssueComment, ...]:
        """All comments, oldest first. Stops at the first empty page rather than trusting a
        short one: a server may cap `maxResults` below what was asked."""
        key = self.access.check(key)
        found: list[IssueComment] = []
        while True:
            page = self._call(
                lambda: self._jira.comments(key, start_at=len(found), max_results=COMMENT_PAGE),
                key=key,
                action="read",
            )
            if not page:
                return tuple(found)
            found.extend(comment_from_raw(comment.raw) for comment in page)

    def search(self, jql: str, limit: int = 50) -> tuple[tuple[str, ...], int]:
        """The keys of the first `limit` issues `jql` finds, in Jira's order, only those of
        allowed projects; and how many Jira found in all."""
        found = self._call(
            lambda: self._jira.search_issues(
                jql, maxResults=limit, fields="key", validate_query=True, json_result=True
            ),
            key="issues with that query",
            action="search for",
        )
        keys = [str(issue["key"]).upper() for issue in found.get("issues") or ()]
        allowed = tuple(k for k in keys if self.access.allows(k.rsplit("-", 1)[0]))
        return allowed, int(found.get("total") or len(keys))

    def myself(self) -> Person:
        """The bot's own Jira account (asked once per client)."""
        if self._me is None:
            raw = self._call(self._jira.myself, key="its own account", action="read")
            self._me = person_from_raw(raw) or Person("ChatOps Bot")
        return self._me

    # -- writes ------------------------------------------------------------------------------

    def add_comment(
        self, key: str, body: JiraBody, visibility: dict[str, str] | None = None
    ) -> IssueComment:
        key = self.access.check(key)
        comment = self._call(
            lambda: self._jira.add_comment(key, body, visibility=visibility),
            key=key,
            action="comment on",
            replay_safe=False,
        )
        return comment_from_raw(comment.raw)

    def update_comment(
        self,
        key: str,
        comment_id: str,
        body: JiraBody,
        visibility: dict[str, str] | None = None,
    ) -> IssueComment:
        """Rewrite one comment in place (`Comment.update`: a PUT, safe to repeat)."""
        key = self.access.check(key)

        def put() -> dict[str, Any]:
            comment = self._jira.comment(key, comment_id)
            comment.update(body=body, visibility=visibility)
            raw: dict[str, Any] = comment.raw
            return raw

        return comment_from_raw(self._call(put, key=key, action="update a comment on"))

    # -- the boundary ------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], *, key: str, action: str, replay_safe: bool = True) -> T:
        attempt = 0
        retry_after: float | None = None
        last: Exception | None = None
        while True:
            attempt += 1
            try:
                return fn()
            except JIRAError as exc:
                mapped = _refusal(exc, key, action)
                if mapped is not None:
                    raise mapped from exc
                if exc.status_code != 429 and not replay_safe:
                    raise JiraUnavailableError(_detail(exc, action, key), attempts=1) from exc
                retry_after, last = _retry_after_s(exc.response), exc
            except requests.RequestException as exc:
                if not replay_safe and not isinstance(exc, requests.ConnectTimeout):
                    raise JiraUnavailableError(f"{action} {key}: {exc}", attempts=1) from exc
                retry_after, last = None, exc
            wait = self._retry.wait_s(attempt, retry_after)
            if wait is None:
                break
            log.warning(
                "jira_retry action=%r key=%s attempt=%d wait_s=%.1f error=%s",
                action,
                key,
                attempt,
                wait,
                type(last).__name__,
            )
            self._sleep(wait)
        too_long = (
            retry_after if retry_after is not None and attempt < self._retry.attempts else None
        )
        raise JiraUnavailableError(
            f"{action} {key}: gave up after {attempt} attempt(s): {last}",
            attempts=attempt,
            retry_after_s=too_long,
        ) from last


def connect(settings: Settings) -> JIRA:
    """A `jira.JIRA` for JIRA_URL: basic auth (Cloud: e-mail + API token) or a personal access
    token (Server / Data Center), REST v2 unless JIRA_API_VERSION says 3. Makes no request."""
    if not settings.jira_url:
        raise ConfigError("JIRA_URL: not set (e.g. https://example.atlassian.net)")
    if settings.jira_api_token is None:
        raise ConfigError("JIRA_API_TOKEN: not set")
    token = settings.jira_api_token.get_secret_value()
    auth: dict[str, Any] = {"token_auth": token}
    if settings.jira_auth == "basic":
        if not settings.jira_user:
            raise ConfigError("JIRA_USER: not set (the e-mail of the bot's Jira account)")
        auth = {"basic_auth": (settings.jira_user, token)}
    return JIRA(
        server=settings.jira_url,
        options={"rest_api_version": settings.jira_api_version},
        get_server_info=False,
        max_retries=0,
        timeout=settings.jira_timeout_s,
        **auth,
    )


def _refusal(exc: JIRAError, key: str, action: str) -> ChatOpsError | None:
    """The error for an answer retrying cannot change; None for 429, 5xx and no answer."""
    status = exc.status_code
    if status == 401:
        return JiraSignInError(_detail(exc, action, key))
    if status == 404 or (status == 403 and action == "read"):
        return IssueNotVisibleError(key, _detail(exc, action, key))
    if status is not None and 400 <= status < 500 and status != 429:
        return JiraRefusedError(_detail(exc, action, key), action=action, key=key)
    return None


def _detail(exc: JIRAError, action: str, key: str) -> str:
    """For logs only: people get the public message."""
    return f"Jira answered {exc.status_code} to {action} {key}: {str(exc.text)[:200]}"


def _retry_after_s(response: requests.Response | None) -> float | None:
    """`Retry-After` in seconds, whether sent as a number or as an HTTP date."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


__all__ = ["COMMENT_PAGE", "JiraClient", "ProjectAccess", "RetryPolicy", "connect"]
