"""Plays Slack's side towards the bot: signed slash commands and Events API deliveries.

e2e tests, the `chatops up` demo and the load replayer use it to reach a bot exactly as Slack
does — real HTTP to `<bot_url>/slack/events`, `X-Slack-Signature` over the raw body, retries
with `X-Slack-Retry-Num` — while the person's own message lands in the `SlackEmulator` first,
so `conversations.replies` shows it when the bot reads the thread.

One driver speaks for one workspace (`team_id`; in an Enterprise Grid org, `enterprise_id`,
and `org_install` when the app was installed org-wide). The App Home and its modals are driven
as a person would — open the Home tab, press a button on it, submit a modal — and an install
walks Slack's OAuth flow as a browser does (both in `sandbox.slack_home_driver`);
`app_uninstalled` and `tokens_revoked` tell the bot it lost a workspace.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from sandbox.slack import SlackEmulator

FORGED_SECRET = "not-the-signing-secret"


@dataclass(frozen=True)
class SentRequest:
    """One request as Slack sent it (headers included), kept so it can be delivered again.

    `ts` is the person's message that an event is about; None for a slash command.
    """

    body: bytes
    content_type: str
    event_id: str | None = None
    ts: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DriverResponse:
    """What the bot answered, and how long its acknowledgement took."""

    status: int
    body: str
    elapsed_s: float
    request: SentRequest

    @property
    def ts(self) -> str | None:
        return self.request.ts

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackDriver:
    """Slack, as seen from the bot's HTTP endpoint; every delivery is kept in `history`."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        emulator: SlackEmulator,
        team_id: str = "T_DEMO",
        timeout_s: float = 10.0,
        *,
        enterprise_id: str | None = None,
        org_install: bool = False,
    ) -> None:
        self.bot_url = bot_url.rstrip("/")
        self.events_url = self.bot_url + "/slack/events"
        self.emulator = emulator
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.org_install = org_install
        self.timeout_s = timeout_s
        self.history: list[DriverResponse] = []
        self._verifier = SignatureVerifier(signing_secret)
        self._forger = SignatureVerifier(FORGED_SECRET)
        self._seq = itertools.count(1)

    @property
    def last(self) -> DriverResponse | None:
        return self.history[-1] if self.history else None

    @property
    def bot_user_id(self) -> str:
        """The bot user Slack shows in this workspace (its org's, for an org-wide install)."""
        return self.emulator.bot_user_for(self.team_id)

    def where(self) -> dict[str, Any]:
        """The workspace fields of an interaction payload (`block_actions`, `view_submission`)."""
        enterprise = {"id": self.enterprise_id, "name": "org"} if self.enterprise_id else None
        return {
            "team": {"id": self.team_id, "domain": "chatops-demo"},
            "enterprise": enterprise,
            "is_enterprise_install": self.org_install,
        }

    def send_interaction(self, payload: dict[str, Any]) -> DriverResponse:
        """An interaction (`block_actions`, `view_submission`, …) form-encoded as
        `payload=<json>`, as Slack posts it to the interactivity URL."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._send(SentRequest(body, "application/x-www-form-urlencoded"))

    def next_trigger(self, user: str) -> str:
        """A trigger id Slack would attach to a person's interaction (3 s to open a modal)."""
        return self.emulator.views.issue_trigger(user)

    def app_uninstalled(self) -> DriverResponse:
        """Slack telling the bot it was uninstalled from this workspace (or org)."""
        return self._deliver(self._lifecycle_event("app_uninstalled", {}), False)

    def tokens_revoked(self, *, bot: bool = True, users: tuple[str, ...] = ()) -> DriverResponse:
        """Slack telling the bot that tokens of this installation were revoked."""
        tokens = {"oauth": list(users), "bot": [self.bot_user_id] if bot else []}
        return self._deliver(self._lifecycle_event("tokens_revoked", {"tokens": tokens}), False)

    def _lifecycle_event(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        now = f"{time.time():.6f}"
        return {"type": kind, **fields, "event_ts": now, "ts": now}

    # -- what a person does ------------------------------------------------------------------

    def slash(
        self, command: str, text: str, user: str, channel: str, *, bad_signature: bool = False
    ) -> DriverResponse:
        """Run `/command text` as `user` in `channel`; form-encoded like Slack's own POST."""
        form = {
            "token": "sandbox-verification-token",
            "team_id": self.team_id,
            "team_domain": "chatops-demo",
            "channel_id": channel,
            "channel_name": self.emulator.channel_name(channel),
            "user_id": user,
            "user_name": self.emulator.user(user).name,
            "command": command,
            "text": text,
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": str(self.org_install).lower(),
            **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            "response_url": self.emulator.response_url_for(channel, user),
            "trigger_id": f"{next(self._seq)}.{int(time.time())}.{uuid.uuid4().hex[:16]}",
        }
        request = SentRequest(urlencode(form).encode(), "application/x-www-form-urlencoded")
        return self._send(request, bad_signature=bad_signature)

    def mention(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        also_as_message: bool = False,
        bad_signature: bool = False,
        files: list[dict[str, Any]] | None = None,
    ) -> DriverResponse:
        """`@bot text` in a channel (or thread): stored, then delivered as `app_mention`.

        `also_as_message` delivers it once more as a `message` event with its own event_id,
        as Slack does for an app subscribed to both; the answer to the first is returned.
        `files` (from `SlackEmulator.attach_file`) are attached to the message.
        """
        mention = f"<@{self.bot_user_id}>"
        full_text = text if text.startswith(mention) else f"{mention} {text}"
        ts = self.emulator.post_as_user(channel, user, full_text, thread_ts, files)
        event = self._message_event("app_mention", user, channel, full_text, ts, thread_ts)
        if files:
            event["files"] = files
        response = self._deliver(event, bad_signature)
        if also_as_message:
            as_message = {**event, "type": "message", "channel_type": "channel"}
            if files:
                as_message["subtype"] = "file_share"
            self._deliver(as_message, bad_signature)
        return response

    def message(
        self, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> DriverResponse:
        """A plain channel message (no mention), stored, then delivered as a `message` event —
        which Slack sends only to an app subscribed to `message.channels`."""
        ts = self.emulator.post_as_user(channel, user, text, thread_ts)
        event = self._message_event("message", user, channel, text, ts, thread_ts)
        return self._deliver({**event, "channel_type": "channel"}, False)

    def dm(
        self,
        user: str,
        text: str,
        channel: str | None = None,
        *,
        thread_ts: str | None = None,
        bad_signature: bool = False,
        files: list[dict[str, Any]] | None = None,
    ) -> DriverResponse:
        """A direct message to the bot (in a DM thread when `thread_ts` is given): stored, then
        delivered as a `message.im` event — with `files`, of subtype `file_share`, as Slack
        sends a message with attachments."""
        channel = channel or self.emulator.dm_channel(user)
        ts = self.emulator.post_as_user(channel, user, text, thread_ts, files)
        event = self._message_event("message", user, channel, text, ts, thread_ts)
        if files:
            event |= {"files": files, "subtype": "file_share", "upload": False}
        return self._deliver({**event, "channel_type": "im"}, bad_signature)

    def deliver(self, event: dict[str, Any], *, bad_signature: bool = False) -> DriverResponse:
        """Deliver any event, in Slack's envelope, as it is given: a bot's or a webhook's
        message (`bot_id`, `subtype`, no `user`), which no person's action above produces."""
        return self._deliver(event, bad_signature)

    def click(
        self, user: str, channel: str, message: dict[str, Any], action_id: str
    ) -> DriverResponse:
        """Press the button `action_id` of a bot message (as the emulator holds it): a
        `block_actions` interaction, form-encoded `payload=<json>` as Slack posts it."""
        button = next(
            element
            for block in message.get("blocks") or []
            for element in block.get("elements") or []
            if element.get("action_id") == action_id
        )
        view = {k: v for k, v in message.items() if k not in ("channel", "streaming", "edits")}
        payload = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": self.emulator.user(user).name,
                "team_id": self.team_id,
            },
            "api_app_id": self.emulator.app_id,
            "token": "sandbox-verification-token",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
            "trigger_id": f"{next(self._seq)}.{int(time.time())}.{uuid.uuid4().hex[:16]}",
            **self.where(),
            "channel": {"id": channel, "name": self.emulator.channel_name(channel)},
            "message": view,
            "response_url": self.emulator.response_url_for(channel, user),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": button.get("block_id", "actions"),
                    "type": button.get("type", "button"),
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._send(SentRequest(body, "application/x-www-form-urlencoded"))

    def retry(
        self, request: SentRequest | None = None, retry_num: int = 1, reason: str = "http_timeout"
    ) -> DriverResponse:
        """Deliver a request again, body unchanged, as Slack's retry of an unacknowledged event."""
        if request is None:
            if self.last is None:
                raise ValueError("nothing has been sent yet, so there is nothing to retry")
            request = self.last.request
        retry_headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}
        return self._send(request, retry_headers)

    # -- wire format -------------------------------------------------------------------------

    def _message_event(
        self, kind: str, user: str, channel: str, text: str, ts: str, thread_ts: str | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def _deliver(self, event: dict[str, Any], bad_signature: bool) -> DriverResponse:
        event_id = f"Ev{next(self._seq):08d}{uuid.uuid4().hex[:6].upper()}"
        envelope = {
            "token": "sandbox-verification-token",
            "team_id": self.team_id,
            **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            "api_app_id": self.emulator.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id,
                    "team_id": None if self.org_install else self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": self.org_install,
                }
            ],
            "is_ext_shared_channel": False,
        }
        body = json.dumps(envelope).encode()
        request = SentRequest(body, "application/json", event_id, event["ts"])
        return self._send(request, bad_signature=bad_signature)

    def _send(
        self,
        request: SentRequest,
        extra_headers: dict[str, str] | None = None,
        *,
        bad_signature: bool = False,
    ) -> DriverResponse:
        timestamp = str(int(time.time()))
        signer = self._forger if bad_signature else self._verifier
        signature = signer.generate_signature(timestamp=timestamp, body=request.body)
        headers = {
            "Content-Type": request.content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature or "",
            **(extra_headers or {}),
        }
        http_request = urllib.request.Request(
            self.events_url, data=request.body, headers=headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout_s) as reply:
                status, body = reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        elapsed = time.perf_counter() - started
        sent = SentRequest(
            request.body, request.content_type, request.event_id, request.ts, headers
        )
        response = DriverResponse(status, body.decode(errors="replace"), elapsed, sent)
        self.history.append(response)
        return response


__all__ = ["DriverResponse", "SentRequest", "SlackDriver"]
