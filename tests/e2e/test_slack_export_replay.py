"""A team's own Slack history, replayed: the hand-written export in tests/fixtures/slack_export
(three channels, a DM with the bot and one between two people, threads, a file share, bot
messages, an edited and a deleted message) → `chatops trace from-slack-export` → `chatops
replay` through the whole running system, with every event accounted for and joined to the
ledger rows it caused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from chatops.trace import load_trace
from tests.e2e.test_cli_ask import _chatops

EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "slack_export"


def _zip(tmp_path: Path) -> Path:
    path = tmp_path / "acme-export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(EXPORT.rglob("*.json")):
            archive.write(file, file.relative_to(EXPORT).as_posix())
    return path


@pytest.mark.slow
def test_a_converted_export_replays_with_every_event_accounted_for(tmp_path: Path) -> None:
    trace_path = tmp_path / "acme.jsonl"
    converted = _chatops(
        "trace", "from-slack-export", str(_zip(tmp_path)), "-o", str(trace_path), cwd=tmp_path
    )
    assert converted.returncode == 0, converted.stderr
    trace = load_trace(trace_path)
    events_out = tmp_path / "events.jsonl"

    replayed = _chatops(
        "replay",
        str(trace_path),
        "--json",
        "--events-out",
        str(events_out),
        cwd=tmp_path,
        timeout=240,
    )

    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["events"] == len(trace.events) == sum(report["outcomes"].values())
    assert report["outcomes"]["failed"] == report["outcomes"]["skipped"] == 0
    assert report["ledger_rows_unmatched"] == 0
    assert 0 < report["cost_usd"] < report["baseline_cost_usd"]

    rows = [json.loads(line) for line in events_out.read_text().splitlines()]
    assert [row["line"] for row in rows] == [line for line, _ in trace.numbered()]
    assert [row["slack_ts"] for row in rows] == [event.slack_ts for event in trace.events]
    for row in rows:
        if row["did"] == "answered":
            assert row["model"] and row["request_id"] and row["input_tokens"] > 0, row
            assert row["cost_usd"] is not None and row["replayed_naive_cost_usd"] is not None
    dm_thread = [r for r, e in zip(rows, trace.events, strict=True) if e.kind == "dm" and e.thread]
    assert [r["did"] for r in dm_thread] == ["answered", "answered"]
    assert all(r["request_id"].startswith("ev-D0ALICEBOT-") for r in dm_thread)

    found = report["break_even"]
    assert found["period_hours"] == pytest.approx(trace.events[-1].t / 3600, abs=0.01)
    assert found["model_call_tokens"] > 0 and found["bedrock_tiers"]
    assert found["ec2"]["always_on_usd"] > found["ec2"]["stopped_when_idle_usd"] > 0
    assert found["cheaper"] in ("bedrock", "ec2")
