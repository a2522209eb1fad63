"""A standard Slack workspace export → a replayable trace (format version 2, `chatops.trace`).

An export is a zip (or its unzipped folder) of `users.json`, `channels.json` and, where the
export includes them, `groups.json`, `dms.json` and `mpims.json`, plus one folder per
conversation holding one `YYYY-MM-DD.json` array of messages per day.

What becomes an event, message by message (every message read is counted once, as an event
or under the reason it was skipped — `ExportSummary.is_complete`):
- In a channel, a top-level message that mentions the bot is a `mention`; one that asks a
  question (a `?`, or a first word such as how/what/why) is an `ask` — as if `/ask`ed. The
  bot's own `<@U…> asked: …` root (a real `/ask`) is that person's `ask`.
- A reply follows its thread as a `mention` when the thread's root became an event; a reply
  that mentions the bot in any other thread starts a thread of its own.
- In a DM with the bot, every message of the person is a `dm`; replies keep their DM thread.
- Texts stay as Slack delivered them (`&amp;`, `&lt;`, `<@U…>`, `<https://…|…>`); only the
  bot's own mention is taken out of a `mention` (the replay adds its own). User, channel and
  DM ids stay as Slack gave them.
- An edit (`message_changed`) replaces the text it names: the export's last text is
  replayed. A deleted message (`message_deleted`, a `tombstone`) is not replayed. Bot messages,
  joins and channel events are skipped; a file's contents are not in an export, so a file
  share is replayed by its text alone (none: skipped).
"""

from __future__ import annotations

import datetime
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from chatops.messages import ROOT_MESSAGE

# (file, kind) of each conversation list; a DM's folder is its id, the others' their name.
CONVERSATION_FILES = (
    ("channels.json", "channel"),
    ("groups.json", "private channel"),
    ("mpims.json", "group DM"),
    ("dms.json", "DM"),
)
DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
MENTION = r"<@{user}(?:\|[^>]*)?>"
ANY_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# A top-level message starting with one of these asks something (with or without a "?").
_QUESTION_WORDS = (
    "how what why where when who which whose can could should would is are does do did"
)
QUESTION_WORDS = frozenset(f"{_QUESTION_WORDS} any anyone anybody".split())
JOINS = frozenset({"channel_join", "channel_leave", "group_join", "group_leave"})
DELETED_TEXT = "This message was deleted."
# The bot's root message for an `/ask`, as chatops.messages writes it.
_ROOT = re.compile(
    "^"
    + re.escape(ROOT_MESSAGE)
    .replace(re.escape("{user}"), r"(?P<user>[UW][A-Z0-9_]+)")
    .replace(re.escape("{question}"), r"(?P<question>.+)")
    + "$",
    re.DOTALL,
)


@dataclass(frozen=True)
class ExportOptions:
    """`channels`: names or ids to keep (None: all); DMs are kept unless `dms` is False."""

    channels: frozenset[str] | None = None
    since: datetime.datetime | None = None
    bot: str | None = None
    dms: bool = True
    questions: bool = True  # top-level questions that do not mention the bot become `ask`s


@dataclass(frozen=True)
class Conversation:
    id: str
    name: str
    kind: str  # channel, private channel, group DM or DM
    folder: str
    members: tuple[str, ...]


@dataclass
class ExportSummary:
    """Every message read, counted once: as an event by kind, or skipped by reason."""

    messages: int = 0
    events: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)  # edited, with a file, …
    conversations: Counter[str] = field(default_factory=Counter)
    bot: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.messages == sum(self.events.values()) + sum(self.skipped.values())

    def text(self) -> str:
        def listed(counts: Counter[str]) -> str:
            return ", ".join(f"{n} {what}" for what, n in counts.most_common()) or "none"

        places = ", ".join(
            f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(self.conversations.items())
        )
        return "\n".join(
            [
                f"{self.messages} messages in {places}; the bot is "
                f"{self.bot or 'not identified (no mentions, no DMs)'}",
                f"events: {listed(self.events)}",
                f"skipped: {listed(self.skipped)}",
                f"notes: {listed(self.notes)}",
            ]
        )


