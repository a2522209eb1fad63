"""Compaction: what a block of text is — prose, code the person wrote, a log (or trace, or a
tool's output), or binary-looking junk — decided by its content.

A fenced block (```) is code unless its lines look like output: timestamps, log levels,
stack frames, `kubectl` or `terraform` output, or many lines of the same shape. Unfenced text
is read paragraph by paragraph and is prose unless it clearly is a log or code. The decision
errs towards code: a log taken for code is only sent uncompacted, code taken for a log would
be changed. A language tag after the fence (```python) settles it.
"""

from __future__ import annotations

import re
from typing import Literal

from gateway.compact_logs import MIN_SIMILAR_KEY, line_keys

Kind = Literal["prose", "code", "log", "binary"]

# Lines read to classify a block: its first and last non-blank lines, each up to this long.
_HEAD_LINES, _TAIL_LINES, _LINE_CHARS = 40, 10, 300

_LOG_LINE = re.compile(
    r"\s*(?:"
    r"[\[(]?\d{4}[-/.]\d\d[-/.]\d\d[T ]?\d\d:\d\d|[\[(]?\d\d:\d\d:\d\d"
    r"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|[IWEF]\d{4} \d\d:\d\d"
    r"|\S+ \S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:"
    r"|[\[(]?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE|PANIC)\b"
    r"|\{\s*\"(?:level|severity|ts|time|timestamp|@timestamp|msg|message|log)\""
    r"|(?:level|lvl|severity|ts|time)=\S"
    r"|at \S+[(.]|at \S.* \(|File \"[^\"]+\", line \d+"
    r"|Traceback \(most recent call last\)|Caused by: |\.\.\. \d+ (?:more|common frames omitted)"
    r"|[\w$.]*(?:Exception|Error)(?::|$)|(?:[a-z_]\w*\.)+[A-Z]\w*: "
    r"|panic: |goroutine \d+ \[|\S+\.go:\d+|created by "
    r"|[\w.\[\]\"-]+: (?:Refreshing state|Reading\.\.\.|Read complete|Creating\.\.\."
    r"|Creation complete|Modifying\.\.\.|Modifications complete|Destroying\.\.\."
    r"|Destruction complete|Still \w+\.\.\.)"
    r"|# \S+ (?:will be|must be|has been|has changed)|Plan: \d+ to add|Terraform (?:will|used)"
    r"|(?:[-+~]|-/\+|\+/-) (?:resource|data) \"|[-+~] \S+ += |\(known after apply\)"
    r"|(?:Normal|Warning) +\w+ +\S+ +\S|Type +Reason +Age|NAME +(?:READY|STATUS|TYPE|AGE)"
    r"|[A-Z][\w ]*:  +\S|[\w.-]+ +\d+/\d+ +\w+ +\d+"
    r"|.{0,60}?\b(?:DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)\b"
    r")"
)
_CODE_LINE = re.compile(
    r"\s*(?:"
    r"(?:async )?def \w+ ?\(|class \w+\s*[(:{]|import [\w.{*]|from [\w.]+ import |return\b"
    r"|raise \w|yield\b|elif\b|else\s*[:{]|try\s*[:{]|except\b|finally\s*[:{]|with \w.*:$"
    r"|for \w.* in .*:$|while .*:$|if .*[:{]$|@\w+(?:\(|$)|print\("
    r"|func \w|func \(|package \w|type \w+ (?:struct|interface)|(?:var|const|let) \w"
    r"|function\b|export (?:default|const|function|class)|module\.exports|console\.\w+\("
    r"|=> |require\("
    r"|(?i:select\s+(?:\*|distinct\b|[\w.\"]+\s*(?:,|from\b|as\b))|insert\s+into\b"
    r"|update\s+\w+\s+set\b|delete\s+from\b|create\s+(?:table|index|unique|view|or\s+replace"
    r"|extension|function|trigger)\b|alter\s+table\b|drop\s+(?:table|index)\b|explain\b)"
    r"|(?:resource|data|variable|module|provider|output|locals|terraform)\s+(?:\"|\{)"
    r"|(?:apiVersion|kind|metadata|spec|image|replicas|containers|env|ports|labels|annotations"
    r"|selector|volumes|resources|limits|requests|steps|jobs|runs-on|uses|services|stages"
    r"|script):"
    r"|- (?:name|image|key|uses|run|path|port|containerPort|mountPath):"
    r"|(?:FROM|RUN|COPY|ADD|ENV|CMD|ENTRYPOINT|WORKDIR|ARG|EXPOSE|USER|LABEL) \S"
    r"|#!/|\$ \S|sudo \S|export \w+="
    r"|(?:kubectl|docker|aws|terraform|git|curl|helm|npm|yarn|pip|psql|gcloud|systemctl"
    r"|journalctl|chmod|mkdir) \S"
    r"|#include|(?:public|private|protected|static|final) \w|//|/\*|\*/"
    r"|[})\]];?,?$|.*[{;]$|.*\\$|[\w.\[\]]+ ?= ?\S"
    r")"
)
_LANGUAGE_TAG = re.compile(r"[A-Za-z][\w+#.-]{0,15}")
_CODE_LANGUAGES = frozenset({
    "python", "py", "go", "golang", "java", "kotlin", "scala", "js", "javascript", "ts",
    "typescript", "jsx", "tsx", "json", "yaml", "yml", "hcl", "tf", "terraform", "sql", "psql",
    "bash", "sh", "shell", "zsh", "fish", "powershell", "ps1", "ruby", "rb", "rust", "rs", "c",
    "cpp", "c++", "h", "csharp", "cs", "php", "swift", "toml", "ini", "dockerfile", "makefile",
    "nginx", "conf", "xml", "html", "css", "groovy", "lua", "perl", "r", "diff", "patch",
    "proto", "graphql",
})  # fmt: skip
_OUTPUT_LANGUAGES = frozenset(
    {"log", "logs", "text", "txt", "console", "output", "plain", "plaintext", "trace"}
)
# Characters that do not occur in text: C0 controls (not tab or newline) and U+FFFD.
_NOT_TEXT = str.maketrans(dict.fromkeys([*range(0, 9), *range(11, 13), *range(14, 32), 0xFFFD]))


