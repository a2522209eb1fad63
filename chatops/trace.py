"""Workload traces: a team's Slack traffic as JSON Lines, for the replay benchmark.

A trace file is one header line (`TraceHeader`) and then one `TraceEvent` per line, in time
order. Jira issues the events name live in a fixture file beside the trace, in the Jira
emulator's seed format; its optional top-level `updates` list (`JiraUpdate`) holds comments
that arrive while the trace plays, so a re-summarized issue has really changed.

Threads are labels, not Slack timestamps, because a ts only exists once the replay runs: the
first event with a label starts the thread (an `ask`, whose root is the bot's "asked:"
message, or a top-level `mention`), and later `mention` events with that label reply in it.

Version 2 (what `chatops trace from-slack-export` writes) adds what real Slack history needs:
DM threads (a `dm` may carry a label; later `dm` events with it reply in that DM thread), DM
channels with the ids Slack gave them (`dm_channels`), text exactly as Slack delivered it
(`text_format: "slack"`), the wall-clock time of t 0 (`started_at`), each event's original
`slack_ts`, and no Jira fixture. Version 1 files load as before.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

Kind = Literal["ask", "mention", "dm", "summarize", "digest", "cost"]
Period = Literal["today", "7d", "30d"]
TextFormat = Literal["plain", "slack"]
KINDS: tuple[Kind, ...] = get_args(Kind)
VERSIONS = (1, 2)

# Fields beyond t, kind, user and channel that each kind must carry, and those it may carry.
REQUIRED_FIELDS: dict[Kind, frozenset[str]] = {
    "ask": frozenset({"text"}),
    "mention": frozenset({"text"}),
    "dm": frozenset({"text"}),
    "summarize": frozenset({"jira_key"}),
    "digest": frozenset({"jira_key"}),
    "cost": frozenset({"period"}),
}
OPTIONAL_FIELDS: dict[Kind, frozenset[str]] = {
    "ask": frozenset({"thread"}),
    "mention": frozenset({"thread"}),
}
# What version 2 adds: DM threads, and the Slack message an event came from.
OPTIONAL_FIELDS_V2: dict[Kind, frozenset[str]] = {
    "ask": frozenset({"thread", "slack_ts"}),
    "mention": frozenset({"thread", "slack_ts"}),
    "dm": frozenset({"thread", "slack_ts"}),
}
PER_KIND_FIELDS = frozenset({"text", "jira_key", "period", "thread", "slack_ts"})

# `summarize` names an issue, `digest` a project.
JIRA_KEY_PATTERNS: dict[Kind, str] = {
    "summarize": r"^[A-Z][A-Z0-9]+-[1-9][0-9]*$",
    "digest": r"^[A-Z][A-Z0-9]+$",
}

_Model = TypeVar("_Model", bound=BaseModel)

# W…: a user of an Enterprise Grid org, as Slack exports give them.
USER_ID = r"^[UW][A-Z0-9_]+$"
CHANNEL_ID = r"^[CDG][A-Z0-9_]+$"
DM_CHANNEL_ID = r"^D[A-Z0-9_]+$"
THREAD_LABEL = r"^th-[0-9]{4,}$"
SLACK_TS = r"^[0-9]+\.[0-9]+$"


def dm_channel_for(user: str) -> str:
    """The bot's DM with `user`, named as the Slack emulator opens it (U_ALICE → D_ALICE)."""
    return "D_" + user.removeprefix("U_")


@dataclass(frozen=True)
class EventRules:
    """What an event line may hold, from its file's header: the version and the DM channels."""

    version: int = 1
    dm_channels: Mapping[str, str] | None = None  # user → DM channel; None: D_<NAME> (v1)

    def dm_channel(self, user: str) -> str:
        known = (self.dm_channels or {}).get(user)
        return known or dm_channel_for(user)

    def optional_fields(self, kind: Kind) -> frozenset[str]:
        table = OPTIONAL_FIELDS_V2 if self.version >= 2 else OPTIONAL_FIELDS
        return table.get(kind, frozenset())


