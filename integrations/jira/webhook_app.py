"""`POST /jira/webhook` on the bot's HTTP server (WSGI): verify → dedupe → triggers → enqueue.
With JIRA_TRIAGE_CHANNEL set, a new issue also gets its triage line queued (`workers.triage`).

    401  the `X-Hub-Signature` HMAC of the raw body does not verify (or no JIRA_WEBHOOK_SECRET)
    400  not JSON, or not a Jira issue event
    200  {"summarize": false, "reason": …}   no trigger, the bot's own comment, too few comments
    200  {"summarize": true, "duplicate": …} enqueued on the bulk queue, or a redelivery of one

Jira resends a delivery with the same `X-Atlassian-Webhook-Identifier`: the job is enqueued
once per identifier (the enqueue's dedupe claim), and a comment is counted towards
JIRA_TRIGGER_MIN_NEW_COMMENTS once per identifier. The worker resets the count once the
summary comment is written. Events the bot's own Jira account caused are never counted and
never trigger: the summary comment itself would otherwise start the next summary.

Nothing here calls a model or writes to Jira; the one Jira call is the bot's own account
(`myself`), asked once per process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import redis

from chatops.payloads import SummarizeJob, TriageJob
from chatops.settings import Settings
from gateway import keys
from gateway.errors import ChatOpsError
from integrations.jira.client import JiraClient
from integrations.jira.errors import WebhookPayloadError
from integrations.jira.webhook import (
    ISSUE_CREATED,
    SIGNATURE_HEADER,
    Triggers,
    WebhookEvent,
    identity,
    parse,
    should_summarize,
    verify,
)

log = logging.getLogger(__name__)

JIRA_WEBHOOK_PATH = "/jira/webhook"
MAX_BODY_BYTES = 1_000_000
# How long a count of new comments waits for the rest (an issue quiet this long starts over).
NEW_COMMENTS_TTL_S = 30 * 86_400
DEDUPE_TTL_S = 86_400

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Identity = tuple[str, str]


class _Jobs(Protocol):
    def enqueue_summary(self, job: SummarizeJob, once: tuple[Identity, ...] = ()) -> bool: ...

    def enqueue_triage(self, job: TriageJob, once: tuple[Identity, ...] = ()) -> bool: ...


class Edge(Protocol):
    """What the bot's HTTP edge has built (`bot.deps.BotDeps`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def redis(self) -> redis.Redis: ...

    @property
    def jobs(self) -> _Jobs: ...


