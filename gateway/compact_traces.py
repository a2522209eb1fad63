"""Compaction: stack traces folded to what a reader needs.

Kept: the exception lines (`Caused by:` chains, `... 12 more`, the Python exception after its
frames), the frames of the team's own code, and the frame where the error was raised (the
first frame under a Java or Node exception line, the last above a Python one). Every other run
of library frames becomes one line naming where they were: `… 42 frames in
org.springframework, java.base`.

A frame is one line (`at …` in Java, Kotlin, Node and .NET; a Go path line on its own), two
(a Go function line and its path), or a Python `File "…", line N` line with its source and
caret lines. "Library" means a known framework package, `site-packages`, the Python or Go
standard library, Go's module cache or `node_modules`; everything else is the team's code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_FRAME = re.compile(
    r"(?P<at>[ \t]+at (?P<where>\S.*))"
    r"|(?P<py>(?P<indent>[ \t]*)File \"(?P<path>[^\"]+)\", line \d+)"
    r"|(?P<go>\t(?P<gopath>\S+\.go):\d+)"
)
_GO_PATH = re.compile(r"\t\S+\.go:\d+")
_FRAME_MARKERS = (" at ", "\tat ", 'File "', ".go:")
_WHERE_CHARS = 300
# Java/Kotlin frame target: an optional class-loader or module prefix, then package.Class.method.
_JAVA_TARGET = re.compile(r"(?:[\w.-]*//|(?P<module>[\w.]+)(?:@[^/\s]*)?/)?(?P<name>[\w$.<>]+)\(")
_NODE_INTERNALS = ("(node:", "(internal/", "(<anonymous>)", "(index ")
_PYTHON_STDLIB = re.compile(r"/lib/python\d|^<frozen ")

# Package prefixes of frameworks and libraries, never the team's own code.
_LIBRARY_PACKAGES = (
    "java.", "javax.", "jakarta.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.",
    "org.springframework.", "org.apache.", "org.hibernate.", "com.zaxxer.", "io.netty.",
    "reactor.", "akka.", "com.fasterxml.", "io.micrometer.", "org.eclipse.", "io.undertow.",
    "org.junit.", "com.google.", "io.grpc.", "okhttp3.", "ch.qos.", "org.slf4j.",
    "io.opentelemetry.", "net.bytebuddy.", "org.aspectj.", "io.reactivex.", "groovy.",
    "org.codehaus.", "com.mysql.", "org.postgresql.", "io.lettuce.", "redis.clients.",
    "software.amazon.", "com.amazonaws.", "org.glassfish.", "io.vertx.", "io.quarkus.",
    "org.jboss.", "com.netflix.", "feign.", "io.github.resilience4j.", "org.mockito.",
    "System.", "Microsoft.",
)  # fmt: skip


@dataclass(frozen=True)
class _Frame:
    lines: int
    # Where a library frame lives ("site-packages", "org.springframework"); "" for own code.
    library: str
    # "at" frames are listed innermost first (Java, Node), "py" frames innermost last.
    style: str


def fold_traces(lines: Sequence[str]) -> tuple[list[str], int]:
    """The lines with runs of library frames folded, and how many frames were folded."""
    text = "\n".join(lines)
    if not any(marker in text for marker in _FRAME_MARKERS):
        return list(lines), 0
    out: list[str] = []
    folded = 0
    i, n = 0, len(lines)
    while i < n:
        frame = _frame_at(lines, i)
        if frame is None:
            out.append(lines[i])
            i += 1
            continue
        run: list[tuple[int, _Frame]] = []
        while frame is not None:
            run.append((i, frame))
            i += frame.lines
            frame = _frame_at(lines, i) if i < n else None
        folded += _emit_run(lines, run, out, ends_trace=i < n)
    return out, folded


def _emit_run(
    lines: Sequence[str], run: list[tuple[int, _Frame]], out: list[str], *, ends_trace: bool
) -> int:
    """One run of consecutive frames: own frames and the raising frame verbatim, the rest
    folded into one line per stretch of library frames."""
    keep = [not frame.library for _, frame in run]
    if run[0][1].style == "at":
        keep[0] = True
    elif run[-1][1].style == "py" and ends_trace:
        keep[-1] = True
    folded = 0
    stretch: list[tuple[int, _Frame]] = []
    for kept, (start, frame) in zip(keep, run, strict=True):
        if not kept:
            stretch.append((start, frame))
            continue
        folded += _flush(lines, stretch, out)
        stretch = []
        out.extend(lines[start : start + frame.lines])
    return folded + _flush(lines, stretch, out)


def _flush(lines: Sequence[str], stretch: list[tuple[int, _Frame]], out: list[str]) -> int:
    if not stretch:
        return 0
    first, _ = stretch[0]
    last, last_frame = stretch[-1]
    original = lines[first : last + last_frame.lines]
    places = list(dict.fromkeys(frame.library for _, frame in stretch))
    where = ", ".join(places[:3]) + (", …" if len(places) > 3 else "")
    # Go's function lines are not indented; its path lines are. The summary is indented so
    # that it stays with the trace it came from.
    indent = original[0][: len(original[0]) - len(original[0].lstrip())] or "\t"
    count = len(stretch)
    summary = f"{indent}… {count} frame{'s' if count > 1 else ''} in {where}"
    if len(summary) >= sum(len(line) + 1 for line in original):
        out.extend(original)
        return 0
    out.append(summary)
    return count


def _frame_at(lines: Sequence[str], i: int) -> _Frame | None:
    line = lines[i]
    # Most lines are not frames: only an indented line, or one above a Go path, can be.
    if line[:1] not in ("\t", " ") and (i + 1 >= len(lines) or lines[i + 1][:1] != "\t"):
        return None
    match = _FRAME.match(line)
    if match is None:
        # A Go frame is its function line (not indented) and the path line under it.
        if line[:1] not in ("\t", " ", "") and i + 1 < len(lines):
            path = _GO_PATH.match(lines[i + 1])
            if path is not None and (line.endswith(")") or line.startswith("created by ")):
                return _Frame(2, _go_library(path.group(0)), "go")
        return None
    if match.group("at"):
        # Cached by its text (traces repeat); the head is enough and keeps the cache small.
        return _Frame(1, _at_library(match.group("where")[:_WHERE_CHARS]), "at")
    if match.group("py"):
        return _Frame(_python_frame_lines(lines, i, len(match.group("indent"))),
                      _python_library(match.group("path")), "py")  # fmt: skip
    return _Frame(1, _go_library(match.group("gopath")), "go")


def _python_frame_lines(lines: Sequence[str], i: int, indent: int) -> int:
    """The `File` line plus the source and caret lines indented under it (at most two)."""
    count = 1
    while count < 3 and i + count < len(lines):
        line = lines[i + count]
        body = line.lstrip()
        if not body or len(line) - len(body) <= indent or body.startswith('File "'):
            break
        count += 1
    return count


@lru_cache(maxsize=4096)
def _at_library(where: str) -> str:
    if "node_modules/" in where or "node_modules\\" in where:
        return "node_modules"
    if where.startswith(("node:", "internal/")) or any(m in where for m in _NODE_INTERNALS):
        return "node internals"
    java = _JAVA_TARGET.match(where)
    if java is None:
        return ""
    name = java.group("name")
    if "CGLIB$$" in name or name.startswith(("jdk.proxy", "com.sun.proxy.")):
        return "proxies"
    module = java.group("module")
    if module and module.startswith(("java.", "jdk.")):
        return module
    if not name.startswith(_LIBRARY_PACKAGES):
        return ""
    return ".".join(name.split(".")[:2])


def _python_library(path: str) -> str:
    if "site-packages" in path or "dist-packages" in path:
        return "site-packages"
    if _PYTHON_STDLIB.search(path):
        return "python stdlib"
    return ""


def _go_library(path_line: str) -> str:
    path = path_line.strip()
    if "/pkg/mod/" in path:
        return "go modules"
    if "/go/src/" in path or path.startswith(("/usr/local/go/", "/usr/lib/go")):
        return "runtime" if "/src/runtime/" in path else "go stdlib"
    return ""


__all__ = ["fold_traces"]
