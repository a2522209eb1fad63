"""Jira wiki markup (REST v2 bodies) → compact plain text for a model to read. Pure.

Kept: code and noformat blocks verbatim (fenced with ```), inline monospace as `x`, tables as
`a | b | c` rows, link text, mentions as @Display Name, quotes as `> `. Dropped: emphasis
marks, colours, panels, headings' `h2.`, rules, and runs of blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_BLOCK = re.compile(r"\{(code|noformat)((?::[^}]*)?)\}(.*?)\{\1\}", re.DOTALL)
_QUOTE = re.compile(r"\{quote\}(.*?)\{quote\}", re.DOTALL)
_LANGUAGE = re.compile(r"^:([\w+#-]+)(?:\||$)")

_MENTION = re.compile(r"\[~(?:accountid:)?([^\]\s]+)\]")
_LINK = re.compile(r"\[([^\]|]*)\|([^\]|]+)(?:\|[^\]]*)?\]")
_BARE_LINK = re.compile(r"\[((?:https?|mailto|file):[^\]|]+)\]")
_ATTACHMENT = re.compile(r"\[\^([^\]]+)\]")
_IMAGE = re.compile(r"!([^!\s|]+\.\w{2,5})(?:\|[^!]*)?!")
_MONOSPACE = re.compile(r"\{\{(.+?)\}\}")
_STRONG = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_EMPHASIS = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_CITATION = re.compile(r"\?\?(.+?)\?\?")
_MACRO = re.compile(r"\{(?:color(?::[^}]*)?|panel(?::[^}]*)?|anchor:[^}]*)\}")
_HEADING = re.compile(r"^\s*h[1-6]\.\s+")
_BLOCKQUOTE = re.compile(r"^\s*bq\.\s+")
_LIST_ITEM = re.compile(r"^\s*([*#]+|-)\s+(.*)$")
_RULE = re.compile(r"^\s*-{4,}\s*$")
_SPACES = re.compile(r"[ \t]+")
_ESCAPED = re.compile(r"\\([*_{}\[\]|!?+^~-])")


def wiki_to_text(markup: str, names: Mapping[str, str] | None = None) -> str:
    """`names` maps a user name or account id to a display name, for mentions."""
    people = names or {}
    parts: list[str] = []
    position = 0
    for match in _BLOCK.finditer(markup):
        parts.append(_prose(markup[position : match.start()], people))
        parts.append(_code(match.group(2), match.group(3)))
        position = match.end()
    parts.append(_prose(markup[position:], people))
    return _tidy("\n".join(part for part in parts if part.strip()))


def _code(options: str, content: str) -> str:
    language = _LANGUAGE.match(options)
    body = content.strip("\n").rstrip()
    return f"```{language.group(1) if language else ''}\n{body}\n```"


def _prose(text: str, names: Mapping[str, str]) -> str:
    def quoted(match: re.Match[str]) -> str:
        inner = _prose(match.group(1), names)
        return "\n".join(f"> {line}" for line in inner.splitlines() if line.strip())

    text = _QUOTE.sub(quoted, text)
    return "\n".join(_line(line, names) for line in text.splitlines())


def _line(line: str, names: Mapping[str, str]) -> str:
    if line.startswith("> "):  # a quote's line, already converted by `_prose`
        return line
    if _RULE.match(line):
        return ""
    line = _BLOCKQUOTE.sub("> ", _HEADING.sub("", line))
    item = _LIST_ITEM.match(line)
    if item:
        depth = 0 if item.group(1) == "-" else len(item.group(1)) - 1
        return "  " * depth + "- " + _compact(_inline(item.group(2), names))
    text = _compact(_inline(line, names))
    return _table_row(text) if text.startswith("|") else text


def _compact(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _inline(line: str, names: Mapping[str, str]) -> str:
    substitutions: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
        (_MONOSPACE, r"`\1`"),
        (_MENTION, lambda m: "@" + names.get(m.group(1), m.group(1))),
        (_LINK, lambda m: m.group(1).strip() or m.group(2).strip()),
        (_BARE_LINK, r"\1"),
        (_ATTACHMENT, r"[attachment \1]"),
        (_IMAGE, r"[image \1]"),
        (_MACRO, ""),
        (_STRONG, r"\1"),
        (_EMPHASIS, r"\1"),
        (_CITATION, r"\1"),
        (_ESCAPED, r"\1"),
    ]
    for pattern, replacement in substitutions:
        line = pattern.sub(replacement, line)
    return line


def _table_row(line: str) -> str:
    """`||a||b||` and `|a|b|` → `a | b`."""
    cells = [cell.strip() for cell in re.split(r"\|\|?", line.strip().strip("|"))]
    return " | ".join(cell if cell else "" for cell in cells)


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, none at the ends."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


__all__ = ["wiki_to_text"]
