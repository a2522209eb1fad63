"""`chatops trace from-slack-export`: a small hand-written Slack export (tests/fixtures/
slack_export: three channels, a DM with the bot and one between two people, threads, a file
share, bot messages, an edited and a deleted message) becomes a trace the replay accepts, with
every message of the export accounted for."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.slack_export import ExportOptions, convert, is_question, parse_since
from chatops.trace import Trace, TraceEvent, load_trace

EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "slack_export"
BOT = "U0CHATOPS"


def _zip(tmp_path: Path, prefix: str = "") -> Path:
    """The fixture as Slack hands it over: one zip (some tools put a folder at its top)."""
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(EXPORT.rglob("*.json")):
            archive.write(file, prefix + file.relative_to(EXPORT).as_posix())
    return path


def _messages_in_fixture() -> list[dict[str, object]]:
    days = [p for p in EXPORT.rglob("*.json") if p.parent != EXPORT]
    return [m for day in days for m in json.loads(day.read_text(encoding="utf-8"))]


def _convert(tmp_path: Path, **options: object) -> tuple[Trace, dict[str, int]]:
    conversion = convert(_zip(tmp_path), "acme", ExportOptions(**options))  # type: ignore[arg-type]
    path = tmp_path / "acme.jsonl"
    conversion.write(path)
    assert conversion.summary.is_complete
    skipped = dict(conversion.summary.skipped)
    return load_trace(path), skipped


def _texts(trace: Trace, kind: str | None = None) -> list[str]:
    return [str(e.text) for e in trace.events if kind in (None, e.kind)]


def _by_slack_ts(trace: Trace, ts: str) -> TraceEvent:
    return next(e for e in trace.events if e.slack_ts == ts)


def test_every_message_of_the_export_is_an_event_or_a_counted_skip(tmp_path: Path) -> None:
    conversion = convert(_zip(tmp_path), "acme")
    summary = conversion.summary

    assert summary.messages == len(_messages_in_fixture())
    assert summary.is_complete
    assert sum(summary.events.values()) == len(conversion.events)
    assert summary.bot == BOT
    assert summary.skipped["bot message"] == 1  # deploybot
    assert summary.skipped["the bot's own message"] == 4  # its answers
    assert summary.skipped["join or leave"] == 2
    assert summary.skipped["edit notice (message_changed)"] == 1
    assert summary.skipped["deletion notice (message_deleted)"] == 1
    assert summary.skipped["deleted"] == 2  # the deleted message, the thread root's tombstone
    assert summary.skipped["file without text"] == 1
    assert summary.skipped["DM not with the bot"] == 1
    assert summary.notes["file shared (replayed by its text)"] == 1


def test_mentions_asks_and_dms_keep_slack_ids_and_text_as_delivered(tmp_path: Path) -> None:
    trace, _ = _convert(tmp_path)

    assert trace.header.version == 2 and trace.header.text_format == "slack"
    assert set(trace.header.channels) == {"C0GENERAL1", "C0OPS0002", "C0PLATFRM"}
    assert trace.header.dm_channels == {"D0ALICEBOT": "U0ALICE01"}
    assert "W0DAVE004" in trace.header.users and BOT not in trace.header.users
    assert not any(BOT in text for text in _texts(trace))  # the replay adds its own mention
    escaped = _by_slack_ts(trace, "1793610700.001100")
    assert escaped.kind == "ask" and "&amp;&amp;" in str(escaped.text)
    assert "&lt;v1.2.3&gt;" in str(escaped.text)
    dm = _by_slack_ts(trace, "1793611000.000400")
    assert (dm.kind, dm.channel, dm.text) == (
        "dm",
        "D0ALICEBOT",
        "what does &lt;!here&gt; do in an alert message?",
    )
    trailing = _by_slack_ts(trace, "1793610120.000300")
    assert trailing.kind == "ask" and str(trailing.text).endswith("? ")


def test_threads_follow_their_root_and_dms_keep_their_threads(tmp_path: Path) -> None:
    trace, _ = _convert(tmp_path)
    threads: dict[str, list[TraceEvent]] = {}
    for event in trace.events:
        if event.thread:
            threads.setdefault(event.thread, []).append(event)

    kinds = sorted(tuple(e.kind for e in events) for events in threads.values())
    assert kinds == [
        ("ask", "mention"),  # the bot's "asked:" root, and a follow-up to it
        ("dm", "dm"),  # a DM thread
        ("mention", "mention"),  # a mention inside people's own thread starts one
        ("mention", "mention", "mention"),  # a mention and its replies ("thanks" included)
    ]
    asked = _by_slack_ts(trace, "1793610400.000700")
    assert (asked.user, asked.text) == (
        "U0BOB0002",
        "What's the process for changing the staging database password?",
    )


def test_edits_replay_the_last_text_and_deletions_are_left_out(tmp_path: Path) -> None:
    trace, _ = _convert(tmp_path)
    assert "who is on call for platform this week?" in _texts(trace)
    assert not any("weak" in text or "credentials" in text for text in _texts(trace))
    assert "why does this terraform plan want to replace the cluster?" in _texts(trace, "mention")


def test_times_are_seconds_from_the_first_event(tmp_path: Path) -> None:
    trace, _ = _convert(tmp_path)
    first = Decimal(str(trace.events[0].slack_ts))
    assert trace.events[0].t == 0
    for event in trace.events:
        assert event.t == float(round(Decimal(str(event.slack_ts)) - first, 3))
    assert trace.header.started_at is not None
    assert trace.header.started_at.timestamp() == pytest.approx(float(first))


def test_a_zip_with_a_folder_at_its_top_and_the_unzipped_folder_convert_alike(
    tmp_path: Path,
) -> None:
    zipped = convert(_zip(tmp_path), "acme")
    nested = tmp_path / "nested"
    nested.mkdir()
    in_folder = convert(_zip(nested, prefix="acme-export/"), "acme")
    unzipped = convert(EXPORT, "acme")
    assert zipped.events == in_folder.events == unzipped.events


def test_channels_dms_since_bot_and_questions_options(tmp_path: Path) -> None:
    ops, _ = _convert(tmp_path, channels=frozenset({"ops"}))
    assert {e.channel for e in ops.events} == {"C0OPS0002", "D0ALICEBOT"}
    no_dms, _ = _convert(tmp_path, dms=False)
    assert not any(e.kind == "dm" for e in no_dms.events)
    second_day = min(p.stem for p in (EXPORT / "platform").glob("*.json"))
    since, skipped = _convert(tmp_path, since=parse_since(second_day))
    assert {e.channel for e in since.events} == {"C0PLATFRM"}
    assert skipped["before --since"] > 0 and since.events[0].t == 0
    mentions_only, _ = _convert(tmp_path, questions=False, bot="chatops")
    asks = [e for e in mentions_only.events if e.kind == "ask"]
    assert [e.slack_ts for e in asks] == ["1793610400.000700"]  # the bot's own root only


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (ExportOptions(channels=frozenset({"nowhere"})), r"--channels: no conversation named"),
        (ExportOptions(bot="nobody"), r"--bot: no user 'nobody'"),
        (ExportOptions(since=parse_since("2999-01-01")), r"none of its 31 messages would have"),
    ],
)
def test_options_that_match_nothing_say_so(
    tmp_path: Path, options: ExportOptions, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        convert(_zip(tmp_path), "acme", options)


def test_what_is_not_an_export_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a Slack export"):
        convert(tmp_path, "x")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "users.json").write_text("[{")
    with pytest.raises(ValueError, match=r"users.json: not valid JSON"):
        convert(broken, "x")


def test_question_heuristic() -> None:
    assert is_question("what's the wifi password")
    assert is_question("the deploy failed, any idea why?")
    assert not is_question("Lunch at noon, anyone up for it")
    assert not is_question("Good morning all")


def test_the_command_writes_a_trace_and_counts_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ours.jsonl"
    assert main(["trace", "from-slack-export", str(_zip(tmp_path)), "-o", str(out)]) == 0

    trace = load_trace(out)
    err = capsys.readouterr().err
    counts = Counter(e.kind for e in trace.events)
    assert f"wrote {len(trace.events)} events" in err
    assert f"{counts['mention']} mention" in err and "1 DM not with the bot" in err


def test_the_command_names_a_bad_option_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["trace", "from-slack-export", str(_zip(tmp_path)), "--channels", "#nowhere"]
    assert main([*argv, "-o", str(tmp_path / "t.jsonl")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "chatops: --channels: no conversation named 'nowhere' in the export"
    ]
    assert not (tmp_path / "t.jsonl").exists()
