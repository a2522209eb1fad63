"""Attached files as text: what reads as text whatever the file is called, how a file joins
the question, and the bot edge's file references."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.listeners.events.submit import attached_files
from chatops.payloads import MAX_FILES, FileRef
from gateway.compact import compact
from tests.long_inputs import binary_bytes, minified_json, service_log
from workers.attachments import AttachedText, as_text, escape_as_slack, question_with, size_text

GOLDEN = Path(__file__).parent / "compaction_inputs"
MARKUP_LOOKALIKES = (
    '<html><body class="x">a &amp; b &lt; c</body></html>\n<@U123> <https://x|y> &quot;',
    "if (a < b && c > d) {\n    return <T>cast(x);\n}\n",
    '<?xml version="1.0"?>\n<config><db host=\'a\' port="5432"/></config>\n',
    "2026-11-30 09:00:01 ERROR <#C123|ops> not a channel: &lt;escaped&gt; in a file\n" * 40,
)


def test_text_reads_as_text() -> None:
    log = service_log(5_000)
    assert as_text(log.encode()) == log
    assert as_text(codecs.BOM_UTF8 + "naïve café".encode()) == "naïve café"
    assert as_text("naïve café – ok".encode("utf-16")) == "naïve café – ok"
    # Windows tools still write cp1252.
    assert as_text("naïve café – ok".encode("cp1252")) == "naïve café – ok"
    coloured = "\x1b[31mERROR\x1b[0m deploy failed\r\n\tat step 3\f\n"
    assert as_text(coloured.encode()) == coloured
    assert as_text(b"") == ""


@pytest.mark.parametrize(
    "data",
    [
        binary_bytes(4_096),
        b"\x7fELF\x02\x01\x01" + binary_bytes(2_000),
        b"\x1f\x8b\x08\x00" + binary_bytes(2_000),  # gzip
        service_log(3_000).encode() + b"\x00" + service_log(3_000).encode(),
        bytes(range(1, 32)) * 100,  # controls, no NUL
    ],
    ids=["random", "elf", "gzip", "text with a NUL", "controls"],
)
def test_binary_never_reads_as_text(data: bytes) -> None:
    assert as_text(data) is None


def test_a_text_file_with_a_binary_tail_is_not_text() -> None:
    # Sniffed at both ends: a text header over a binary body is still binary.
    data = service_log(40_000).encode() + bytes(range(1, 9)) * 40_000
    assert as_text(data) is None


@pytest.mark.parametrize("budget", [None, 300])
@pytest.mark.parametrize(
    "text",
    [path.read_text(encoding="utf-8") for path in sorted(GOLDEN.glob("*.txt"))]
    + list(MARKUP_LOOKALIKES)
    + [minified_json(5_000).decode()],
)
def test_a_file_escaped_as_slack_compacts_as_a_file(text: str, budget: int | None) -> None:
    """The engine reads every turn as Slack text: a file's text escaped the way Slack escapes
    a message compacts to exactly what `compact(from_slack=False)` makes of the file."""
    as_file = compact(text, budget_tokens=budget, from_slack=False).text
    assert compact(escape_as_slack(text), budget_tokens=budget).text == as_file


def test_files_are_pasted_under_the_question() -> None:
    files = [AttachedText("a<b>.log", "x < y && z"), AttachedText("b.txt", "second")]
    assert question_with("why?", files) == (
        'why?\n\nAttached file "a&lt;b&gt;.log":\n\nx &lt; y &amp;&amp; z'
        '\n\nAttached file "b.txt":\n\nsecond'
    )
    assert question_with("", files[1:]) == 'Attached file "b.txt":\n\nsecond'
    assert question_with("why?", []) == "why?"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1_023, "1,023 bytes"),
        (1_048_576, "1,024 KB"),
        (2_000_000, "1,953 KB"),
        (10 * 1024 * 1024, "10.0 MB"),
    ],
)
def test_sizes_read_as_people_read_them(size: int, text: str) -> None:
    assert size_text(size) == text


def test_the_bot_edge_queues_file_ids_and_names_only() -> None:
    event = {
        "files": [
            {"id": "F1", "name": "app.log", "url_private": "https://files.slack.com/…"},
            {"id": "F2", "title": "Untitled snippet"},
            {"mode": "tombstone"},  # a deleted file: nothing to read
        ]
    }
    assert attached_files(event) == (
        FileRef(id="F1", name="app.log"),
        FileRef(id="F2", name="Untitled snippet"),
    )
    many = {"files": [{"id": f"F{n}", "name": f"{n}.log"} for n in range(MAX_FILES + 5)]}
    assert len(attached_files(many)) == MAX_FILES
    assert attached_files({"text": "no files"}) == ()
