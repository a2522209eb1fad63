r"""The marker that makes the bot's summary comment findable: one small trailing line.

    _\[chatops-summary v1 · source=<hash>\]_       (wiki markup: small grey italics)

`<hash>` is `IssueDocument.source_hash` of the issue content the summary was made from, so a
summary whose marker names the current hash is up to date and is neither regenerated nor
rewritten. The brackets are escaped in wiki markup, where `[…]` would be read as a link; in ADF
the marker is an italic grey paragraph.
"""

from __future__ import annotations

import re

MARKER_VERSION = "v1"
_MARKER = re.compile(r"\[chatops-summary (v\d+) · source=([0-9a-f]{8,64})\]")


def marker_text(source_hash: str) -> str:
    """The marker without its wiki italics: `[chatops-summary v1 · source=…]`."""
    return f"[chatops-summary {MARKER_VERSION} · source={source_hash}]"


def marker_line(source_hash: str) -> str:
    """The marker as wiki markup, in italics."""
    return "_\\" + marker_text(source_hash)[:-1] + "\\]_"


def find_marker(text: str) -> str | None:
    """The source hash of a summary comment's plain text, or None if it carries no marker."""
    found = _MARKER.search(text)
    return found.group(2) if found else None


__all__ = ["MARKER_VERSION", "find_marker", "marker_line", "marker_text"]
