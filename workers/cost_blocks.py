"""The cost report as Slack Block Kit: the same numbers as the terminal table, compactly.

Slack refuses a message whose blocks break its limits, so every text is clipped to them:
at most 50 blocks a message, a header's plain text 150 characters, a section's text 3,000,
at most 10 fields of 2,000 each, at most 10 context elements (Block Kit reference, "Blocks").
User ids are shown as code, not `<@U…>`, because a mention would notify everyone listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from chatops.cost_text import (
    NO_INSTANCE,
    NO_TRAFFIC,
    SAVINGS_SUM,
    UNPRICED,
    break_even_lines,
    cache_rows,
    capacity_note,
    ec2_lines,
    headline,
    lever_notes,
    mix_note,
    period_label,
    requests,
    savings_parts,
    short_model,
    spend_cell,
    tokens,
)
from gateway.pricing import EC2_BACKEND
from gateway.report import CostReport, SpendRow

Block = dict[str, Any]

MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
ROWS_SHOWN = 5
# Dimension -> heading; user and channel values get their own formatting below.
SECTIONS = {
    "model": "By model",
    "user": "By user",
    "channel": "By channel",
    "backend": "By backend",
}
# The API's part beside Slack's, when the period has API requests: (heading, field of
# `report.edges`).
EDGE_SECTIONS = (
    ("By edge", "by_edge"),
    ("API by team", "api_by_team"),
    ("API by token", "api_by_token"),
)
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def report_blocks(report: CostReport) -> list[Block]:
    """Header, headline fields, savings, the breakdowns the report holds (a report for
    someone who may not see other people's spend has none by user), EC2 and break-even."""
    title = f"LLM cost — {report.title}"
    if report.filter.is_filtered:
        title += f" · {report.filter}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, HEADER_CHARS)}},
        _context(f"{period_label(report)} · {_escape(str(report.filter))}"),
        _fields([f"*{label}*\n{value}" for label, value in headline(report)]),
        *_unpriced_blocks(report),
        {"type": "divider"},
    ]
    if report.requests:
        blocks += [_section(_savings_text(report)), {"type": "divider"}]
        blocks += [
            _section(_rows_text(heading, dimension, report.breakdowns[dimension]))
            for dimension, heading in SECTIONS.items()
            if dimension in report.breakdowns
        ]
        blocks += _edge_blocks(report)
        blocks += _lever_blocks(report)
    else:
        blocks.append(_section(f"_{NO_TRAFFIC}_"))
    blocks += [{"type": "divider"}, *_ec2_blocks(report)]
    return blocks[:MAX_BLOCKS]


def _edge_blocks(report: CostReport) -> list[Block]:
    if not report.edges.has_api:
        return []
    sections = ((heading, getattr(report.edges, field)) for heading, field in EDGE_SECTIONS)
    return [_section(_rows_text(heading, "", rows)) for heading, rows in sections if rows]


def _lever_blocks(report: CostReport) -> list[Block]:
    """Spend by routing reason, and what each cache answered and saved."""
    blocks = []
    if report.by_reason:
        blocks.append(_section(_rows_text("By routing reason", "", report.by_reason)))
    if report.caches:
        rows = cache_rows(report)
        lines = [f"{kind}: *{hits}* hits · saved *{saved}*" for kind, hits, saved in rows]
        blocks.append(_section("\n".join(["*Caches*", *lines])))
    return blocks


def _savings_text(report: CostReport) -> str:
    lines = [f"*Savings by lever* ({SAVINGS_SUM})"]
    lines += [f"{label}: *{amount}*" for label, amount in savings_parts(report)]
    lines += [f"_{note}_" for note in lever_notes(report)]
    return "\n".join(lines)


def _rows_text(heading: str, dimension: str, rows: Sequence[SpendRow]) -> str:
    """`*By model*` then one line per row, biggest spender first, the rest counted."""
    lines = [f"*{heading}*"]
    for row in rows[:ROWS_SHOWN]:
        unpriced = f" · {row.unpriced_requests} {UNPRICED}" if row.unpriced_requests else ""
        lines.append(
            f"{_name(dimension, row.key)}  *{spend_cell(row)}* · {requests(row.requests)}"
            f" · {tokens(row.tokens)} tokens{unpriced if spend_cell(row) != UNPRICED else ''}"
        )
    if len(rows) > ROWS_SHOWN:
        lines.append(f"_… and {len(rows) - ROWS_SHOWN} more_")
    return "\n".join(lines)


def _name(dimension: str, key: str) -> str:
    return _NAMERS.get(dimension, _code)(key)


def _code(text: str) -> str:
    return f"`{_escape(text or '(none)')}`"


def _channel(key: str) -> str:
    """A channel id as Slack's link to it; a DM's id (`D…`) has no link, so it stays code."""
    return f"<#{key}>" if _CHANNEL_ID.match(key) else _code(key)


def _model(key: str) -> str:
    return _code(short_model(key))


_NAMERS: dict[str, Callable[[str], str]] = {"channel": _channel, "model": _model}


def _unpriced_blocks(report: CostReport) -> list[Block]:
    """Unpriced rows by full model id: the name an operator must add to a price file, or,
    for the self-hosted model, the instance to configure."""
    if not report.unpriced:
        return []
    models = ", ".join(
        f"`{_escape(m.model)}` ({requests(m.requests)}, {tokens(m.tokens)} tokens)"
        for m in report.unpriced
    )
    fixes = []
    if any(m.backend != EC2_BACKEND for m in report.unpriced):
        fixes.append("Add them to a price file (`PRICING_FILE`).")
    if any(m.backend == EC2_BACKEND for m in report.unpriced) and report.ec2 is None:
        fixes.append(f"ec2: {NO_INSTANCE}.")
    return [
        _section(
            f":warning: *{requests(report.unpriced_requests)} {UNPRICED}*, counted in no total:"
            f" {models}. {' '.join(fixes)}".rstrip()
        )
    ]


def _ec2_blocks(report: CostReport) -> list[Block]:
    blocks = []
    if report.ec2:
        lines = (line.strip() for line in ec2_lines(report))
        blocks.append(_section("*EC2 instances*\n" + "\n".join(lines)))
    rows = [
        f"{option}: *{cost}*" + (f" · {monthly} a month" if monthly else "")
        for option, cost, monthly in break_even_lines(report)
    ]
    heading = f"*Bedrock vs EC2 for this traffic* ({tokens(report.break_even.tokens)} tokens)"
    blocks.append(_section("\n".join([heading, *rows])))
    blocks.append(_context(f"Break-even {mix_note(report)}.", capacity_note(report)))
    return blocks


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_CHARS)}}


def _fields(texts: list[str]) -> Block:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": _clip(text, FIELD_CHARS)} for text in texts[:MAX_FIELDS]
        ],
    }


def _context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": _clip(text, SECTION_CHARS)}
            for text in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """Slack's three mrkdwn control characters; everything else shows as typed."""
    return "".join(_MRKDWN_ESCAPES.get(char, char) for char in text)


__all__ = ["MAX_BLOCKS", "report_blocks"]
