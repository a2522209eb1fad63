"""Compaction: a question's text sent with fewer tokens and nothing a reader needs lost.

Pure functions, no I/O. `compact(text)` reads the text as Slack delivers it, block by block:
fenced blocks (```) and, outside them, paragraphs. Each block is classified by content
(`gateway.compact_kinds`) and treated accordingly:

    code the person wrote   verbatim (only Slack's escaping undone)         kept whole by a budget
    JSON                    minified (strings and numbers byte for byte)
    log, trace, tool output markup, whitespace and columns folded (compact_markup),
                            stack traces folded (compact_traces), repeats collapsed (compact_logs)
    prose                   markup to plain text, whitespace folded
    binary-looking          replaced by one line saying so

then, with `budget_tokens`, cut to the budget (compact_budget). Text with nothing to compact
comes back unchanged. `Compacted.steps` says what was done, for the ledger row and a footer:
`markup:N` (markup and entities converted), `whitespace:N` and `controls:N` (characters
removed), `binary:N` (characters left out), `json:N` (characters removed), `trace_frames:N`
(frames folded), `log_repeats:N` (lines collapsed), `budget_cut:N` (tokens left out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.compact_budget import FENCE, fit_budget
from gateway.compact_kinds import kind_of, language_tag
from gateway.compact_logs import collapse_identical, collapse_repeats
from gateway.compact_markup import fold_invisible, fold_whitespace, slack_to_plain, strip_controls
from gateway.compact_traces import fold_traces
from gateway.tokens import estimate_tokens

MAX_BLOCKS = 200
# A one-line JSON longer than this is taken as minified already (a budget will cut it anyway):
# parsing a megabyte to find out would cost tens of milliseconds.
MAX_JSON_LINE_CHARS = 200_000
STEPS = (
    "markup",
    "whitespace",
    "controls",
    "binary",
    "json",
    "trace_frames",
    "log_repeats",
    "budget_cut",
)

_NO_NAMES: Mapping[str, str] = MappingProxyType({})
# Binary-looking text shorter than its note is only stripped of its control characters.
_BINARY_NOTE_CHARS = 80
# A paragraph break: one or more blank (or blank-looking) lines; kept so text can be rejoined.
_PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")
# JSON's tokens: strings (escapes included) and runs of anything but quotes and whitespace.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^"\s]+')


@dataclass(frozen=True)
class Compacted:
    """A compacted text, its size before and after (`estimate_tokens`), and what was done."""

    text: str
    tokens_before: int
    tokens_after: int
    steps: tuple[str, ...] = ()

    @property
    def tokens_removed(self) -> int:
        return self.tokens_before - self.tokens_after


class _Document:
    """The compacted text as it is assembled, with the spans of its code blocks (which a
    budget keeps or leaves out whole)."""

    def __init__(self, names: Mapping[str, str], from_slack: bool) -> None:
        self.names = names
        self.from_slack = from_slack
        self.parts: list[str] = []
        self.length = 0
        self.atomic: list[tuple[int, int]] = []
        self.tally: dict[str, int] = {}

    def add(self, text: str, *, atomic: bool = False) -> None:
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        if atomic and text:
            self.atomic.append((start, self.length))

    def count(self, step: str, amount: int) -> None:
        if amount > 0:
            self.tally[step] = self.tally.get(step, 0) + amount

    def text(self) -> str:
        return "".join(self.parts)

    def steps(self) -> tuple[str, ...]:
        return tuple(f"{step}:{self.tally[step]}" for step in STEPS if step in self.tally)


def compact(
    text: str,
    *,
    budget_tokens: int | None = None,
    names: Mapping[str, str] = _NO_NAMES,
    from_slack: bool = True,
) -> Compacted:
    """`text` with markup, repeats, library frames and whitespace folded, then cut to
    `budget_tokens` if given. `names` maps Slack user, channel and group ids to names.
    `from_slack=False` for text that is not a Slack message (a downloaded file): no markup is
    read and code is not unescaped."""
    document = _Document(names, from_slack)
    # Past `MAX_BLOCKS` fences the rest is one block: a text of nothing but fences stays fast.
    pieces = text.split(FENCE, 2 * MAX_BLOCKS)
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            _add_unfenced(document, piece)
        else:
            _add_fenced(document, piece, closed=index + 1 < len(pieces))
    result = document.text()
    if budget_tokens is not None:
        result, cut = fit_budget(result, budget_tokens, atomic=document.atomic)
        document.count("budget_cut", cut)
    return Compacted(result, estimate_tokens(text), estimate_tokens(result), document.steps())


def _add_fenced(document: _Document, body: str, *, closed: bool) -> None:
    # Slack escapes `&`, `<` and `>` inside code too: undoing it restores what was typed.
    if document.from_slack:
        body, converted = slack_to_plain(body, document.names)
        document.count("markup", converted)
    close = FENCE if closed else ""
    tag = language_tag(body)
    content_at = body.find("\n") + 1 if tag else 0
    minified = _minified_json(body[content_at:])
    if minified is not None:
        document.count("json", len(body) - content_at - len(minified))
        body = body[:content_at] + minified
    elif (kind := kind_of(body, fenced=True)) == "code":
        document.add(FENCE + body + close, atomic=True)
        return
    elif kind == "binary" and len(body) > _BINARY_NOTE_CHARS:
        body = "\n" + _binary_note(document, body) + "\n"
    else:
        body = _fold(document, body, "prose" if kind == "binary" else kind)
    document.add(FENCE + body + close)


def _add_unfenced(document: _Document, text: str) -> None:
    if document.from_slack:
        text, converted = slack_to_plain(text, document.names)
        document.count("markup", converted)
    regions: list[tuple[str, str]] = []
    for index, piece in enumerate(_PARAGRAPH_BREAK.split(text)):
        if index % 2:
            regions.append(("break", piece))
            continue
        minified = _minified_json(piece) if piece.lstrip()[:1] in ("{", "[") else None
        if minified is not None:
            document.count("json", len(piece) - len(minified))
            regions.append(("json", minified))
            continue
        kind: str = kind_of(piece, fenced=False)
        if kind in ("log", "code") and len(regions) >= 2 and regions[-2][0] == kind:
            # Paragraphs of one log (or code) apart by blank lines stay one block.
            regions[-2:] = [(kind, regions[-2][1] + regions[-1][1] + piece)]
        else:
            regions.append((kind, piece))
    for kind, region in regions:
        if kind == "code":
            document.add(region, atomic=True)
        elif kind == "json":
            document.add(region)
        elif kind == "binary" and len(region) > _BINARY_NOTE_CHARS:
            document.add(_binary_note(document, region))
        else:
            document.add(_fold(document, region, "prose" if kind == "binary" else kind))


def _binary_note(document: _Document, body: str) -> str:
    document.count("binary", len(body))
    return f"[… {len(body):,} characters of binary-looking text left out …]"


def _fold(document: _Document, body: str, kind: str) -> str:
    """Prose or a log: invisible characters, controls and whitespace folded; in a log also
    library frames and repeated lines."""
    folded, controls = strip_controls(fold_invisible(body))
    folded = fold_whitespace(folded, columns=kind == "log")
    document.count("controls", controls)
    document.count("whitespace", len(body) - controls - len(folded))
    lines = folded.split("\n")
    if len(lines) < 3:
        return folded
    if kind != "log":
        lines, repeats = collapse_identical(lines)
        document.count("log_repeats", repeats)
        return "\n".join(lines)
    lines, frames = fold_traces(lines)
    document.count("trace_frames", frames)
    lines, repeats = collapse_repeats(lines)
    document.count("log_repeats", repeats)
    folded = "\n".join(lines)
    # Entries removed from between blank lines leave the blank lines behind.
    return fold_whitespace(folded) if "\n\n\n" in folded else folded


def _minified_json(body: str) -> str | None:
    """`body` with its JSON value minified, or None when it is not JSON or is minified.
    Strings and numbers are copied byte for byte: only whitespace between tokens goes."""
    stripped = body.strip()
    if len(stripped) < 2 or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return None
    if len(stripped) > MAX_JSON_LINE_CHARS and "\n" not in stripped:
        return None
    try:
        json.loads(stripped, parse_int=str, parse_float=str, parse_constant=str)
    except (ValueError, RecursionError):
        return None
    minified = "".join(_JSON_TOKEN.findall(stripped))
    if len(minified) >= len(stripped):
        return None
    lead = len(body) - len(body.lstrip())
    return body[:lead] + minified + body[lead + len(stripped) :]


__all__ = ["FENCE", "STEPS", "Compacted", "compact"]
