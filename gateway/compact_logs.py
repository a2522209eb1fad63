"""Compaction: log lines that repeat, or differ only in variables, collapsed with a count.

Each line gets a key: the line with every token that starts with a digit (numbers, times,
dates, IPs and ports, hex ids, UUID parts, pointer addresses) and any letters glued in front
of it masked, a Terraform resource address or `[id=…]` masked, and the class of an HTTP status
(2xx, 5xx) kept — so a 500 is never folded into a run of 200s. Lines with equal keys are
"similar". Masking the whole text with two regular expressions, instead of mining templates
line by line (drain3), keeps a 40,000-character log to about a millisecond and never merges
lines that differ in a word (`INFO` vs `ERROR`, `refused` vs `accepted`).

Two passes, each keeping the first occurrence verbatim and appending a count:
1. Consecutive similar lines: `… (×37 similar lines)`.
2. Entries seen again anywhere in the log: an entry is an event line (a timestamp or a level
   near its start) or an exception line, with the indented lines and frames under it. A
   repeated entry (say a WARN, its exception and its frames) is kept once, with
   `… (×12 similar entries)`. Plain lines (a `kubectl describe` field, a brace) are never
   folded this way: only where they repeat side by side.
A collapse that would not make the text shorter is not made.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

_DIGIT_TOKENS = re.compile(r"\d[\w.:]*")
# Letters glued before a masked token (`x2k4q`, `f47ac10b`, `sha256`) are part of the variable.
# Matched on the reversed text, where they follow the `#`: a pattern that starts with a literal
# lets the engine skip ahead, and this runs on every line of every log.
_LETTER_PREFIX_REVERSED = re.compile(r"#[A-Za-z]+")
# `module.vpc.aws_subnet.a[0]: Refreshing state... [id=subnet-0ab]` → `#: Refreshing state… #`.
_ADDRESS = re.compile(r"^[ \t]*(?:[\w-]+\.)+[\w\[\]\"#-]+: |\[id=[^\]\n]*\]", re.MULTILINE)
_TERRAFORM_PROGRESS = ("[id=", ": Refreshing", ": Reading", ": Read complete", ": Still ")
# The class of an HTTP status, in an access log's request or a `status=` field; each pattern
# starts with its literal so that the engine can skip ahead to it.
_HTTP_STATUS = (
    ("HTTP/", re.compile(r"HTTP/[\d.]+\"? ([1-5])\d\d\b")),
    ("status", re.compile(r"status\"?[=:] ?\"?([1-5])\d\d\b")),
)

# Shorter keys are too generic to fold unless the lines are identical (`}`, `Events:`).
MIN_SIMILAR_KEY = 12

# An entry's first line: an exception, or an event with a time or a level near its start.
_ENTRY_HEAD = re.compile(
    r"(?:Traceback \(most recent call last\)|Caused by: |Suppressed: |panic: |fatal error: "
    r"|goroutine \d+ \[|\[signal |Exception in thread |[\w$.]*(?:Exception|Error|Throwable)\b"
    r"|(?:[a-z_]\w*\.)+[A-Z]\w*: )"
    r"|.{0,48}?(?:\d\d:\d\d:\d\d|\b(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL"
    r"|SEVERE|PANIC)\b|\blevel[\"=:])"
)
_GO_PATH = re.compile(r"\t\S+\.go:\d+")
_SUFFIX_CHARS = len(" … (×1,000 similar entries)")


def line_keys(lines: Sequence[str]) -> list[str]:
    """One key per line: equal keys mean the lines differ only in variables."""
    text = "\n".join(lines)
    masked = _DIGIT_TOKENS.sub("#", text)
    masked = _LETTER_PREFIX_REVERSED.sub("#", masked[::-1])[::-1]
    if any(marker in text for marker in _TERRAFORM_PROGRESS):
        masked = _ADDRESS.sub("#", masked)
    keys = masked.split("\n")
    starts: list[int] = []
    for marker, pattern in _HTTP_STATUS:
        if marker in text:
            starts = starts or list(accumulate((len(line) + 1 for line in lines), initial=0))
            for status in pattern.finditer(text):
                keys[bisect_right(starts, status.start()) - 1] += f"\x00{status[1]}xx"
    return keys


def collapse_repeats(lines: Sequence[str]) -> tuple[list[str], int]:
    """The lines with repeats collapsed, and how many lines were removed."""
    keys = line_keys(lines)
    blank = keys.count("")
    if len(set(keys)) - (blank > 0) == len(keys) - blank:
        return list(lines), 0  # no two lines alike (blank lines aside): nothing can collapse
    records = _records(lines, _runs(lines, keys))
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, record in enumerate(records):
        head = record[0][0]
        if len(keys[head]) >= MIN_SIMILAR_KEY and _is_entry(lines[head]):
            signature = (keys[head],) if len(record) == 1 else tuple(keys[s] for s, _ in record)
            groups.setdefault(signature, []).append(index)
    times = [1] * len(records)
    dropped = [False] * len(records)
    for members in groups.values():
        if len(members) > 1 and _chars(lines, records, members[1:]) > _SUFFIX_CHARS:
            times[members[0]] = len(members)
            for member in members[1:]:
                dropped[member] = True
    out: list[str] = []
    for index, record in enumerate(records):
        if dropped[index]:
            continue
        if times[index] > 1 and len(record) == 1:
            # One line seen again and again: count every line, side by side or apart.
            same = groups[(keys[record[0][0]],)]
            _emit_run(lines, *record[0], sum(records[m][0][1] for m in same), out)
        else:
            _emit(lines, record, times[index], out)
    return out, len(lines) - len(out)


def collapse_identical(lines: Sequence[str]) -> tuple[list[str], int]:
    """Only runs of identical lines collapsed (for prose, where numbers carry meaning)."""
    out: list[str] = []
    for start, count in _runs(lines, list(lines)):
        _emit_run(lines, start, count, count, out)
    return out, len(lines) - len(out)


def _chars(lines: Sequence[str], records: list[list[tuple[int, int]]], which: list[int]) -> int:
    return sum(
        len(lines[i]) + 1
        for r in which
        for start, count in records[r]
        for i in range(start, start + count)
    )


def _runs(lines: Sequence[str], keys: list[str]) -> list[tuple[int, int]]:
    """(first line, count) for each run of consecutive similar lines."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(lines) + 1):
        if i < len(lines) and keys[i] == keys[start] and _similar(lines, keys, start, i):
            continue
        runs.append((start, i - start))
        start = i
    return runs


