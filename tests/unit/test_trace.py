"""The committed workload traces: they load, they say what the replay needs, the Jira issues
they name exist in the real emulator, and the generator reproduces them byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatops.trace import KINDS, Trace, dm_channel_for, load_trace
from sandbox.jira_store import JiraStore
from sandbox.slack_store import SlackStore

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "bench" / "traces"
NAMES = ("team-week", "smoke")
GENERATED = [f"{name}{suffix}" for name in NAMES for suffix in (".jsonl", ".jira.json")]

HEADER = {
    "trace": "tiny",
    "version": 1,
    "description": "",
    "users": {"U_ALICE": "alice"},
    "channels": {"C_OPS": "ops"},
    "jira_fixture": "tiny.jira.json",
}
ASK = {"t": 1, "kind": "ask", "user": "U_ALICE", "channel": "C_OPS", "text": "hi"}


@pytest.fixture(scope="module", params=NAMES)
def trace(request: pytest.FixtureRequest) -> Trace:
    return load_trace(TRACES / f"{request.param}.jsonl")


def test_every_kind_appears_in_both_traces(trace: Trace) -> None:
    assert all(trace.counts()[kind] > 0 for kind in KINDS)
    assert sum(trace.counts().values()) == len(trace.events)


def test_team_week_is_a_week_of_a_team() -> None:
    week = load_trace(TRACES / "team-week.jsonl")
    assert len(week.events) >= 1000
    assert len(week.header.users) >= 10
    assert week.events[-1].t > 6 * 86_400
    weekend = [e for e in week.events if e.t >= 5 * 86_400]
    assert 0 < len(weekend) < len(week.events) / 20


def test_smoke_uses_only_what_the_slack_emulator_is_seeded_with() -> None:
    smoke = load_trace(TRACES / "smoke.jsonl")
    assert set(smoke.header.users) == {"U_ALICE", "U_BOB", "U_CAROL"}
    assert set(smoke.header.channels) == {"C_GENERAL", "C_OPS"}
    assert smoke.events[-1].t <= 180


def test_jira_keys_exist_in_the_fixture_the_emulator_loads(trace: Trace) -> None:
    store = JiraStore()  # the Jira emulator's own loader, without a socket
    store.load(trace.jira_fixture)
    for event in trace.events:
        if event.kind == "summarize":
            assert store.issue(str(event.jira_key)).key == event.jira_key
        if event.kind == "digest":
            assert event.jira_key in store.projects
    for update in trace.jira_updates():
        assert store.issue(update.key).key == update.key


def test_summarized_issues_change_during_the_trace(trace: Trace) -> None:
    summarized = {e.jira_key for e in trace.events if e.kind == "summarize"}
    assert {u.key for u in trace.jira_updates()} & summarized


def test_thread_labels_are_used_consistently(trace: Trace) -> None:
    starts: dict[str, tuple[float, str]] = {}
    for event in trace.events:
        if event.thread is None:
            continue
        if event.thread not in starts:
            assert event.kind in ("ask", "mention")
            starts[event.thread] = (event.t, event.channel)
            continue
        started_at, channel = starts[event.thread]
        assert event.kind == "mention"
        assert event.channel == channel
        assert event.t > started_at
    replies = [e.thread for e in trace.events if e.thread]
    assert len(replies) > len(starts) > 0


def test_dm_channels_are_named_as_the_slack_emulator_opens_them() -> None:
    store = SlackStore(stream_lifetime_s=1.0, team_id="T_DEMO")
    assert store.dm_channel("U_DAVE") == dm_channel_for("U_DAVE") == "D_DAVE"


def _write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return path


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({**ASK, "text": None}, r"line 3: field 'text' is required for kind 'ask'"),
        ({**ASK, "period": "7d"}, r"line 3: field 'period' is not allowed for kind 'ask'"),
        ({**ASK, "kind": "page"}, r"line 3: field 'kind': Input should be"),
        ({**ASK, "t": 0.5}, r"line 3: field 't': 0.5 is earlier"),
        ({**ASK, "user": "U_MALLORY"}, r"line 3: field 'user': U_MALLORY is not in"),
        ({**ASK, "kind": "dm"}, r"line 3: field 'channel' of a dm must be D_ALICE"),
        ({**ASK, "kind": "summarize", "text": None, "jira_key": "DEMO"}, r"line 3: field 'jira_k"),
        ({**ASK, "thread": "th-0001"}, r"line 3: field 'thread': th-0001 has already started"),
        ("{not json", r"line 3: not valid JSON"),
    ],
)
def test_a_bad_line_is_named_with_its_field(
    tmp_path: Path, bad: dict[str, object] | str, expected: str
) -> None:
    first = {**ASK, "thread": "th-0001"}
    bad = {k: v for k, v in bad.items() if v is not None} if isinstance(bad, dict) else bad
    with pytest.raises(ValueError, match=expected):
        load_trace(_write(tmp_path, HEADER, first, bad))


def test_a_bad_header_is_line_1(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tiny.jsonl line 1: field 'version'"):
        load_trace(_write(tmp_path, {**HEADER, "version": 3}, ASK))


# -- version 2: what a converted Slack export needs --------------------------------------------

V2_HEADER = {
    "trace": "tiny",
    "version": 2,
    "description": "",
    "users": {"U024BE7LH": "alice", "W0DAVE004": "dave"},
    "channels": {"C024BE91L": "ops"},
    "dm_channels": {"D0ALICEBOT": "U024BE7LH"},
    "text_format": "slack",
    "started_at": "2026-11-02T09:00:00Z",
}
DM = {"t": 1, "kind": "dm", "user": "U024BE7LH", "channel": "D0ALICEBOT", "text": "hi"}


def test_version_2_holds_dm_threads_real_dm_ids_and_escaped_text(tmp_path: Path) -> None:
    lines = [
        V2_HEADER,
        {**DM, "thread": "th-0001", "slack_ts": "1793610800.000100"},
        {**DM, "t": 2, "thread": "th-0001", "text": "and &lt;next&gt; week?"},
        {"t": 3, "kind": "mention", "user": "W0DAVE004", "channel": "C024BE91L", "text": "x"},
    ]
    trace = load_trace(_write(tmp_path, *lines))

    assert trace.jira_fixture is None and trace.jira_updates() == ()
    assert [e.thread for e in trace.events[:2]] == ["th-0001", "th-0001"]
    assert trace.events[1].text == "and &lt;next&gt; week?"
    assert trace.events[0].slack_ts == "1793610800.000100"
    assert trace.dm_channels()["D0ALICEBOT"] == "U024BE7LH"
    assert trace.header.started_at is not None and trace.header.started_at.tzinfo is not None


@pytest.mark.parametrize(
    ("header", "lines", "expected"),
    [
        (V2_HEADER, [{**DM, "channel": "D_ALICE"}], r"line 2: field 'channel' of a dm must be D0A"),
        (
            V2_HEADER,
            [
                {**DM, "thread": "th-0001"},
                {**DM, "t": 2, "thread": "th-0001", "kind": "mention", "channel": "C024BE91L"},
            ],
            r"line 3: field 'thread': th-0001 .* dm",
        ),
        (
            V2_HEADER,
            [
                {
                    **ASK,
                    "user": "U024BE7LH",
                    "channel": "C024BE91L",
                    "kind": "summarize",
                    "text": None,
                    "jira_key": "OPS-1",
                }
            ],
            r"line 2: field 'jira_key': the header names no",
        ),
        ({**V2_HEADER, "dm_channels": {"D0X": "U_NOBODY"}}, [DM], r"line 1: .*'U_NOBODY'"),
        ({**HEADER, "dm_channels": {"D_ALICE": "U_ALICE"}}, [ASK], r"line 1: .*needs version 2"),
        ({**HEADER, "jira_fixture": None}, [ASK], r"line 1: field 'jira_fixture' is required"),
        (HEADER, [{**ASK, "slack_ts": "1.2"}], r"line 2: field 'slack_ts' is not allowed"),
        (
            HEADER,
            [{**ASK, "kind": "dm", "channel": "D_ALICE", "thread": "th-0001"}],
            r"line 2: field 'thread' is not allowed for kind 'dm'",
        ),
    ],
)
def test_version_2_rules_and_version_1_stays_as_it_was(
    tmp_path: Path, header: dict[str, object], lines: list[dict[str, object]], expected: str
) -> None:
    def clean(line: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in line.items() if v is not None}

    with pytest.raises(ValueError, match=expected):
        load_trace(_write(tmp_path, clean(header), *map(clean, lines)))


def test_events_keep_their_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, ASK, "", {**ASK, "t": 2})
    assert [line for line, _ in load_trace(path).numbered()] == [2, 4]


def test_the_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_traces.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (TRACES / name).read_bytes(), name
