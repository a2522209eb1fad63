"""Conversation context for a reply: the thread so far (from `conversations.replies`, cached
in the cache Redis and written through with each answer) or a DM's recent turns.

What is read from Slack is other people's text: its secrets are replaced by placeholders
(`gateway.redaction`) before it is cached or shown to a model. Only this bot's own messages
are the assistant's turns; a message from another bot, app or webhook is a person-side turn
that quotes it as third-party text, so that nobody can put words in the assistant's mouth by
posting as a bot in the thread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import redis
from slack_sdk import WebClient

from gateway import Message, keys
from gateway.redaction import redact

# Turns kept as context: older ones are dropped first (the cost engine trims further).
MAX_TURNS = 20
PAGE_SIZE = 200
# A thread of up to 2,000 messages is read whole; a longer one stops there (Slack reads
# replies oldest first), a bound on the Slack calls one answer may make.
MAX_PAGES = 10
# How another app's message appears to the model; the system prompts (prompts/thread.j2) say
# that such text is quoted data, never the assistant's words and never instructions.
QUOTED_APP_MESSAGE = '<app_message from="{name}">\n{text}\n</app_message>'
_APP_NAME_UNSAFE = re.compile(r"[^\w .@()-]+")


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    ts: str


class ConversationMemory:
    def __init__(
        self,
        slack: WebClient,
        cache: redis.Redis,
        bot_user_id: str,
        ttl_s: int,
        *,
        redact_history: bool = True,
    ) -> None:
        """`redact_history`: False only for a workspace in SECRET_REDACTION_OFF_TEAMS."""
        self._slack = slack
        self._cache = cache
        self._bot_user_id = bot_user_id
        self._ttl_s = ttl_s
        self._redact = redact_history

    def thread(self, channel: str, thread_ts: str, before_ts: str) -> list[Turn]:
        """The thread's turns before `before_ts`, from the cache or else from Slack."""
        raw = self._cache.get(keys.thread_context(channel, thread_ts))
        if raw is not None:
            turns = [Turn(**t) for t in json.loads(raw)]
        else:
            turns = self._read_thread(channel, thread_ts)
            self._store(channel, thread_ts, turns)
        return [t for t in turns if float(t.ts) < float(before_ts)][-MAX_TURNS:]

    def dm(self, channel: str) -> list[Turn]:
        raw = self._cache.get(keys.thread_context(channel, "dm"))
        return [Turn(**t) for t in json.loads(raw)] if raw else []

    def remember(self, channel: str, key_ts: str, *new: Turn) -> None:
        """Write through: the next reply in this conversation sees this exchange as the model
        saw it. A turn already read from Slack is replaced: a thread a mention started holds
        its root as Slack shows it (the bot's mention, the person's `--tier`), and a
        follow-up must repeat the question's bytes for its prefix to be read from the cache."""
        raw = self._cache.get(keys.thread_context(channel, key_ts))
        turns = [Turn(**t) for t in json.loads(raw)] if raw else []
        fresh = {t.ts: t for t in new if t.ts}
        turns = [fresh.pop(t.ts, t) for t in turns]
        known = {t.ts for t in turns}
        turns += [t for t in new if t.ts not in known]
        self._store(channel, key_ts, turns[-MAX_TURNS * 2 :])

    def _store(self, channel: str, key_ts: str, turns: list[Turn]) -> None:
        data = json.dumps([t.__dict__ for t in turns])
        self._cache.set(keys.thread_context(channel, key_ts), data, ex=self._ttl_s)

    def _read_thread(self, channel: str, thread_ts: str) -> list[Turn]:
        """Every message of the thread, page by page: a long thread's newest turns are on its
        last page, and they matter most."""
        messages: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            response = self._slack.conversations_replies(
                channel=channel, ts=thread_ts, limit=PAGE_SIZE, cursor=cursor or None
            )
            messages += response.get("messages", [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor", "")
            if not response.get("has_more") or not cursor:
                break
        return [self._turn(message) for message in messages]

    def _turn(self, message: dict[str, Any]) -> Turn:
        text = str(message.get("text") or "")
        text = redact(text).text if self._redact else text
        if self._bot_user_id and message.get("user") == self._bot_user_id:
            return Turn("assistant", text, message["ts"])
        if message.get("bot_id") or message.get("subtype") == "bot_message":
            return Turn("user", quoted_app_message(message, text), message["ts"])
        return Turn("user", text, message["ts"])


def quoted_app_message(message: dict[str, Any], text: str) -> str:
    """Another bot's, app's or webhook's message as quoted third-party text."""
    profile = message.get("bot_profile") or {}
    name = message.get("username") or profile.get("name") or message.get("bot_id") or "an app"
    name = _APP_NAME_UNSAFE.sub("", str(name))[:40] or "an app"
    # The closing tag cannot be written from inside (Slack escapes `<` in people's text; an
    # app posting raw text could try).
    text = text.replace("</app_message", "&lt;/app_message")
    return QUOTED_APP_MESSAGE.format(name=name, text=text)


def as_messages(turns: list[Turn], question: str) -> tuple[Message, ...]:
    """Alternating user/assistant messages ending with the question, as Converse requires:
    consecutive turns of one role are merged, and a thread opened by the bot (an /ask root)
    starts as a user turn."""
    merged: list[Message] = []
    for turn in [*turns, Turn("user", question, "")]:
        role = "user" if not merged and turn.role == "assistant" else turn.role
        if merged and merged[-1].role == role:
            merged[-1] = Message(role, f"{merged[-1].text}\n\n{turn.text}")
        else:
            merged.append(Message(role, turn.text))  # type: ignore[arg-type]
    return tuple(merged)


__all__ = ["QUOTED_APP_MESSAGE", "ConversationMemory", "Turn", "as_messages", "quoted_app_message"]
