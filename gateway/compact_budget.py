"""Compaction, last step: a text cut to a token budget where it matters least.

The text is split into units: a line, a slice of a very long line (`_SLICE_CHARS`), or a whole
code block the person wrote (never cut: kept whole or left out whole). Units are kept in this
order while they fit: code blocks, the head (`_HEAD_SHARE` of the budget), the tail
(`_TAIL_SHARE`), every line naming an error, exception, fatal, panic, failure, denial, timeout
or warning, or an HTTP 5xx (worst first, alternately from the start and the end) with the line
before and after it, then more head and tail. Each run of units left out becomes one line:
`[… 1,234 lines (≈ 9,870 tokens) left out …]`, followed by a fence when the text left out held
an odd number of them, so fences stay paired. The result is within the budget unless the
budget cannot hold a single note.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from gateway.tokens import CHARS_PER_TOKEN, estimate_tokens

FENCE = "```"
_SLICE_CHARS = 400
_HEAD_SHARE, _TAIL_SHARE = 0.25, 0.15
# Room reserved for each note: `[… 12,345,678 lines (≈ 123,456,789 tokens) left out …]`, its
# newline, and a fence.
_NOTE_CHARS = 64
# Words that name a problem, worst first (`http/1.1" 5` is an access log's 5xx).
_ALARMS = (
    ("error", "exception", "fatal", "panic", "traceback", "caused by", "critical"),
    ("fail", "denied", "timeout", "timed out", "refused", "killed", "forbidden",
     'http/1.1" 5', 'http/1.0" 5', 'http/2.0" 5', 'http/2" 5'),
    ("warn",),
)  # fmt: skip


class _Unit(NamedTuple):
    start: int
    end: int
    # A slice of a line continues the previous unit's line (no newline between them).
    continues_line: bool
    atomic: bool


def fit_budget(
    text: str, budget_tokens: int, *, atomic: Sequence[tuple[int, int]] = ()
) -> tuple[str, int]:
    """`text` within `budget_tokens`, and how many tokens were left out. `atomic` spans
    (code blocks, as character offsets into `text`) are kept or left out whole."""
    before = estimate_tokens(text)
    if before <= budget_tokens:
        return text, 0
    units = _units(text, atomic)
    keep = _choose(text, units, max(0, budget_tokens) * CHARS_PER_TOKEN)
    cut = _render(text, units, keep)
    return cut, before - estimate_tokens(cut)


def _units(text: str, atomic: Sequence[tuple[int, int]]) -> list[_Unit]:
    units: list[_Unit] = []
    spans = sorted(atomic)
    span_at = 0
    position, length = 0, len(text)
    while position <= length:
        end = text.find("\n", position)
        end = length if end < 0 else end
        while span_at < len(spans) and spans[span_at][1] <= position:
            span_at += 1
        if span_at < len(spans) and spans[span_at][0] <= end:
            # The lines code blocks touch form one unit, extended to whole lines.
            while span_at < len(spans) and spans[span_at][0] <= end:
                stop = text.find("\n", spans[span_at][1])
                end = max(end, length if stop < 0 else stop)
                span_at += 1
            units.append(_Unit(position, end, False, True))
        elif end - position <= _SLICE_CHARS:
            units.append(_Unit(position, end, False, False))
        else:
            units.extend(
                _Unit(at, min(at + _SLICE_CHARS, end), at > position, False)
                for at in range(position, end, _SLICE_CHARS)
            )
        position = end + 1
    return units


class _Selection:
    """Units chosen so far, and the characters left for more (notes included)."""

    def __init__(self, units: list[_Unit], budget_chars: int) -> None:
        self.units = units
        self.keep = [False] * len(units)
        self.room = budget_chars - _NOTE_CHARS  # gaps can outnumber kept islands by one

    def take(self, index: int) -> bool:
        if self.keep[index]:
            return True
        unit = self.units[index]
        cost = unit.end - unit.start + 1
        before = index > 0 and self.keep[index - 1]
        after = index + 1 < len(self.units) and self.keep[index + 1]
        if not (before or after):
            cost += _NOTE_CHARS  # a new island of kept text may need one more note
        if cost > self.room:
            return False
        self.keep[index] = True
        self.room -= cost
        return True

    def take_run(self, order: range, share: float) -> None:
        """Units in `order` while their characters stay within `share` and they fit.
        Code blocks were decided already and are stepped over."""
        spent = 0
        for index in order:
            unit = self.units[index]
            if unit.atomic or self.keep[index]:
                continue
            spent += unit.end - unit.start + 1
            if spent > share or not self.take(index):
                return


def _choose(text: str, units: list[_Unit], budget_chars: int) -> list[bool]:
    """Which units to keep, in priority order, while they and their notes fit."""
    chosen = _Selection(units, budget_chars)
    for index, unit in enumerate(units):
        if unit.atomic:
            chosen.take(index)
    forward, backward = range(len(units)), range(len(units) - 1, -1, -1)
    chosen.take_run(forward, budget_chars * _HEAD_SHARE)
    chosen.take_run(backward, budget_chars * _TAIL_SHARE)
    for index in _alarming(text, units):
        if chosen.take(index):
            for neighbour in (index - 1, index + 1):
                if 0 <= neighbour < len(units) and not units[neighbour].atomic:
                    chosen.take(neighbour)
    chosen.take_run(forward, chosen.room)
    chosen.take_run(backward, chosen.room)
    return chosen.keep


def _alarming(text: str, units: list[_Unit]) -> list[int]:
    """Units that name a problem, worst first; within a rank from both ends inwards.
    (`str.find` per word, one hit per unit, is several times faster than a regex here.)"""
    starts = [unit.start for unit in units]
    lowered = text.lower()
    rank_of: dict[int, int] = {}
    for rank, words in enumerate(_ALARMS):
        for word in words:
            at = lowered.find(word)
            while at >= 0:
                index = bisect_right(starts, at) - 1
                if not units[index].atomic and rank < rank_of.get(index, len(_ALARMS)):
                    rank_of[index] = rank
                at = lowered.find(word, units[index].end + 1)
    by_rank: list[list[int]] = [[] for _ in _ALARMS]
    for index in sorted(rank_of):
        by_rank[rank_of[index]].append(index)
    ordered: list[int] = []
    for ranked in by_rank:
        lo, hi = 0, len(ranked) - 1
        while lo <= hi:
            ordered.append(ranked[lo])
            if hi != lo:
                ordered.append(ranked[hi])
            lo, hi = lo + 1, hi - 1
    return ordered


def _render(text: str, units: list[_Unit], keep: list[bool]) -> str:
    parts: list[str] = []
    index = 0
    after_note = False
    while index < len(units):
        unit = units[index]
        if keep[index]:
            if parts and (after_note or not unit.continues_line):
                parts.append("\n")
            parts.append(text[unit.start : unit.end])
            index, after_note = index + 1, False
            continue
        end = index
        while end < len(units) and not keep[end]:
            end += 1
        start, stop = units[index].start, units[end - 1].end
        inline = _is_within_line(text, units, index, end)
        if parts and not (inline and unit.continues_line):
            parts.append("\n")
        parts.append(_note(text, start, stop, inline))
        if text.count(FENCE, start, stop) % 2:
            parts.append(FENCE if inline else "\n" + FENCE)
        index, after_note = end, not inline
    return "".join(parts)


def _is_within_line(text: str, units: list[_Unit], first: int, end: int) -> bool:
    """The units left out are slices of one line with kept text of that line beside them."""
    if "\n" in text[units[first].start : units[end - 1].end]:
        return False
    return units[first].continues_line or (end < len(units) and units[end].continues_line)


def _note(text: str, start: int, stop: int, inline: bool) -> str:
    tokens = estimate_tokens(text[start:stop])
    if inline:
        return f" [… {stop - start:,} characters (≈ {tokens:,} tokens) left out …] "
    lines = text.count("\n", start, stop) + 1
    return f"[… {lines:,} line{'s' if lines > 1 else ''} (≈ {tokens:,} tokens) left out …]"


__all__ = ["fit_budget"]
