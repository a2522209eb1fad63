"""What a mention or DM asks of the bot about Jira or its thread, read from its words. Pure.

    summarize OPS-1435 · tl;dr PLAT-902? · <https://jira…/browse/OPS-7> · Zusammenfassung von
    PLAT-896 bitte                                   → a summary of the issue
    what's blocking OPS-1423? · who owns SEC-212 now?  → a question about the issue
    @bot tl;dr · summarize this thread · recap so far  → a summary of the thread (in a thread)

Anything else is an ordinary question (None). An issue key is upper case (`OPS-12`) or the last
part of a pasted `/browse/` link; look-alikes such as `UTF-8` or `SHA-256` are not keys. A
message that is only a key or a link (with "please" or a question mark) asks for its summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

IntentKind = Literal["summarize_issue", "ask_issue", "summarize_thread"]

_BROWSE = re.compile(r"https?://[^\s<>|]+/browse/([A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*)")
_KEY = re.compile(r"(?<![\w/-])([A-Z][A-Z0-9_]+-[1-9][0-9]*)(?![\w-])")
# Slack's link markup: <https://…|label> or <https://…>; the label is what the person saw.
_SLACK_LINK = re.compile(r"<(https?://[^>|]+)(?:\|([^>]*))?>")
_MENTION = re.compile(r"<[@#!][^>]*>")
# Upper-case words with a number that name standards, not Jira projects.
_NOT_PROJECTS = frozenset(
    {"UTF", "SHA", "ISO", "AES", "RSA", "HTTP", "TLS", "SSL", "RFC", "CVE", "COVID", "MD", "X"}
)
# "Summarize" in the words people use, English first, then German, French, Spanish,
# Portuguese, Italian, Dutch, Polish; `tl;dr` with or without its semicolon.
_SUMMARY = re.compile(
    r"\b(?:summari[sz]e|summari[sz]ing|summary|sum(?:\s+it)?\s+up|tl;?\s?dr|recap|"
    r"zusammenfassung|zusammenfassen|fasse?\b.*\bzusammen|"
    r"r[ée]sum[ée]|r[ée]sumer|r[ée]sume|resumen|resumir|resuma|resumo|"
    r"riassunto|riassumi|riepilogo|samenvatting|samenvatten|podsumowanie|podsumuj)\b",
    re.IGNORECASE,
)
# Words that may stand around a request to summarize the thread without asking anything else.
_THREAD_FILLER_WORDS = (
    "please", "pls", "plz", "can", "could", "would", "you", "u", "me", "us", "a", "an", "the",
    "of", "this", "that", "thread", "conversation", "discussion", "chat", "so", "far", "above",
    "here", "it", "all", "quick", "quickly", "short", "give", "write", "post", "bitte",
    "diesen", "dieses", "den", "die", "das", "von", "mir", "uns", "kurz", "kurze", "ce", "fil",
    "cette", "svp", "merci", "stp", "le", "la", "de", "du", "por", "favor", "este", "esta",
    "hilo", "el", "del", "per", "favore", "questo", "questa",
)  # fmt: skip
_THREAD_FILLER = frozenset(_THREAD_FILLER_WORDS)
# Words that may stand around an issue key in a request for its summary.
_ISSUE_FILLER_WORDS = (
    "please", "pls", "plz", "bitte", "svp", "merci", "por", "favor", "per", "favore", "can",
    "could", "would", "you", "me", "a", "an", "the", "of", "for", "on", "about", "issue",
    "ticket", "jira", "what's", "whats", "status",
)  # fmt: skip
_ISSUE_FILLER = frozenset(_ISSUE_FILLER_WORDS)
_WORD = re.compile(r"[\w'’]+")


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    # The issue, upper case, for `summarize_issue` and `ask_issue`.
    key: str = ""
    # The person's words without markup (the question, for `ask_issue`).
    text: str = ""


def issue_keys(text: str) -> list[str]:
    """Issue keys the text names, in order, each once: from browse links, then bare keys."""
    plain = _SLACK_LINK.sub(r" \1 ", text)
    found = [m.group(1).upper() for m in _BROWSE.finditer(plain)]
    bare = _BROWSE.sub(" ", plain)
    found += [m.group(1) for m in _KEY.finditer(bare) if _is_project(m.group(1))]
    return list(dict.fromkeys(found))


def read_intent(text: str, *, in_thread: bool) -> Intent | None:
    """What the message asks; `in_thread`: it was written in a thread (a reply), where a bare
    "tl;dr" means that thread."""
    plain = _MENTION.sub(" ", text)
    keys = issue_keys(plain)
    wants_summary = _SUMMARY.search(plain) is not None
    readable = " ".join(_SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), plain).split())
    if keys:
        rest = _words(_without_keys(plain, keys))
        if wants_summary or not (set(rest) - _ISSUE_FILLER):
            return Intent("summarize_issue", keys[0], readable)
        return Intent("ask_issue", keys[0], readable)
    if wants_summary and in_thread and not set(_words(_SUMMARY.sub(" ", plain))) - _THREAD_FILLER:
        return Intent("summarize_thread", "", readable)
    return None


def _is_project(key: str) -> bool:
    return key.rsplit("-", 1)[0] not in _NOT_PROJECTS


def _without_keys(text: str, keys: list[str]) -> str:
    text = _SLACK_LINK.sub(" ", _BROWSE.sub(" ", text))
    for key in keys:
        text = re.sub(re.escape(key), " ", text, flags=re.IGNORECASE)
    return _SUMMARY.sub(" ", text)


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


__all__ = ["Intent", "IntentKind", "issue_keys", "read_intent"]
