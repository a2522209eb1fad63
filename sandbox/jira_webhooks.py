"""Signed webhook delivery, as a Jira admin webhook with a secret sends it.

A delivery is a POST of JSON with `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
and `X-Atlassian-Webhook-Identifier` (the same on every retry of that delivery; a retry also
carries `X-Atlassian-Webhook-Retry`). Payloads have Jira's shape: `timestamp`, `webhookEvent`,
`issue_event_type_name` (issue events), `user`, `issue`, `comment`, `changelog`.

`WebhookSender.deliver` posts one and waits for the answer; `notify` posts to every
subscription that wants the event on a background thread, as Jira does after a change.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created", "comment_updated")
# The `issue_event_type_name` Jira sends with `jira:issue_updated` for a comment event.
ISSUE_EVENT_TYPES = {
    "comment_created": "issue_commented",
    "comment_updated": "issue_comment_edited",
}
DELIVERY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Subscription:
    url: str
    secret: str
    events: frozenset[str] = frozenset(EVENTS)


@dataclass
class Delivery:
    url: str
    event: str
    identifier: str
    body: bytes
    headers: dict[str, str]
    # What the receiver answered; None when it could not be reached.
    status: int | None = None
    at: float = field(default_factory=time.time)

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.subscriptions: list[Subscription] = []
        self.deliveries: list[Delivery] = []

    def subscribe(self, url: str, secret: str, events: Iterable[str] = EVENTS) -> None:
        with self._lock:
            self.subscriptions.append(Subscription(url, secret, frozenset(events)))

    def deliver(
        self,
        url: str,
        secret: str,
        payload: dict[str, Any],
        *,
        identifier: str | None = None,
    ) -> Delivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        ident = identifier or f"sandbox-{next(self._ids):06d}"
        headers = {
            "Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": ident,
            "X-Hub-Signature": signature(body, secret),
        }
        return self._post(Delivery(url, str(payload.get("webhookEvent", "")), ident, body, headers))

    def redeliver(self, delivery: Delivery) -> Delivery:
        """The same delivery again — same body, same identifier — as Jira retries one."""
        headers = {**delivery.headers, "X-Atlassian-Webhook-Retry": "1"}
        return self._post(
            Delivery(delivery.url, delivery.event, delivery.identifier, delivery.body, headers)
        )

    def notify(self, event: str, payloads: dict[str, dict[str, Any]]) -> None:
        """Deliver `payloads[event name]` to each subscription that wants that event, in the
        background. `payloads` holds the variants Jira sends for one change (e.g.
        `comment_created` and `jira:issue_updated`)."""
        with self._lock:
            wanted = [
                (sub, name, payload)
                for sub in self.subscriptions
                for name, payload in payloads.items()
                if name in sub.events
            ]
        for sub, _, payload in wanted:
            threading.Thread(
                target=self.deliver, args=(sub.url, sub.secret, payload), daemon=True
            ).start()

    def _post(self, delivery: Delivery) -> Delivery:
        request = urllib.request.Request(
            delivery.url, data=delivery.body, headers=delivery.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_S) as response:
                delivery.status = response.status
        except urllib.error.HTTPError as exc:
            delivery.status = exc.code
        except OSError:
            delivery.status = None
        with self._lock:
            self.deliveries.append(delivery)
        return delivery


def issue_payload(
    event: str,
    issue: dict[str, Any],
    *,
    user: dict[str, Any] | None,
    comment: dict[str, Any] | None = None,
    issue_event: str | None = None,
    changelog: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One webhook body. `issue`, `user` and `comment` are REST-shaped objects; `issue_event`
    is the `issue_event_type_name` of a `jira:issue_*` event."""
    payload: dict[str, Any] = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": event,
        "issue": issue,
    }
    if user is not None:
        payload["user"] = user
    if comment is not None:
        payload["comment"] = comment
    if issue_event is not None:
        payload["issue_event_type_name"] = issue_event
    if changelog:
        payload["changelog"] = {"id": str(next(_changelog_ids)), "items": changelog}
    return payload


_changelog_ids = itertools.count(50001)


__all__ = [
    "EVENTS",
    "Delivery",
    "Subscription",
    "WebhookSender",
    "issue_payload",
    "signature",
]