class JiraWebhook:
    def __init__(
        self,
        edge: Edge,
        *,
        bot_account: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._edge = edge
        self._triggers = Triggers.from_settings(edge.settings)
        secret = edge.settings.jira_webhook_secret
        self._secret = secret.get_secret_value() if secret else ""
        self._bot_account = bot_account or _BotAccount(edge.settings)
        self._clock = clock

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
        raw = _body(environ)
        if not verify(raw, _header(environ, SIGNATURE_HEADER), self._secret):
            log.warning("jira_webhook_refused reason=signature")
            return _answer(start_response, "401 Unauthorized", {"error": "bad signature"})
        try:
            event = parse(json.loads(raw))
        except (ValueError, WebhookPayloadError) as exc:
            log.warning("jira_webhook_bad_payload: %s", exc)
            return _answer(start_response, "400 Bad Request", {"error": "not a Jira issue event"})
        delivery = identity(_headers(environ)) or hashlib.sha256(raw).hexdigest()[:40]
        status, body = self.handle(event, delivery)
        return _answer(start_response, status, body)

    def handle(self, event: WebhookEvent, delivery: str) -> tuple[str, dict[str, Any]]:
        bot = self._bot_account()
        caused_by_bot = any(bot in person.ids for person in event.people)
        new_comments = 0 if caused_by_bot else self._count(event, delivery)
        decision = should_summarize(event, self._triggers, bot, new_comments=new_comments)
        log.info(
            "jira_webhook delivery=%s event=%s key=%s summarize=%s reason=%r",
            delivery,
            event.event,
            event.issue_key,
            decision.summarize,
            decision.reason,
        )
        try:
            triage = self._triage(event, delivery, caused_by_bot)
            if not decision.summarize:
                return "200 OK", {"summarize": False, "reason": decision.reason, **triage}
            job = SummarizeJob(
                request_id=f"jira-{delivery}",
                source="webhook",
                key=event.issue_key,
                post=True,
                received_at=self._clock(),
            )
            fresh = self._edge.jobs.enqueue_summary(job, once=(("jira-webhook", delivery),))
        except redis.RedisError:
            log.exception("enqueue_failed delivery=%s", delivery)
            # Jira retries a delivery that failed: that is how the work still happens (what
            # was queued before the failure is a duplicate then, and not queued again).
            return "503 Service Unavailable", {"error": "queue unavailable"}
        return "200 OK", {"summarize": True, "duplicate": not fresh, **triage}

    def _triage(self, event: WebhookEvent, delivery: str, caused_by_bot: bool) -> dict[str, str]:
        """A new issue's triage line in JIRA_TRIAGE_CHANNEL (`workers.triage`), when set:
        `{"triage": "queued" | "duplicate" | "<why not>"}`, or nothing when triage is off."""
        settings = self._edge.settings
        if not settings.jira_triage_channel or event.event != ISSUE_CREATED:
            return {}
        allowed = self._triggers.allowed_projects
        if caused_by_bot or (allowed and event.project not in allowed):
            why = "caused by the bot" if caused_by_bot else "project outside JIRA_PROJECTS"
            return {"triage": why}
        job = TriageJob(
            request_id=f"triage-{delivery}",
            key=event.issue_key,
            team_id=settings.jira_triage_team,
            channel=settings.jira_triage_channel,
            received_at=self._clock(),
        )
        fresh = self._edge.jobs.enqueue_triage(job, once=(("jira-triage", delivery),))
        return {"triage": "queued" if fresh else "duplicate"}

    def _count(self, event: WebhookEvent, delivery: str) -> int:
        """Comments since the last summary, this one counted once however often it comes."""
        counter = keys.jira_new_comments(event.issue_key)
        client = self._edge.redis
        if not event.is_comment:
            return int(client.get(counter) or 0)
        if client.set(keys.dedupe("jira-comment", delivery), 1, nx=True, ex=DEDUPE_TTL_S):
            pipe = client.pipeline()
            pipe.incr(counter)
            pipe.expire(counter, NEW_COMMENTS_TTL_S)
            return int(pipe.execute()[0])
        return int(client.get(counter) or 0)


class _BotAccount:
    """The bot's Jira account id, asked of Jira once; JIRA_USER while Jira cannot say."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._id = ""

    def __call__(self) -> str:
        with self._lock:
            if not self._id:
                self._id = self._ask()
            return self._id or self._settings.jira_user or ""

    def _ask(self) -> str:
        try:
            client = JiraClient.from_settings(self._settings)
            try:
                return client.myself().account_id
            finally:
                client.close()
        except ChatOpsError as exc:
            log.warning("jira_myself_failed: %s; using JIRA_USER", exc)
            return ""


def mounted(app: WSGIApp, edge: Edge) -> WSGIApp:
    """`app` with `/jira/webhook` served by `JiraWebhook` in front of it."""
    webhook = JiraWebhook(edge)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == JIRA_WEBHOOK_PATH:
            return webhook(environ, start_response)
        return app(environ, start_response)

    return application


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY_BYTES)
    except ValueError:
        length = 0
    return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def _header(environ: dict[str, Any], name: str) -> str | None:
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return str(value) if value is not None else None


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    return {
        name[5:].replace("_", "-"): str(value)
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }


def _answer(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


__all__ = ["JIRA_WEBHOOK_PATH", "Edge", "JiraWebhook", "mounted"]
