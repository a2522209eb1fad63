"""`chatops replay` as a person runs it: a small trace through the whole system, twice (with
the levers, then the naive way), reported as one JSON object; every event's outcome, joined
with the ledger rows its request wrote (`--events-out`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.levers import LEVER_NAMES
from tests.e2e.test_cli_ask import _chatops

FIXTURES = Path(__file__).resolve().parents[2] / "bench" / "traces"
HEADER = {
    "trace": "tiny",
    "version": 1,
    "description": "every kind once, a thread, a repeat",
    "users": {"U_ALICE": "alice", "U_DANA": "dana"},
    "channels": {"C_OPS": "ops", "C_PLATFORM": "platform"},
    "jira_fixture": "tiny.jira.json",
}
EVENTS = [
    {
        "t": 0,
        "kind": "ask",
        "user": "U_ALICE",
        "channel": "C_OPS",
        "text": "How do I rotate the DB password?",
        "thread": "th-0001",
    },
    {
        "t": 5,
        "kind": "mention",
        "user": "U_DANA",
        "channel": "C_OPS",
        "text": "and for production?",
        "thread": "th-0001",
    },
    {
        "t": 9,
        "kind": "ask",
        "user": "U_ALICE",
        "channel": "C_OPS",
        "text": "How do I rotate the DB password?",
    },
    {"t": 12, "kind": "dm", "user": "U_DANA", "channel": "D_DANA", "text": "who is on call?"},
    {
        "t": 15,
        "kind": "summarize",
        "user": "U_DANA",
        "channel": "C_PLATFORM",
        "jira_key": "OPS-120",
    },
    {"t": 20, "kind": "digest", "user": "U_DANA", "channel": "C_PLATFORM", "jira_key": "DEMO"},
    {"t": 30, "kind": "cost", "user": "U_ALICE", "channel": "C_OPS", "period": "today"},
]


@pytest.mark.slow
def test_replay_reports_cost_against_a_replayed_baseline(tmp_path: Path) -> None:
    trace = tmp_path / "tiny.jsonl"
    trace.write_text("\n".join(json.dumps(line) for line in [HEADER, *EVENTS]) + "\n")
    (tmp_path / "tiny.jira.json").write_text((FIXTURES / "smoke.jira.json").read_text())

    result = _chatops("replay", str(trace), "--json", cwd=tmp_path, timeout=240)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["events"] == 7
    assert report["handled"] == {
        "ask": 2,
        "mention": 1,
        "dm": 1,
        "summarize": 1,
        "digest": 1,
        "cost": 1,
    }
    assert report["skipped"] == {}
    assert (report["failed"], report["refused"]) == (0, 0)
    assert report["model_calls"] == 6  # a short issue's summary, a one-issue digest
    assert report["baseline_replayed"] is True
    assert 0 < report["cost_usd"] < report["baseline_cost_usd"]
    assert set(report["savings_by_lever"]) == set(LEVER_NAMES)
    saved_in_ledger = report["ledger_baseline_usd"] - report["cost_usd"]
    assert sum(report["savings_by_lever"].values()) == pytest.approx(saved_in_ledger, abs=1e-6)
    # The replayed naive run and the ledger's counterfactual price the same tokens.
    assert report["baseline_cost_usd"] == pytest.approx(report["ledger_baseline_usd"], rel=0.05)
    assert report["latency_ms"]["ack"]["n"] == 7


# Ways the bot finishes without an answer: each is an outcome at once, never a timeout.
NOT_ANSWERS = [
    # /ask with a trailing space: the bot's root quotes it stripped.
    {"t": 0, "kind": "ask", "user": "U_ALICE", "channel": "C_OPS", "text": "who is on call? "},
    # Too long: refused in the slash command's acknowledgement, before anything is queued.
    {"t": 1, "kind": "ask", "user": "U_ALICE", "channel": "C_OPS", "text": "x" * 40_001},
    # A mention with nothing in it: the usage line, in the thread.
    {"t": 2, "kind": "mention", "user": "U_DANA", "channel": "C_OPS", "text": " "},
    # Too long for a mention: refused in the thread.
    {"t": 3, "kind": "mention", "user": "U_DANA", "channel": "C_OPS", "text": "y" * 40_001},
    {"t": 4, "kind": "summarize", "user": "U_DANA", "channel": "C_PLATFORM", "jira_key": "DEMO-1"},
]


@pytest.mark.slow
def test_refusals_and_notices_are_outcomes_and_every_event_joins_the_ledger(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "tiny.jsonl"
    trace.write_text("\n".join(json.dumps(line) for line in [HEADER, *NOT_ANSWERS]) + "\n")
    (tmp_path / "tiny.jira.json").write_text((FIXTURES / "smoke.jira.json").read_text())
    events_out = tmp_path / "events.jsonl"

    result = _chatops(
        "replay",
        str(trace),
        "--levers",
        "none",
        "--json",
        "--events-out",
        str(events_out),
        cwd=tmp_path,
        timeout=110,  # a single 120-second wait would fail this
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outcomes"] == {
        "answered": 1,
        "cached": 0,
        "no call": 1,
        "refused": 3,
        "failed": 0,
        "skipped": 0,
    }
    assert report["ledger_rows_unmatched"] == 0
    rows = [json.loads(line) for line in events_out.read_text().splitlines()]
    assert [row["line"] for row in rows] == [2, 3, 4, 5, 6]
    # DEMO-1 is not in the trace's Jira: "DEMO-1 was not found, or I can't see it."
    assert [row["did"] for row in rows] == ["answered", "refused", "no call", "refused", "refused"]
    answered = rows[0]
    assert answered["request_id"].startswith("ask-") and answered["model"]
    assert answered["input_tokens"] > 0 and answered["cost_usd"] > 0 and answered["tier"]
    assert answered["total_ms"] >= answered["first_visible_ms"] > 0
    assert [row["model_calls"] for row in rows] == [1, 0, 0, 0, 0]
    assert rows[2]["request_id"].startswith("ev-C_OPS-") and rows[4]["request_id"].startswith(
        "sum-"
    )
    # No progress line: stderr is not a terminal here.
    assert "events ·" not in result.stderr
