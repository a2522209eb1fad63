"""What the bot shows people during a replay, as the Slack emulator reports it (its `on_change`
hook): the replay waits on these instead of polling the emulator, whose reads would slow the
very bot it measures.

The bot finishes a request in one of these ways, and each ends the wait at once:
- a finished reply in the thread: an answer (with its footer), a refusal (`:no_entry:`), a
  notice such as a usage line (`:information_source:`), a failure (`:warning:`);
- an ephemeral message to the person (`chat.postEphemeral`, or the slash command's
  `response_url`), or the slash command's acknowledgement carrying text;
- a reaction on the person's own message (a "thanks" needs no model call);
- none of those, but the request's reply state says it is done (read from Redis once a
  second while waiting): whatever the bot did, the replay does not wait it out.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from chatops import messages
from chatops.demo import is_finished_answer
from sandbox.slack import SlackEmulator
from sandbox.slack_store import EPHEMERAL_POSTED, MESSAGE_POSTED

T = TypeVar("T")

# What a person saw; `nothing`: the bot finished without a visible message; `timeout`: no end.
Shown = Literal[
    "answer", "refusal", "notice", "failure", "ephemeral", "reaction", "chart", "nothing", "timeout"
]
# How often a wait also asks elsewhere (Redis) whether the bot has finished.
POLL_S = 1.0
# Roots are matched on this many characters (spaces and invisible characters aside): the bot
# cuts a long question in its root, and may clean the text before it quotes it.
ROOT_KEY_CHARS = 400
USAGE_LINES = frozenset({messages.ASK_USAGE, messages.MENTION_USAGE, messages.COST_USAGE})


def _prefix(template: str) -> str:
    return template.split("{", 1)[0]


FAILURE_PREFIX = _prefix(messages.JOB_FAILED)
REFUSAL_PREFIX = _prefix(messages.REFUSED)
NOTICE_PREFIX = _prefix(messages.NOTICE)
# Said privately on the way to an answer, not instead of one.
ON_THE_WAY_PREFIXES = (_prefix(messages.SECRETS_REMOVED),)


@dataclass(frozen=True)
class Sight:
    """How one request ended, as the person saw it: what, and the reply's visible edits
    (wall time, text) when it was a message in the thread."""

    shown: Shown
    text: str = ""
    edits: tuple[tuple[float, str], ...] = ()
    seen_at: float = 0.0


def shown_as(text: str) -> Shown:
    """A finished bot message, an ephemeral or an acknowledgement's text → what it is: a
    notice that is not a usage line (a question too long) refuses the request. A reply with no
    answer before it starts with the blank lines that would have separated its footer."""
    text = text.strip()
    if text.startswith(FAILURE_PREFIX) or text == messages.BUSY:
        return "failure"
    if text.startswith(REFUSAL_PREFIX):
        return "refusal"
    return "notice" if text.removeprefix(NOTICE_PREFIX) in USAGE_LINES else "refusal"


def root_key(text: str) -> str:
    """A thread root's text as the replay matches it: Slack's escapes undone, Unicode
    normalised, spaces and invisible characters dropped, a cut question's "…" ignored."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = unicodedata.normalize("NFC", text).removesuffix("…")
    kept = "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")
    return kept[:ROOT_KEY_CHARS]


def _is_done(message: dict[str, Any]) -> bool:
    prefixes = (FAILURE_PREFIX, REFUSAL_PREFIX, NOTICE_PREFIX)
    return is_finished_answer(message) or (
        not message["streaming"] and message["text"].lstrip().startswith(prefixes)
    )


class Watcher:
    """Everything the bot posts, reacts or says privately, kept for the waits to claim."""

    def __init__(self, slack: SlackEmulator) -> None:
        self._changed = threading.Condition()
        self._roots: dict[tuple[str, str], deque[str]] = defaultdict(deque)
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._finished: set[str] = set()
        self._ephemerals: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._reactions: dict[tuple[str, str], str] = {}
        self.files = 0
        slack.on_change.append(self._on_change)

    def _on_change(self, event: str, channel: str, message: dict[str, Any]) -> None:
        with self._changed:
            if event == EPHEMERAL_POSTED:
                self._ephemerals[(channel, str(message.get("user")))].append(message)
            elif not message.get("bot_id"):
                self._note_reaction(channel, message)
            elif message.get("files"):
                self.files += 1
            elif message.get("thread_ts") is None:
                if event == MESSAGE_POSTED:
                    self._roots[(channel, root_key(message["text"]))].append(message["ts"])
            elif message["ts"] not in self._finished and _is_done(message):
                self._finished.add(message["ts"])
                self._replies[(channel, message["thread_ts"])].append(message)
            self._changed.notify_all()

    def _note_reaction(self, channel: str, message: dict[str, Any]) -> None:
        reactions = message.get("reactions") or []
        if reactions:
            self._reactions[(channel, message["ts"])] = str(reactions[0].get("name", ""))

    # -- reads the waits make (under the lock, from `wait`) ----------------------------------

    def claim_root(self, channel: str, key: str) -> str | None:
        """The next unclaimed top-level bot message with this key (identical /asks in turn)."""
        roots = self._roots[(channel, key)]
        return roots.popleft() if roots else None

    def reply(self, channel: str, thread: str, index: int) -> Sight | None:
        replies = self._replies[(channel, thread)]
        if len(replies) <= index:
            return None
        message = replies[index]
        shown: Shown = "answer" if is_finished_answer(message) else shown_as(message["text"])
        return Sight(shown, message["text"], tuple(message["edits"]), time.time())

    def ephemeral(self, channel: str, user: str, seen: int) -> Sight | None:
        for ephemeral in self._ephemerals[(channel, user)][seen:]:
            text = str(ephemeral.get("text") or "")
            if not text.startswith(ON_THE_WAY_PREFIXES):
                return Sight(shown_as(text) if text else "ephemeral", text, (), time.time())
        return None

    def reaction(self, channel: str, ts: str | None) -> Sight | None:
        name = self._reactions.get((channel, ts or ""))
        return None if name is None else Sight("reaction", name, (), time.time())

    # -- counts taken before a request is sent ----------------------------------------------

    def answers(self, channel: str, thread: str) -> int:
        with self._changed:
            return len(self._replies[(channel, thread)])

    def ephemerals(self, channel: str, user: str) -> int:
        with self._changed:
            return len(self._ephemerals[(channel, user)])

    def wait(
        self,
        found: Callable[[], T | None],
        timeout_s: float,
        poll: Callable[[], Sight | None] | None = None,
    ) -> T | Sight | None:
        """`found()` (under the lock) once it returns something; `poll()` (outside the lock,
        e.g. a Redis read) every POLL_S; None after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            with self._changed:
                value = self._changed.wait_for(found, timeout=max(0.0, min(POLL_S, remaining)))
            if value:
                return value
            polled = poll() if poll is not None else None
            if polled:
                with self._changed:
                    return found() or polled  # a hook that fired meanwhile says more
            if remaining <= 0:
                return None


__all__ = ["POLL_S", "Shown", "Sight", "Watcher", "root_key", "shown_as"]
