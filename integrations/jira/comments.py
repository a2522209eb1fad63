"""One summary comment per issue: found by its marker, updated in place, never duplicated.

`upsert_summary` re-reads the issue's comments right before it writes, finds the bot's comment
by its marker (`integrations.jira.marker`), and then either leaves it alone (its marker already
names this source hash), rewrites it with `Comment.update`, or — only when there is none —
adds it. Two jobs summarizing the same issue at the same moment can still both find none: the
caller serializes jobs per issue (an RQ job id or a lock per issue key).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chatops import messages
from integrations.jira.adf import text_to_adf
from integrations.jira.client import JiraClient
from integrations.jira.marker import find_marker, marker_line, marker_text
from integrations.jira.text import body_to_text
from integrations.jira.types import IssueComment, JiraBody, Person

UpsertAction = Literal["created", "updated", "unchanged"]

_SLACK_BULLET = re.compile(r"^(\s*)[-•]\s+", re.MULTILINE)
_SLACK_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
# Marker colour: Jira's own subtle grey, so the line reads as a footnote.
_MARKER_COLOUR = "#97a0af"


@dataclass(frozen=True)
class SummaryComment:
    comment_id: str
    source_hash: str


@dataclass(frozen=True)
class UpsertResult:
    action: UpsertAction
    comment_id: str


def find_summary(
    comments: Sequence[IssueComment], bot: Person | None = None
) -> SummaryComment | None:
    """The bot's summary comment — the oldest one with a marker, written by `bot` when given —
    and the source hash it was made from."""
    for comment in comments:
        if bot is not None and not (comment.author.ids & bot.ids):
            continue
        source = find_marker(body_to_text(comment.body))
        if source is not None:
            return SummaryComment(comment.id, source)
    return None


def summary_body(summary: str, source_hash: str, api_version: str = "2") -> JiraBody:
    """The comment: a heading line, the summary (Slack markdown, as the model wrote it for
    Slack), and the marker — wiki markup for REST v2, an ADF document for v3."""
    heading = f"*{messages.JIRA_SUMMARY_HEADING}*"
    if api_version == "3":
        document = text_to_adf(f"{heading}\n{summary}")
        marks = [{"type": "em"}, {"type": "textColor", "attrs": {"color": _MARKER_COLOUR}}]
        run = {"type": "text", "text": marker_text(source_hash), "marks": marks}
        document["content"].append({"type": "paragraph", "content": [run]})
        return document
    wiki = _SLACK_CODE.sub(r"{{\1}}", _SLACK_BULLET.sub(r"\1* ", summary.strip()))
    marker = f"{{color:{_MARKER_COLOUR}}}{marker_line(source_hash)}{{color}}"
    return f"{heading}\n{wiki}\n\n{marker}"


def comment_visibility(spec: str) -> dict[str, str] | None:
    """JIRA_COMMENT_VISIBILITY (`role:Developers`, `group:jira-staff`, or empty) as Jira's
    `visibility` object."""
    kind, _, value = spec.partition(":")
    if not spec.strip():
        return None
    return {"type": kind.strip(), "value": value.strip()}


def upsert_summary(
    client: JiraClient,
    key: str,
    summary: str,
    source_hash: str,
    *,
    visibility: dict[str, Any] | None = None,
) -> UpsertResult:
    existing = find_summary(client.comments(key), client.myself())
    if existing is not None and existing.source_hash == source_hash:
        return UpsertResult("unchanged", existing.comment_id)
    body = summary_body(summary, source_hash, client.api_version)
    if existing is not None:
        client.update_comment(key, existing.comment_id, body, visibility)
        return UpsertResult("updated", existing.comment_id)
    return UpsertResult("created", client.add_comment(key, body, visibility).id)


__all__ = [
    "SummaryComment",
    "UpsertAction",
    "UpsertResult",
    "comment_visibility",
    "find_summary",
    "summary_body",
    "upsert_summary",
]