def _similar(lines: Sequence[str], keys: list[str], a: int, b: int) -> bool:
    if len(keys[a]) >= MIN_SIMILAR_KEY:
        return True
    return bool(lines[a].strip()) and lines[a] == lines[b]


def _records(lines: Sequence[str], runs: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Runs grouped into entries: a first line and the indented lines and frames under it."""
    records: list[list[tuple[int, int]]] = []
    for index, run in enumerate(runs):
        line = lines[run[0]]
        if records and _continues(line, runs, index, lines):
            records[-1].append(run)
        else:
            records.append([run])
    return records


def _continues(line: str, runs: list[tuple[int, int]], index: int, lines: Sequence[str]) -> bool:
    if line[:1] in (" ", "\t"):
        return True
    # A Go function line belongs with the path line under it.
    nxt = runs[index + 1][0] if index + 1 < len(runs) else -1
    return nxt >= 0 and line.endswith(")") and _GO_PATH.match(lines[nxt]) is not None


def _is_entry(line: str) -> bool:
    return bool(line) and _ENTRY_HEAD.match(line, 0, 200) is not None


def _emit(lines: Sequence[str], record: list[tuple[int, int]], times: int, out: list[str]) -> None:
    """One kept entry: each run as its first line with a count, unless that is no shorter."""
    at = len(out)
    for start, count in record:
        _emit_run(lines, start, count, count, out)
    if times > 1:
        out[at] += f" … (×{times:,} similar entries)"


def _emit_run(lines: Sequence[str], start: int, count: int, times: int, out: list[str]) -> None:
    """A run of `count` lines here, standing for `times` lines in all (more when the same line
    was also seen elsewhere and removed there)."""
    if times > 1:
        summary = f"{lines[start]} … (×{times:,} similar lines)"
        run_chars = sum(len(line) + 1 for line in lines[start : start + count]) - 1
        if count < times or len(summary) < run_chars:
            out.append(summary)
            return
    out.extend(lines[start : start + count])


__all__ = ["MIN_SIMILAR_KEY", "collapse_identical", "collapse_repeats", "line_keys"]
