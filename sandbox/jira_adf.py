"""Wiki markup ↔ Atlassian Document Format, as Jira Cloud converts between REST v2 and v3.

The emulator stores a body in whichever form it was written and renders it in the form the
route asks for: `/rest/api/2` speaks wiki markup, `/rest/api/3` ADF. Covered: paragraphs,
headings, bullet and numbered lists, code and noformat blocks, quotes, tables, mentions
(`[~name]` ↔ a `mention` node with the account id `acc-<name>`), links and inline marks
(bold, italic, monospace). Anything else passes through as text, as it would on a real site.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Doc = dict[str, Any]

_FENCE = re.compile(r"^\{(code|noformat)(?::([\w+#-]+))?[^}]*\}\s*$")
_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST = re.compile(r"^([*#])\s+(.*)$")
_INLINE = re.compile(
    r"\[~(?:accountid:)?(?P<mention>[^\]\s]+)\]"
    r"|\[(?P<label>[^\]|]+)\|(?P<href>[^\]|]+)\]"
    r"|\{\{(?P<code>.+?)\}\}"
    r"|(?<![\w*])\*(?P<strong>[^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em>[^_\s](?:[^_\n]*[^_\s])?)_(?![\w_])"
)


def wiki_to_adf(text: str, display_names: Mapping[str, str]) -> Doc:
    """`display_names` maps user names to display names (for mention nodes)."""
    content: list[Doc] = []
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        line = lines[n]
        fence = _FENCE.match(line.strip())
        if fence:
            end = next(
                (i for i in range(n + 1, len(lines)) if lines[i].strip() == f"{{{fence[1]}}}"),
                len(lines),
            )
            code = "\n".join(lines[n + 1 : end])
            attrs = {"language": fence[2]} if fence[2] else {}
            content.append(
                {"type": "codeBlock", "attrs": attrs, "content": [{"type": "text", "text": code}]}
            )
            n = end + 1
            continue
        if line.strip().startswith("{quote}"):
            end = next((i for i in range(n, len(lines)) if _closes_quote(lines[i], i == n)), n)
            inner = "\n".join(lines[n : end + 1]).strip().removeprefix("{quote}")
            inner = inner.removesuffix("{quote}") if inner.endswith("{quote}") else inner
            quoted = [_paragraph(q.strip(), display_names) for q in inner.split("\n") if q.strip()]
            content.append({"type": "blockquote", "content": quoted})
            n = end + 1
            continue
        content.extend(_block(line, display_names, content))
        n += 1
    return {"type": "doc", "version": 1, "content": content}


def _closes_quote(line: str, opening: bool) -> bool:
    """Whether this line ends a quote: the opening line counts if it closes it too."""
    text = line.strip()
    return text.count("{quote}") >= 2 if opening else "{quote}" in text


def _block(line: str, names: Mapping[str, str], content: list[Doc]) -> list[Doc]:
    """The node(s) a line adds; list items and table rows join the node before them."""
    stripped = line.strip()
    if not stripped:
        return []
    heading = _HEADING.match(stripped)
    if heading:
        level = int(heading[1])
        return [
            {"type": "heading", "attrs": {"level": level}, "content": _inline(heading[2], names)}
        ]
    item = _LIST.match(stripped)
    if item:
        kind = "bulletList" if item[1] == "*" else "orderedList"
        node = {"type": "listItem", "content": [_paragraph(item[2], names)]}
        if content and content[-1]["type"] == kind:
            content[-1]["content"].append(node)
            return []
        return [{"type": kind, "content": [node]}]
    if stripped.startswith("|"):
        row = _table_row(stripped, names)
        if content and content[-1]["type"] == "table":
            content[-1]["content"].append(row)
            return []
        return [{"type": "table", "content": [row]}]
    return [_paragraph(stripped, names)]


def _table_row(line: str, names: Mapping[str, str]) -> Doc:
    header = line.startswith("||")
    cells = [c.strip() for c in re.split(r"\|\|?", line.strip("|"))]
    kind = "tableHeader" if header else "tableCell"
    return {
        "type": "tableRow",
        "content": [{"type": kind, "content": [_paragraph(c, names)]} for c in cells],
    }


def _paragraph(text: str, names: Mapping[str, str]) -> Doc:
    return {"type": "paragraph", "content": _inline(text, names)}


def _inline(text: str, names: Mapping[str, str]) -> list[Doc]:
    nodes: list[Doc] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            nodes.append({"type": "text", "text": text[position : match.start()]})
        nodes.append(_inline_node(match, names))
        position = match.end()
    if position < len(text):
        nodes.append({"type": "text", "text": text[position:]})
    return nodes


def _inline_node(match: re.Match[str], names: Mapping[str, str]) -> Doc:
    if match["mention"]:
        name = match["mention"].removeprefix("acc-")
        text = "@" + names.get(name, name)
        return {"type": "mention", "attrs": {"id": f"acc-{name}", "text": text}}
    if match["label"]:
        mark = {"type": "link", "attrs": {"href": match["href"]}}
        return {"type": "text", "text": match["label"], "marks": [mark]}
    for group, mark_type in (("code", "code"), ("strong", "strong"), ("em", "em")):
        if match[group]:
            return {"type": "text", "text": match[group], "marks": [{"type": mark_type}]}
    return {"type": "text", "text": match[0]}


# -- ADF → wiki ----------------------------------------------------------------------------


def adf_to_wiki(doc: Mapping[str, Any]) -> str:
    return "\n".join(_wiki_block(node) for node in doc.get("content") or ()).strip()


def _wiki_block(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    children = node.get("content") or ()
    if kind == "codeBlock":
        language = (node.get("attrs") or {}).get("language")
        code = "".join(child.get("text", "") for child in children)
        return f"{{code{':' + language if language else ''}}}\n{code}\n{{code}}"
    if kind == "heading":
        return f"h{(node.get('attrs') or {}).get('level', 3)}. {_wiki_inline(children)}"
    if kind in ("bulletList", "orderedList"):
        bullet = "*" if kind == "bulletList" else "#"
        return "\n".join(
            f"{bullet} {' '.join(_wiki_block(c) for c in item.get('content') or ())}"
            for item in children
        )
    if kind == "table":
        return "\n".join(_wiki_row(row) for row in children)
    if kind == "blockquote":
        return "{quote}" + "\n".join(_wiki_block(c) for c in children) + "{quote}"
    if kind == "paragraph":
        return _wiki_inline(children)
    return "\n".join(_wiki_block(c) for c in children)


def _wiki_row(row: Mapping[str, Any]) -> str:
    cells: list[Mapping[str, Any]] = list(row.get("content") or [])
    header = bool(cells) and cells[0].get("type") == "tableHeader"
    bar = "||" if header else "|"
    texts = [" ".join(_wiki_block(c) for c in cell.get("content") or ()) for cell in cells]
    return bar + bar.join(texts) + bar


_MARKS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "strong": lambda text, attrs: f"*{text}*",
    "em": lambda text, attrs: f"_{text}_",
    "code": lambda text, attrs: f"{{{{{text}}}}}",
    "link": lambda text, attrs: f"[{text}|{attrs.get('href', '')}]",
}


def _wiki_inline(nodes: Any) -> str:
    out = []
    for node in nodes:
        kind = node.get("type")
        if kind == "mention":
            out.append(f"[~{str((node.get('attrs') or {}).get('id', '')).removeprefix('acc-')}]")
        elif kind == "hardBreak":
            out.append("\n")
        elif kind == "text":
            text = str(node.get("text", ""))
            for mark in node.get("marks") or ():
                render = _MARKS.get(mark.get("type"))
                text = render(text, mark.get("attrs") or {}) if render else text
            out.append(text)
        else:
            out.append(_wiki_inline(node.get("content") or ()))
    return "".join(out)


__all__ = ["adf_to_wiki", "wiki_to_adf"]
