"""What the Slack emulator remembers: users, channels, messages with their edit history,
streams, ephemeral replies and shared files.

Kept apart from the HTTP layer (`sandbox.slack`) so the rules a bot can break — streaming
state, the 12,000-character stream limit, editing someone else's message — live next to the
state they guard, and so tests and the `chatops up` terminal view read the same records the
Web API wrote. Every method takes one lock; change hooks run after it is released (a hook may
read the store back) but before the API call answers, so a client's sequential calls reach the
hooks in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

STREAM_TEXT_LIMIT = 12_000

MESSAGE_POSTED = "message_posted"
MESSAGE_UPDATED = "message_updated"
STREAM_STARTED = "stream_started"
STREAM_APPENDED = "stream_appended"
STREAM_STOPPED = "stream_stopped"
EPHEMERAL_POSTED = "ephemeral_posted"

ChangeHook = Callable[[str, str, dict[str, Any]], None]


class SlackMethodError(Exception):
    """A Web API call failed the way Slack fails it: HTTP 200 and `{"ok": false, "error": code}`."""

    def __init__(self, code: str, **extra: str) -> None:
        super().__init__(code)
        self.code = code
        # Fields Slack adds to some errors, e.g. `needed` and `provided` for `missing_scope`.
        self.extra = extra


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None
    # A workspace admin or owner (`users.info`): who may change the bot's channel policies.
    is_admin: bool = False
    is_owner: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        profile: dict[str, Any] = {"real_name": self.real_name, "display_name": self.name}
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": "Europe/London",
            "tz_offset": 0,
            "profile": profile,
            "is_bot": self.is_bot,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
        }


@dataclass
class SlackChannel:
    id: str
    name: str
    dm_user: str | None = None
    is_private: bool = False
    # Whether the bot has joined; a DM always has it.
    bot_is_member: bool = True
    # The workspace it belongs to; "" for the emulator's default one.
    team_id: str = ""

    @property
    def is_im(self) -> bool:
        return self.dm_user is not None

    def to_api(self) -> dict[str, Any]:
        """`conversations.info`'s `channel`, as the bot sees it."""
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_im and not self.is_private,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_private": self.is_private or self.is_im,
            "is_member": self.bot_is_member,
            **({"user": self.dm_user} if self.dm_user else {}),
        }


@dataclass
class SlackMessage:
    """One message as a person would see it, plus what the emulator tracks about it."""

    channel: str
    ts: str
    user: str
    text: str = ""
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[Any] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    streaming: bool = False
    stream_started_at: float = 0.0
    edits: list[tuple[float, str]] = field(default_factory=list)
    replies: list[SlackMessage] = field(default_factory=list)
    # Reaction name → the users who added it, in order (Slack's `reactions` shape).
    reactions: dict[str, list[str]] = field(default_factory=dict)
    # The workspace of the app (or person) that posted it, when it is not the default one.
    team: str = ""

    def set_text(self, text: str) -> None:
        """Change the visible text, recording the edit only when it really changed."""
        if text != self.text:
            self.text = text
            self.edits.append((time.time(), text))

    def to_api(self) -> dict[str, Any]:
        """The message as `conversations.replies` and `chat.*` responses carry it."""
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.team:
            out["team"] = self.team
        if self.blocks:
            out["blocks"] = self.blocks
        if self.files:
            out["files"] = self.files
            out["upload"] = True
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.replies:
            out["thread_ts"] = self.ts
            out["reply_count"] = len(self.replies)
            out["reply_users"] = sorted({r.user for r in self.replies})
            out["latest_reply"] = self.replies[-1].ts
        return out