class TraceEvent(BaseModel):
    """One thing a person (or, for `digest`, a schedule someone set up) asks of the bot.

    Validated on its own it follows version 1's rules; a loader passes its header's
    `EventRules` as the validation context.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    t: float = Field(ge=0, allow_inf_nan=False)
    kind: Kind
    user: str = Field(pattern=USER_ID)
    channel: str = Field(pattern=CHANNEL_ID)
    thread: str | None = Field(default=None, pattern=THREAD_LABEL)
    text: str | None = Field(default=None, min_length=1)
    jira_key: str | None = None
    period: Period | None = None
    slack_ts: str | None = Field(default=None, pattern=SLACK_TS)

    @model_validator(mode="after")
    def _fields_fit_kind(self, info: ValidationInfo) -> Self:
        rules = info.context if isinstance(info.context, EventRules) else EventRules()
        present = {name for name in PER_KIND_FIELDS if getattr(self, name) is not None}
        missing = REQUIRED_FIELDS[self.kind] - present
        if missing:
            raise ValueError(f"field '{min(missing)}' is required for kind '{self.kind}'")
        extra = present - REQUIRED_FIELDS[self.kind] - rules.optional_fields(self.kind)
        if extra:
            raise ValueError(f"field '{min(extra)}' is not allowed for kind '{self.kind}'")
        pattern = JIRA_KEY_PATTERNS.get(self.kind)
        if pattern is not None and not _matches(pattern, self.jira_key):
            raise ValueError(f"field 'jira_key' {self.jira_key!r} does not fit kind '{self.kind}'")
        if self.kind == "dm" and self.channel != rules.dm_channel(self.user):
            raise ValueError(f"field 'channel' of a dm must be {rules.dm_channel(self.user)}")
        return self


# Header fields only version 2 may carry.
V2_HEADER_FIELDS = ("dm_channels", "text_format", "started_at")


class TraceHeader(BaseModel):
    """The first line: who and where, so a replay can create the users and channels first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trace: str = Field(min_length=1)
    version: Literal[1, 2]
    description: str
    users: dict[str, str] = Field(min_length=1)
    channels: dict[str, str]
    # Version 2 may leave it out: a trace converted from Slack names no Jira issues.
    jira_fixture: str | None = Field(default=None, pattern=r"^[\w.-]+\.json$")
    # Version 2: DM channel id → the user whose DM with the bot it is, ids as Slack gave them.
    dm_channels: dict[str, str] | None = None
    # "plain": what a person typed; "slack": as Slack delivered it (&amp; &lt; &gt;, <@U…>).
    text_format: TextFormat | None = None
    # Version 2: the wall-clock time of t 0 (UTC), when the traffic really happened.
    started_at: datetime.datetime | None = None

    @model_validator(mode="after")
    def _ids_look_like_slack_ids(self) -> Self:
        for field, ids, pattern in (
            ("users", self.users, USER_ID),
            ("channels", self.channels, CHANNEL_ID),
            ("dm_channels", self.dm_channels or {}, DM_CHANNEL_ID),
        ):
            bad = [i for i in ids if not _matches(pattern, i)]
            if bad:
                raise ValueError(f"field '{field}' has an id that is not a Slack id: {bad[0]!r}")
        strangers = sorted(set((self.dm_channels or {}).values()) - set(self.users))
        if strangers:
            raise ValueError(f"field 'dm_channels' names a user not in users: {strangers[0]!r}")
        if self.version == 1:
            self._check_version_1()
        return self

    def _check_version_1(self) -> None:
        if self.jira_fixture is None:
            raise ValueError("field 'jira_fixture' is required in version 1")
        for name in V2_HEADER_FIELDS:
            if getattr(self, name) is not None:
                raise ValueError(f"field '{name}' needs version 2")

    @property
    def rules(self) -> EventRules:
        """How this file's event lines are checked."""
        by_user = {user: channel for channel, user in (self.dm_channels or {}).items()}
        return EventRules(self.version, by_user if self.version >= 2 else None)


class JiraUpdate(BaseModel):
    """A comment added to an issue at trace time `t`: replay applies it before any event at
    or after `t` (the emulator stamps it with the wall clock)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t: float = Field(ge=0, allow_inf_nan=False)
    key: str = Field(pattern=JIRA_KEY_PATTERNS["summarize"])
    author: str = Field(min_length=1)
    body: str = Field(min_length=1)


@dataclass(frozen=True)
class Trace:
    """A checked trace; its Jira fixture is the file the header names, beside it."""

    path: Path
    header: TraceHeader
    events: tuple[TraceEvent, ...]
    # Each event's line number in the file (the header is line 1), for audits that name it.
    lines: tuple[int, ...] = ()

    @property
    def jira_fixture(self) -> Path | None:
        fixture = self.header.jira_fixture
        return None if fixture is None else self.path.with_name(fixture)

    def counts(self) -> dict[Kind, int]:
        """Events by kind, every kind listed (zero when absent), in `KINDS` order."""
        seen = Counter(event.kind for event in self.events)
        return {kind: seen[kind] for kind in KINDS}

    def jira_updates(self) -> tuple[JiraUpdate, ...]:
        fixture = self.jira_fixture
        return () if fixture is None else load_jira_updates(fixture)

    def numbered(self) -> Iterator[tuple[int, TraceEvent]]:
        """(line number, event) in trace order."""
        return zip(self.lines or range(2, len(self.events) + 2), self.events, strict=True)

    def dm_channels(self) -> dict[str, str]:
        """Every DM channel an event may use → its user: the header's, else D_<NAME>."""
        listed = self.header.dm_channels or {}
        return {dm_channel_for(user): user for user in self.header.users} | listed