def language_tag(body: str) -> str:
    """The word a fenced block starts with (```python) when it stands alone on its line."""
    first, newline, _ = body.partition("\n")
    tag = first.strip()
    if newline and _LANGUAGE_TAG.fullmatch(tag):
        return tag.lower()
    return ""


def is_binary(text: str) -> bool:
    """More than one character in ten is a control character or a replacement character."""
    sample = text if len(text) <= 5000 else text[:4000] + text[-1000:]
    junk = len(sample) - len(sample.translate(_NOT_TEXT))
    return junk * 10 > len(sample) > 0


def kind_of(body: str, *, fenced: bool) -> Kind:
    """What a fenced block's body, or one unfenced paragraph, is."""
    if is_binary(body):
        return "binary"
    tag = language_tag(body) if fenced else ""
    if tag in _CODE_LANGUAGES:
        return "code"
    lines = [line for line in body.split("\n") if line.strip()]
    if tag in _OUTPUT_LANGUAGES:
        lines = lines[1:]
    if len(lines) > _HEAD_LINES + _TAIL_LINES:
        lines = lines[:_HEAD_LINES] + lines[-_TAIL_LINES:]
    if not lines:
        return "code" if fenced else "prose"
    logs, codes = _count(lines)
    total = len(lines)
    if logs > codes and logs * 10 >= total * (3 if fenced else 4) and (fenced or logs >= 2):
        return "log"
    if codes * 5 <= total and total >= (4 if fenced else 6) and _repeats(lines) * 2 >= total:
        return "log"
    if fenced:
        return "code"
    return "code" if codes >= 2 and codes * 10 >= total * 6 else "prose"


def _count(lines: list[str]) -> tuple[int, int]:
    """How many lines look like a log and how many like code. A line indented under a log
    line belongs to it (a traceback's source line is not code the person wrote)."""
    logs = codes = 0
    log_indent = -1
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if _LOG_LINE.match(line, 0, _LINE_CHARS) or 0 <= log_indent < indent:
            logs += 1
            log_indent = indent if log_indent < 0 or indent <= log_indent else log_indent
        else:
            log_indent = -1
            codes += _CODE_LINE.match(line, 0, _LINE_CHARS) is not None
    return logs, codes


def _repeats(lines: list[str]) -> int:
    """How many of the lines share their shape with another line."""
    counts: dict[str, int] = {}
    keys = line_keys([line[:_LINE_CHARS] for line in lines])
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return sum(1 for key in keys if counts[key] > 1 and len(key) >= MIN_SIMILAR_KEY)


__all__ = ["Kind", "is_binary", "kind_of", "language_tag"]