class SlackStore:
    """Thread-safe state of one emulated workspace."""

    def __init__(self, *, stream_lifetime_s: float, team_id: str) -> None:
        self.stream_lifetime_s = stream_lifetime_s
        self.team_id = team_id
        self.on_change: list[ChangeHook] = []
        self._lock = threading.RLock()
        self._last_us = 0
        self._users: dict[str, SlackUser] = {}
        self._channels: dict[str, SlackChannel] = {}
        self._messages: dict[str, list[SlackMessage]] = {}
        self._by_ts: dict[tuple[str, str], SlackMessage] = {}
        self._ephemerals: list[dict[str, Any]] = []

    # -- users and channels ------------------------------------------------------------------

    def add_user(self, user: SlackUser) -> None:
        with self._lock:
            self._users[user.id] = user

    def user(self, user_id: str) -> SlackUser:
        """A known user; ids never seen get a plain user named after the id (trace replays)."""
        with self._lock:
            if user_id not in self._users:
                name = user_id.removeprefix("U_").lower()
                self._users[user_id] = SlackUser(user_id, name, name.title())
            return self._users[user_id]

    def find_user(self, user_id: str) -> SlackUser:
        with self._lock:
            if user_id not in self._users:
                raise SlackMethodError("user_not_found")
            return self._users[user_id]

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        dm_user: str | None = None,
        *,
        private: bool = False,
        bot_is_member: bool = True,
        team_id: str = "",
    ) -> None:
        with self._lock:
            if channel_id not in self._channels:
                self._channels[channel_id] = SlackChannel(
                    channel_id, name or channel_id.lower(), dm_user, private, bot_is_member, team_id
                )
                self._messages[channel_id] = []

    def channel(self, channel_id: str) -> SlackChannel:
        with self._lock:
            if channel_id not in self._channels:
                raise SlackMethodError("channel_not_found")
            return self._channels[channel_id]

    def dm_channel(self, user_id: str) -> str:
        """The id of the DM between `user_id` and the bot, opened on first use."""
        channel_id = "D_" + user_id.removeprefix("U_")
        self.add_channel(channel_id, channel_id.lower(), dm_user=self.user(user_id).id)
        return channel_id

    # -- messages ----------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A Slack ts ("seconds.micros"), unique and increasing even within one microsecond."""
        with self._lock:
            self._last_us = max(int(time.time() * 1_000_000), self._last_us + 1)
            return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def post(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        bot_id: str | None = None,
        thread_ts: str | None = None,
        blocks: list[Any] | None = None,
        files: list[dict[str, Any]] | None = None,
        streaming: bool = False,
        team: str = "",
    ) -> dict[str, Any]:
        with self._lock:
            self.channel(channel)
            root = self._get(channel, thread_ts) if thread_ts else None
            if thread_ts and root is None:
                raise SlackMethodError("thread_not_found")
            if root is not None and root.thread_ts:
                root = self._get(channel, root.thread_ts)
            msg = SlackMessage(
                channel,
                self.next_ts(),
                user,
                bot_id=bot_id,
                blocks=blocks or [],
                files=files or [],
                thread_ts=root.ts if root else None,
                streaming=streaming,
                stream_started_at=time.monotonic() if streaming else 0.0,
                team=team,
            )
            msg.set_text(text)
            self._messages[channel].append(msg)
            self._by_ts[(channel, msg.ts)] = msg
            if root is not None:
                root.replies.append(msg)
            view = self._view(msg)
        self._notify(STREAM_STARTED if streaming else MESSAGE_POSTED, channel, view)
        return view

    def update(
        self, channel: str, ts: str, by_user: str, text: str | None, blocks: list[Any] | None
    ) -> dict[str, Any]:
        with self._lock:
            msg = self._require(channel, ts)
            if msg.user != by_user:
                raise SlackMethodError("cant_update_message")
            if text is not None:
                msg.set_text(text)
            if blocks is not None:
                msg.blocks = blocks
            view = self._view(msg)
        self._notify(MESSAGE_UPDATED, channel, view)
        return view

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> dict[str, Any]:
        with self._lock:
            msg = self._require(channel, ts)
            users = msg.reactions.setdefault(name, [])
            if user in users:
                raise SlackMethodError("already_reacted")
            users.append(user)
            view = self._view(msg)
        self._notify(MESSAGE_UPDATED, channel, view)
        return view

    def append_stream(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        with self._lock:
            msg = self._streaming(channel, ts, text)
            msg.set_text(msg.text + text)
            view = self._view(msg)
        self._notify(STREAM_APPENDED, channel, view)
        return view

    def stop_stream(
        self, channel: str, ts: str, text: str, blocks: list[Any] | None
    ) -> dict[str, Any]:
        with self._lock:
            msg = self._streaming(channel, ts, text)
            msg.set_text(msg.text + text)
            if blocks is not None:
                msg.blocks = blocks
            msg.streaming = False
            view = self._view(msg)
        self._notify(STREAM_STOPPED, channel, view)
        return view

    def post_ephemeral(self, channel: str, user: str, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.channel(channel)
            view = {"channel": channel, "user": user, "ts": self.next_ts(), **record}
            self._ephemerals.append(view)
        self._notify(EPHEMERAL_POSTED, channel, view)
        return view

    # -- reads -------------------------------------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._view(m) for m in self._messages.get(channel, [])]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self._require(channel, ts))

    def thread_messages(self, channel: str, ts: str) -> list[SlackMessage]:
        """Root and replies, oldest first, for the thread that `ts` is the root of or part of."""
        with self._lock:
            self.channel(channel)
            msg = self._get(channel, ts)
            if msg is None:
                raise SlackMethodError("thread_not_found")
            root = self._require(channel, msg.thread_ts) if msg.thread_ts else msg
            return [root, *root.replies]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._view(m) for m in self.thread_messages(channel, thread_ts)]

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._ephemerals if channel in (None, e["channel"])]

    # -- internals ---------------------------------------------------------------------------

    def _get(self, channel: str, ts: str) -> SlackMessage | None:
        return self._by_ts.get((channel, ts))

    def _require(self, channel: str, ts: str) -> SlackMessage:
        self.channel(channel)
        msg = self._get(channel, ts)
        if msg is None:
            raise SlackMethodError("message_not_found")
        return msg

    def _is_streaming(self, msg: SlackMessage) -> bool:
        age = time.monotonic() - msg.stream_started_at
        return msg.streaming and age < self.stream_lifetime_s

    def _streaming(self, channel: str, ts: str, more_text: str) -> SlackMessage:
        """The message if it still takes appends; Slack closes a stream after its lifetime."""
        msg = self._require(channel, ts)
        if not self._is_streaming(msg):
            msg.streaming = False
            raise SlackMethodError("message_not_in_streaming_state")
        if len(msg.text) + len(more_text) > STREAM_TEXT_LIMIT:
            raise SlackMethodError("msg_too_long")
        return msg

    def _view(self, msg: SlackMessage) -> dict[str, Any]:
        """A copy for tests and hooks: the API shape, plus channel, live streaming state, edits."""
        return {
            **msg.to_api(),
            "channel": msg.channel,
            "streaming": self._is_streaming(msg),
            "edits": list(msg.edits),
        }

    def _notify(self, event: str, channel: str, view: dict[str, Any]) -> None:
        for hook in list(self.on_change):
            try:
                hook(event, channel, view)
            except Exception:
                # A broken viewer must not turn into a Slack outage for the bot under test.
                log.exception("slack emulator change hook failed", extra={"event": event})


__all__ = [
    "EPHEMERAL_POSTED",
    "MESSAGE_POSTED",
    "MESSAGE_UPDATED",
    "STREAM_APPENDED",
    "STREAM_STARTED",
    "STREAM_STOPPED",
    "STREAM_TEXT_LIMIT",
    "ChangeHook",
    "SlackChannel",
    "SlackMessage",
    "SlackMethodError",
    "SlackStore",
    "SlackUser",
]
