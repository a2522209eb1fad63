"""`chatops replay` as a person runs it: a small trace through the whole system, twice (with
the levers, then the naive way), reported as one JSON object."""

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
    {"t": 15, "kind": "summarize", "user": "U_DANA", "channel": "C_PLATFORM", "jira_key": "DEMO-1"},
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
    assert report["handled"] == {"ask": 2, "mention": 1, "dm": 1, "cost": 1}
    assert report["skipped"] == {"summarize": 1, "digest": 1}
    assert (report["failed"], report["refused"]) == (0, 0)
    assert report["model_calls"] == 4
    assert report["baseline_replayed"] is True
    assert 0 < report["cost_usd"] < report["baseline_cost_usd"]
    assert set(report["savings_by_lever"]) == set(LEVER_NAMES)
    saved_in_ledger = report["ledger_baseline_usd"] - report["cost_usd"]
    assert sum(report["savings_by_lever"].values()) == pytest.approx(saved_in_ledger, abs=1e-6)
    # The replayed naive run and the ledger's counterfactual price the same tokens.
    assert report["baseline_cost_usd"] == pytest.approx(report["ledger_baseline_usd"], rel=0.05)
    assert report["latency_ms"]["ack"]["n"] == 5
