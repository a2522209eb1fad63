"""Atlassian Document Format (REST v3 bodies, JSON) ↔ plain text. Pure.

`adf_to_text` reads a document as `wiki.wiki_to_text` reads markup: code blocks verbatim in
``` fences, tables as `a | b` rows, link text, mentions as @Display Name, lists as `- item`.
`text_to_adf` writes the bot's own comments: paragraphs, `- ` bullet lists and *bold* runs.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Node = Mapping[str, Any]
BlockRenderer = Callable[[Node, Mapping[str, str]], list[str]]


def adf_to_text(document: Node, names: Mapping[str, str] | None = None) -> str:
    lines = _blocks(document.get("content") or (), names or {})
    out: list[str] = []
    for line in (line.rstrip() for line in lines):
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


def _blocks(nodes: Sequence[Node], names: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for node in nodes:
        render = _BLOCK_RENDERERS.get(str(node.get("type")))
        if render is not None:
            lines.extend(render(node, names))
        elif node.get("type") in _INLINE_RENDERERS or node.get("type") == "text":
            lines.extend(_inline([node], names).splitlines())
        else:  # an unknown container: its content still counts
            lines.extend(_blocks(node.get("content") or (), names))
    return lines


def _paragraph(node: Node, names: Mapping[str, str]) -> list[str]:
    text = _inline(node.get("content") or (), names)
    return [*(" ".join(line.split()) for line in text.splitlines()), ""]


def _list(node: Node, names: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for item in node.get("content") or ():
        inner = [line for line in _blocks(item.get("content") or (), names) if line]
        if item.get("type") == "taskItem":
            box = "[x]" if (item.get("attrs") or {}).get("state") == "DONE" else "[ ]"
            inner = [f"{box} {_inline(item.get('content') or (), names)}"]
        elif item.get("type") == "decisionItem":
            inner = [f"Decision: {_inline(item.get('content') or (), names)}"]
        for n, line in enumerate(inner):
            lines.append(("- " if n == 0 else "  ") + line)
    return [*lines, ""]


def _code_block(node: Node, names: Mapping[str, str]) -> list[str]:
    language = (node.get("attrs") or {}).get("language") or ""
    code = "".join(str(child.get("text", "")) for child in node.get("content") or ())
    return [f"```{language}", *code.rstrip("\n").splitlines(), "```", ""]


def _quote(node: Node, names: Mapping[str, str]) -> list[str]:
    inner = _blocks(node.get("content") or (), names)
    return [*(f"> {line}" for line in inner if line), ""]


def _table(node: Node, names: Mapping[str, str]) -> list[str]:
    rows = []
    for row in node.get("content") or ():
        cells = [
            " ".join(line for line in _blocks(cell.get("content") or (), names) if line)
            for cell in row.get("content") or ()
        ]
        rows.append(" | ".join(cells))
    return [*rows, ""]


def _expand(node: Node, names: Mapping[str, str]) -> list[str]:
    title = (node.get("attrs") or {}).get("title")
    return [*([title] if title else []), *_blocks(node.get("content") or (), names)]


def _media(node: Node, names: Mapping[str, str]) -> list[str]:
    return ["[attachment]", ""]


_BLOCK_RENDERERS: dict[str, BlockRenderer] = {
    "paragraph": _paragraph,
    "heading": _paragraph,
    "bulletList": _list,
    "orderedList": _list,
    "taskList": _list,
    "decisionList": _list,
    "codeBlock": _code_block,
    "blockquote": _quote,
    "panel": _expand,
    "expand": _expand,
    "nestedExpand": _expand,
    "table": _table,
    "mediaSingle": _media,
    "mediaGroup": _media,
    "rule": lambda node, names: [""],
}


def _text(node: Node, names: Mapping[str, str]) -> str:
    text = str(node.get("text", ""))
    marks = {str(mark.get("type")) for mark in node.get("marks") or ()}
    return f"`{text}`" if "code" in marks else text


def _mention(node: Node, names: Mapping[str, str]) -> str:
    attrs = node.get("attrs") or {}
    known = names.get(str(attrs.get("id", "")))
    return f"@{known}" if known else str(attrs.get("text") or "@someone")


def _date(node: Node, names: Mapping[str, str]) -> str:
    millis = int((node.get("attrs") or {}).get("timestamp") or 0)
    return f"{datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC):%Y-%m-%d}"


_INLINE_RENDERERS: dict[str, Callable[[Node, Mapping[str, str]], str]] = {
    "text": _text,
    "hardBreak": lambda node, names: "\n",
    "mention": _mention,
    "emoji": lambda node, names: str((node.get("attrs") or {}).get("text") or ""),
    "inlineCard": lambda node, names: str((node.get("attrs") or {}).get("url") or ""),
    "status": lambda node, names: f"[{(node.get('attrs') or {}).get('text', '')}]",
    "date": _date,
}


def _inline(nodes: Sequence[Node], names: Mapping[str, str]) -> str:
    out = []
    for node in nodes:
        render = _INLINE_RENDERERS.get(str(node.get("type")))
        out.append(render(node, names) if render else _inline(node.get("content") or (), names))
    return "".join(out)


# -- writing -------------------------------------------------------------------------------

_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")


def text_to_adf(text: str) -> dict[str, Any]:
    """Paragraphs (one per line), `- ` / `• ` lines as bullet lists, `*x*` as bold."""
    content: list[dict[str, Any]] = []
    for line in text.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            item = {"type": "listItem", "content": [_adf_paragraph(bullet.group(1))]}
            if content and content[-1]["type"] == "bulletList":
                content[-1]["content"].append(item)
            else:
                content.append({"type": "bulletList", "content": [item]})
        elif line.strip():
            content.append(_adf_paragraph(line.strip()))
    return {"type": "doc", "version": 1, "content": content}


def _adf_paragraph(text: str) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    position = 0
    for match in _BOLD.finditer(text):
        if match.start() > position:
            runs.append({"type": "text", "text": text[position : match.start()]})
        runs.append({"type": "text", "text": match.group(1), "marks": [{"type": "strong"}]})
        position = match.end()
    if position < len(text):
        runs.append({"type": "text", "text": text[position:]})
    return {"type": "paragraph", "content": runs}


__all__ = ["adf_to_text", "text_to_adf"]