def load_trace(path: Path) -> Trace:
    """Read and check a trace; a bad line raises ValueError naming the line and the field."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError(f"{path.name} line 1: empty file, expected a header")
    header = _parse(path, 1, lines[0], TraceHeader)
    checker = _TraceChecker(path, header)
    events, numbers = [], []
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            event = _parse(path, number, line, TraceEvent, header.rules)
            checker.check(number, event)
            events.append(event)
            numbers.append(number)
    return Trace(path, header, tuple(events), tuple(numbers))


def load_jira_updates(fixture: Path) -> tuple[JiraUpdate, ...]:
    """The `updates` of a Jira fixture file, in time order (none if it has no such list)."""
    raw = json.loads(fixture.read_text(encoding="utf-8")).get("updates", [])
    try:
        updates = tuple(JiraUpdate.model_validate(item) for item in raw)
    except ValidationError as exc:
        raise ValueError(f"{fixture.name} updates: {_describe(exc)}") from exc
    return tuple(sorted(updates, key=lambda u: u.t))


class _TraceChecker:
    """Rules that span lines: time order, known users and channels, thread labels."""

    def __init__(self, path: Path, header: TraceHeader) -> None:
        self.path = path
        self.header = header
        self.dm_channels = {dm_channel_for(user) for user in header.users}
        self.dm_channels |= set(header.dm_channels or {})
        self.last_t = 0.0
        self.threads: dict[str, TraceEvent] = {}

    def check(self, number: int, event: TraceEvent) -> None:
        for field, problem in self._problems(event):
            raise ValueError(f"{self.path.name} line {number}: field '{field}': {problem}")
        self.last_t = event.t
        if event.thread is not None:
            self.threads.setdefault(event.thread, event)

    def _problems(self, event: TraceEvent) -> Iterable[tuple[str, str]]:
        if event.t < self.last_t:
            yield "t", f"{event.t} is earlier than the line before ({self.last_t})"
        if event.user not in self.header.users:
            yield "user", f"{event.user} is not in the header's users"
        if event.channel not in self.header.channels and event.channel not in self.dm_channels:
            yield "channel", f"{event.channel} is neither a header channel nor a user's DM"
        if event.kind in ("summarize", "digest") and self.header.jira_fixture is None:
            yield "jira_key", "the header names no jira_fixture to find it in"
        if event.thread is not None:
            yield from self._thread_problems(event.thread, event)

    def _thread_problems(self, label: str, event: TraceEvent) -> Iterable[tuple[str, str]]:
        start = self.threads.get(label)
        if start is None:
            return
        # A DM thread goes on with DMs; any other thread with mentions.
        reply_kind = "dm" if start.kind == "dm" else "mention"
        if event.kind != reply_kind:
            yield "thread", f"{label} has already started; only a {reply_kind} can reply in it"
        elif event.channel != start.channel:
            yield "channel", f"thread {label} is in {start.channel}, not {event.channel}"


def _parse(
    path: Path, number: int, line: str, model: type[_Model], rules: EventRules | None = None
) -> _Model:
    try:
        return model.model_validate_json(line, context=rules)
    except ValidationError as exc:
        raise ValueError(f"{path.name} line {number}: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    """The first error of a validation failure as `field 'x': message`."""
    error = exc.errors(include_url=False)[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "json_invalid":
        return f"not valid JSON ({error.get('ctx', {}).get('error', message)})"
    location = ".".join(str(part) for part in error["loc"])
    return f"field '{location}': {message}" if location else message


def _matches(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


__all__ = [
    "KINDS",
    "VERSIONS",
    "EventRules",
    "JiraUpdate",
    "Kind",
    "Period",
    "TextFormat",
    "Trace",
    "TraceEvent",
    "TraceHeader",
    "dm_channel_for",
    "load_jira_updates",
    "load_trace",
]