@dataclass(frozen=True)
class Conversion:
    header: dict[str, Any]
    events: list[dict[str, Any]]
    summary: ExportSummary

    def write(self, path: Path) -> None:
        rows = [self.header, *self.events]
        lines = [json.dumps(row, ensure_ascii=False) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class ExportReader:
    """Reads the export's JSON files from a zip or from its unzipped folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None
        names = self._names()
        tops = [n for n in names if PurePosixPath(n).name in ("users.json", "channels.json")]
        if not tops:
            raise ValueError(f"{path}: not a Slack export (no users.json or channels.json)")
        self._root = PurePosixPath(min(tops, key=len)).parent
        self._all = names

    def _names(self) -> list[str]:
        if self._zip is not None:
            return [n for n in self._zip.namelist() if not n.endswith("/")]
        return [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]

    def read(self, name: str) -> Any:
        """A JSON file of the export, by its path from the export's root; None if absent."""
        full = (self._root / name).as_posix()
        if full not in self._all:
            return None
        try:
            raw = self._zip.read(full) if self._zip else (self.path / full).read_bytes()
            return json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{self.path}: {name}: not valid JSON ({exc})") from exc

    def days(self, folder: str) -> list[str]:
        prefix = (self._root / folder).as_posix() + "/"
        found = [n[len(prefix) :] for n in self._all if n.startswith(prefix)]
        return sorted(f"{folder}/{day}" for day in found if DAY_FILE.match(day))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def convert(path: Path, name: str, options: ExportOptions | None = None) -> Conversion:
    """Read the export at `path` and build trace `name`; ValueError names what is wrong."""
    options = options or ExportOptions()
    try:
        reader = ExportReader(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: cannot read it as a Slack export ({exc})") from exc
    try:
        users = {str(u["id"]): u for u in reader.read("users.json") or []}
        conversations = _conversations(reader, options)
        messages = {c.id: _messages(reader, c) for c in conversations}
    finally:
        reader.close()
    bot = _find_bot(users, messages.values(), options.bot)
    builder = _Builder(bot, users, options)
    for conversation in conversations:
        builder.add(conversation, messages[conversation.id])
    return builder.conversion(name, path)


def _conversations(reader: ExportReader, options: ExportOptions) -> list[Conversation]:
    found = []
    for file, kind in CONVERSATION_FILES:
        for raw in reader.read(file) or []:
            conv_id = str(raw["id"])
            name = str(raw.get("name") or conv_id)
            members = tuple(str(m) for m in raw.get("members") or ())
            folder = conv_id if kind == "DM" else name
            found.append(Conversation(conv_id, name, kind, folder, members))
    wanted = options.channels
    if wanted is not None:
        unknown = wanted - {c.name for c in found} - {c.id for c in found}
        if unknown:
            raise ValueError(f"--channels: no conversation named {min(unknown)!r} in the export")
    return [
        c
        for c in found
        if (c.kind == "DM" and options.dms)
        or (c.kind != "DM" and (wanted is None or {c.name, c.id} & wanted))
    ]


def _messages(reader: ExportReader, conversation: Conversation) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for day in reader.days(conversation.folder):
        content = reader.read(day)
        if not isinstance(content, list):
            raise ValueError(f"{reader.path}: {day}: expected a list of messages")
        messages += [m for m in content if isinstance(m, dict)]
    return messages


def _find_bot(
    users: dict[str, dict[str, Any]], messages: Iterable[list[dict[str, Any]]], wanted: str | None
) -> str | None:
    """The bot's user id: `--bot` (an id or a name), else the bot user mentioned most."""
    bots = {uid for uid, u in users.items() if u.get("is_bot") and uid != "USLACKBOT"}
    if wanted is not None:
        for uid, user in users.items():
            names = {uid, user.get("name"), user.get("real_name")}
            names.add((user.get("profile") or {}).get("display_name"))
            if wanted in names:
                return uid
        raise ValueError(f"--bot: no user {wanted!r} in users.json")
    mentioned: Counter[str] = Counter(
        str(uid)
        for conversation in messages
        for message in conversation
        for uid in ANY_MENTION.findall(str(message.get("text") or ""))
        if uid in bots
    )
    if mentioned:
        return mentioned.most_common(1)[0][0]
    return next(iter(bots)) if len(bots) == 1 else None


@dataclass
class _Event:
    ts: float
    kind: str
    user: str
    channel: str
    text: str
    thread: tuple[str, str]  # (conversation, Slack thread ts): a label once two events share it
    slack_ts: str


class _Builder:
    """Classifies each message of each conversation; collects events and the summary."""

    def __init__(
        self, bot: str | None, users: dict[str, dict[str, Any]], options: ExportOptions
    ) -> None:
        self.bot = bot
        self.users = users
        self.options = options
        self.since = options.since.timestamp() if options.since else None
        self.summary = ExportSummary(bot=bot)
        self.events: list[_Event] = []
        self.threads: set[tuple[str, str]] = set()
        self.names: dict[str, str] = {}
        self.bot_mention = re.compile(MENTION.format(user=re.escape(bot))) if bot else None

    def add(self, conversation: Conversation, raw: list[dict[str, Any]]) -> None:
        self.summary.conversations[conversation.kind] += 1
        self.names[conversation.id] = conversation.name
        self.summary.messages += len(raw)
        kept = self._apply_edits_and_deletions(raw)
        is_bot_dm = conversation.kind == "DM" and self.bot in conversation.members
        for message in sorted(kept, key=lambda m: float(m["ts"])):
            reason = self._skip_reason(message)
            if reason is None:
                reason = self._event(conversation, message, is_bot_dm)
            if reason is not None:
                self.summary.skipped[reason] += 1

    def _apply_edits_and_deletions(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_ts: dict[str, dict[str, Any]] = {}
        deleted: set[str] = set()
        edits: dict[str, str] = {}
        for message in raw:
            subtype = message.get("subtype")
            if subtype == "message_changed":
                self.summary.skipped["edit notice (message_changed)"] += 1
                new = message.get("message") or {}
                if "ts" in new:
                    edits[str(new["ts"])] = str(new.get("text") or "")
            elif subtype == "message_deleted":
                self.summary.skipped["deletion notice (message_deleted)"] += 1
                deleted.add(str(message.get("deleted_ts")))
            elif not _is_timestamp(message.get("ts")):
                self.summary.skipped["malformed (no ts)"] += 1
            else:
                by_ts.setdefault(str(message["ts"]), dict(message))
        for ts in deleted & set(by_ts):
            del by_ts[ts]
            self.summary.skipped["deleted"] += 1
        for ts, text in edits.items():
            if ts in by_ts:
                by_ts[ts]["text"], by_ts[ts]["edited"] = text, True
        return list(by_ts.values())

    def _skip_reason(self, message: dict[str, Any]) -> str | None:
        subtype = message.get("subtype")
        if subtype == "tombstone" or (
            message.get("user") == "USLACKBOT" and message.get("text") == DELETED_TEXT
        ):
            return "deleted"
        if self.since is not None and float(message["ts"]) < self.since:
            return "before --since"
        if message.get("user") == self.bot and self.bot is not None:
            return None if _ROOT.match(str(message.get("text") or "")) else "the bot's own message"
        if subtype == "bot_message" or message.get("bot_id") or self._is_bot_user(message):
            return "bot message"
        if subtype in JOINS:
            return "join or leave"
        if subtype not in (None, "thread_broadcast", "file_share", "me_message"):
            return f"channel event ({subtype})"
        if not message.get("user"):
            return "malformed (no user)"
        return None

    def _is_bot_user(self, message: dict[str, Any]) -> bool:
        user = self.users.get(str(message.get("user")), {})
        return bool(user.get("is_bot")) or message.get("user") == "USLACKBOT"

    def _event(
        self, conversation: Conversation, message: dict[str, Any], is_bot_dm: bool
    ) -> str | None:
        """Adds the message's event; or says why it is none."""
        ts, text = str(message["ts"]), str(message.get("text") or "")
        thread_ts = str(message.get("thread_ts") or ts)
        thread = (conversation.id, thread_ts)
        user = str(message.get("user"))
        if message.get("edited"):
            self.summary.notes["edited (the last text is replayed)"] += 1
        if message.get("files") or message.get("subtype") == "file_share":
            if not text.strip():
                return "file without text"
            self.summary.notes["file shared (replayed by its text)"] += 1
        root = _ROOT.match(text) if user == self.bot else None
        if root is not None:
            return self._add("ask", root["user"], conversation, root["question"], ts, thread)
        if conversation.kind == "DM":
            if not is_bot_dm:
                return "DM not with the bot"
            return self._add("dm", user, conversation, text, ts, thread)
        mentions = bool(self.bot_mention and self.bot_mention.search(text))
        if thread in self.threads or (mentions and thread_ts != ts):
            return self._add("mention", user, conversation, self._without_bot(text), ts, thread)
        if thread_ts != ts:
            return "reply in a thread without the bot"
        if mentions:
            return self._add("mention", user, conversation, self._without_bot(text), ts, thread)
        if self.options.questions and is_question(text):
            return self._add("ask", user, conversation, text, ts, thread)
        return "not for the bot (no mention, no question)"

    def _without_bot(self, text: str) -> str:
        assert self.bot_mention is not None
        return self.bot_mention.sub("", text).strip()

    def _add(
        self,
        kind: str,
        user: str,
        conversation: Conversation,
        text: str,
        ts: str,
        thread: tuple[str, str],
    ) -> str | None:
        if not text.strip():
            return "a bare mention of the bot (no text)"
        self.events.append(_Event(float(ts), kind, user, conversation.id, text, thread, ts))
        self.threads.add(thread)
        self.summary.events[kind] += 1
        return None

    def conversion(self, name: str, source: Path) -> Conversion:
        events = sorted(self.events, key=lambda e: e.ts)
        if not events:
            raise ValueError(
                f"{source}: none of its {self.summary.messages} messages would have reached the"
                " bot (see --channels, --since, --bot)"
            )
        shared = Counter(e.thread for e in events)
        labels: dict[tuple[str, str], str] = {}
        rows = []
        start = Decimal(events[0].slack_ts)
        for event in events:
            t = float(round(Decimal(event.slack_ts) - start, 3))
            row: dict[str, Any] = {"t": t, "kind": event.kind}
            row |= {"user": event.user, "channel": event.channel}
            if shared[event.thread] > 1:
                row["thread"] = labels.setdefault(event.thread, f"th-{len(labels) + 1:04d}")
            row |= {"text": event.text, "slack_ts": event.slack_ts}
            rows.append(row)
        return Conversion(self._header(name, source, events), rows, self.summary)

    def _header(self, name: str, source: Path, events: list[_Event]) -> dict[str, Any]:
        users = sorted({e.user for e in events})
        dms = {e.channel: e.user for e in events if e.kind == "dm"}
        names = {e.channel: self.names[e.channel] for e in events if e.channel not in dms}
        started = datetime.datetime.fromtimestamp(events[0].ts, datetime.UTC)
        return {
            "trace": name,
            "version": 2,
            "description": f"Converted from the Slack export {source.name}: "
            + ", ".join(f"{n} {kind}" for kind, n in sorted(self.summary.events.items())),
            "users": {uid: str(self.users.get(uid, {}).get("name") or uid) for uid in users},
            "channels": names,
            "dm_channels": dms,
            "text_format": "slack",
            "started_at": started.isoformat().replace("+00:00", "Z"),
        }


def is_question(text: str) -> bool:
    """Would this have been asked of the bot: a question mark, or a question's first word."""
    words = re.findall(r"[a-z]+", text.lower()[:40])  # "what's" → what
    return "?" in text or (bool(words) and words[0] in QUESTION_WORDS)


def parse_since(text: str) -> datetime.datetime:
    """`2026-11-02` (midnight UTC) or an ISO time; without an offset it is UTC."""
    try:
        at = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--since: expected a date such as 2026-11-02 (got {text!r})") from exc
    return at if at.tzinfo else at.replace(tzinfo=datetime.UTC)


def _is_timestamp(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d+\.\d+", value) is not None


__all__ = [
    "Conversion",
    "ExportOptions",
    "ExportReader",
    "ExportSummary",
    "convert",
    "is_question",
    "parse_since",
]
