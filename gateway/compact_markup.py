"""Compaction, step one: Slack's markup to the plain text a person saw, and whitespace folded.

Slack sends message text with `<…>` markup (mentions, channels, links, special mentions) and
with `&`, `<` and `>` escaped as entities, inside code blocks too. Outside code the markup
becomes plain text; inside code only the three entities are undone, which restores exactly what
the person typed. Whitespace is folded outside code only: trailing spaces, runs of blank lines,
zero-width characters and no-break spaces; in log lines also runs of three or more spaces
between columns (leading indentation is kept: it carries structure in YAML-like output).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# `<…>` markup (never across a line) or one of the entities Slack and HTML tools write.
_MARKUP = re.compile(r"<([^<>\n]{1,2000})>|&(amp|lt|gt|quot|#39|nbsp);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'", "nbsp": " "}
_SLACK_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_SPECIAL_MENTIONS = frozenset({"here", "channel", "everyone"})
_URL_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]{0,15}:")

# Zero-width characters vanish; no-break and other fixed-width spaces become plain spaces.
_INVISIBLE = str.maketrans(
    {
        **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None),
        **dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u3000"), " "),
    }
)
# Terminal escape sequences (colours, titles), then C0 controls but tab, newline, return.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\n]{0,200}\x07")
_CONTROLS = str.maketrans(dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127]))
_BLANK_RUNS = re.compile(r"\n{3,}")
# Three or more spaces after a non-space: column padding in tables and aligned `key:  value`.
# Written to start with its literal so the engine can skip ahead (ten times faster).
_COLUMN_PADDING = re.compile(r"   (?<=\S   ) *")


def slack_to_plain(text: str, names: Mapping[str, str]) -> tuple[str, int]:
    """Mentions, channels, links and entities as a person reads them, and how many changed."""
    if "<" not in text and "&" not in text:
        return text, 0
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        entity = match.group(2)
        plain = _ENTITIES[entity] if entity else _markup_text(match.group(1), names)
        if plain is None:
            return match.group(0)
        count += 1
        return plain

    return _MARKUP.sub(replace, text), count


def _markup_text(inner: str, names: Mapping[str, str]) -> str | None:
    """The plain text of one `<…>`, or None when it is not Slack markup."""
    target, _, label = inner.partition("|")
    target, label = unescape_slack(target), unescape_slack(label)
    sigil, ident = target[:1], target[1:]
    if sigil == "@" and ident:
        return "@" + (names.get(ident) or label.lstrip("@") or ident)
    if sigil == "#" and ident:
        return "#" + (names.get(ident) or label.lstrip("#") or ident)
    if sigil == "!":
        return _special_mention(ident, label, names)
    if _URL_SCHEME.match(target):
        return _link_text(target, label)
    return None


def _special_mention(ident: str, label: str, names: Mapping[str, str]) -> str:
    if ident in _SPECIAL_MENTIONS:
        return "@" + ident
    if ident.startswith("subteam^"):
        group = ident.partition("^")[2]
        return "@" + (names.get(group) or label.lstrip("@") or group)
    # `<!date^1392734382^{date_short}|Feb 18, 2014>` and the like: the fallback is the text.
    return label or "@" + ident.partition("^")[0]


def _link_text(url: str, label: str) -> str:
    if url.startswith("mailto:"):
        return label or url.removeprefix("mailto:")
    bare = url.split("://", 1)[-1]
    if not label or label in (url, bare, bare.rstrip("/")):
        return url
    return f"{label} ({url})"


def unescape_slack(text: str) -> str:
    """Undo exactly Slack's escaping of `&`, `<` and `>` (what the person typed)."""
    if "&" not in text:
        return text
    for escaped, plain in _SLACK_ESCAPES:
        text = text.replace(escaped, plain)
    return text


def fold_invisible(text: str) -> str:
    """Zero-width characters removed, no-break spaces made plain spaces."""
    return text.translate(_INVISIBLE)


def strip_controls(text: str) -> tuple[str, int]:
    """Terminal escape codes and control characters removed, and how many characters went."""
    stripped = _ANSI.sub("", text) if "\x1b" in text else text
    stripped = stripped.translate(_CONTROLS)
    return stripped, len(text) - len(stripped)


def fold_whitespace(text: str, *, columns: bool = False) -> str:
    """Trailing spaces and blank-line runs folded; with `columns`, column padding too."""
    if " \n" in text or "\t\n" in text or "\r" in text or text.endswith((" ", "\t")):
        text = "\n".join([line.rstrip(" \t\r") for line in text.split("\n")])
    if columns and "   " in text:
        text = _COLUMN_PADDING.sub("  ", text)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text


__all__ = [
    "fold_invisible",
    "fold_whitespace",
    "slack_to_plain",
    "strip_controls",
    "unescape_slack",
]
