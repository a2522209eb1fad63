"""How a replay sees the bot finish each request, and how each trace event joins the ledger
rows its request wrote: every event has exactly one outcome, refusals and notices end a wait
at once, a root is found however the bot trims the question it quotes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chatops import messages
from chatops.replay import EventResult, RunResult
from chatops.replay_audit import DID, did, event_rows, outcome_counts
from chatops.replay_watch import Sight, Watcher, root_key, shown_as
from chatops.trace import load_trace
from gateway.ledger import LedgerRecord
from sandbox.slack_store import EPHEMERAL_POSTED, MESSAGE_POSTED, STREAM_STOPPED

HEADER = {
    "trace": "tiny",
    "version": 1,
    "description": "",
    "users": {"U_ALICE": "alice"},
    "channels": {"C_OPS": "ops"},
    "jira_fixture": "tiny.jira.json",
}


def _row(request_id: str, **fields: Any) -> LedgerRecord:
    base: dict[str, Any] = {
        "request_id": request_id,
        "at": time.time(),
        "source": "slash",
        "user": "U_ALICE",
        "channel": "C_OPS",
        "workspace": "T_DEMO",
        "task": "ask",
        "backend": "bedrock",
        "model": "amazon.nova-micro-v1:0",
        "tier": "small",
        "tier_reason": "short question",
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost_micro_usd": 7,
        "baseline_micro_usd": 600,
        "baseline_model": "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "ttft_ms": 30,
        "total_ms": 90,
    }
    return LedgerRecord(**(base | fields))


# -- what the person saw -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (messages.REFUSED.format(reason="That is too long for me to read in one go."), "refusal"),
        (messages.NOTICE.format(text=messages.MENTION_USAGE), "notice"),
        ("\n\n" + messages.NOTICE.format(text=messages.MENTION_USAGE), "notice"),  # as finished
        (
            messages.NOTICE.format(text=messages.QUESTION_TOO_LONG.format(length=9, limit=8)),
            "refusal",
        ),
        (messages.JOB_FAILED.format(reason="x", error_id="ab12"), "failure"),
        (messages.ASK_USAGE, "notice"),  # a slash command acknowledged with its usage line
        (messages.BUSY, "failure"),
        (messages.COST_NOT_ALLOWED, "refusal"),
    ],
)
def test_what_a_finished_message_is(text: str, shown: str) -> None:
    assert shown_as(text) == shown


@pytest.mark.parametrize(
    "asked",
    [
        "How do I rotate the DB password? ",  # a trailing space the bot strips
        "How do I rotate the DB password?\u200b",  # an invisible character
        "How do I   rotate the DB password?",  # spacing
        "How do I rotate the DB password?" + " and more" * 80,  # cut in the root at 500
    ],
)
def test_a_root_is_matched_however_the_bot_writes_the_question(asked: str) -> None:
    posted = messages.root_message("U_ALICE", " ".join(asked.split()))
    assert root_key(posted) == root_key(messages.root_message("U_ALICE", asked))
    assert root_key(posted) != root_key(messages.root_message("U_BOB", asked))


class _Slack:
    def __init__(self) -> None:
        self.on_change: list[Any] = []

    def emit(self, event: str, channel: str, message: dict[str, Any]) -> None:
        for hook in self.on_change:
            hook(event, channel, message)


def _bot(text: str, ts: str, thread: str | None = None, streaming: bool = False) -> dict[str, Any]:
    return {
        "bot_id": "B_CHATOPS",
        "text": text,
        "ts": ts,
        "thread_ts": thread,
        "streaming": streaming,
        "edits": [(time.time(), text)],
    }


def test_the_watcher_sees_every_way_the_bot_finishes() -> None:
    slack = _Slack()
    watcher = Watcher(slack)  # type: ignore[arg-type]
    slack.emit(MESSAGE_POSTED, "C_OPS", _bot(messages.root_message("U_ALICE", "hi"), "1.1"))
    notice = "\n\n" + messages.NOTICE.format(text=messages.ASK_USAGE)  # a reply's last words
    slack.emit(STREAM_STOPPED, "C_OPS", _bot(notice, "1.2", thread="1.1"))
    secret = messages.SECRETS_REMOVED.format(what="an AWS key", them="it")
    slack.emit(EPHEMERAL_POSTED, "C_OPS", {"user": "U_ALICE", "text": secret, "ts": "1.3"})
    slack.emit(
        EPHEMERAL_POSTED, "C_OPS", {"user": "U_ALICE", "text": messages.NOT_IN_CHANNEL, "ts": "1.4"}
    )
    slack.emit(
        "reaction_added",
        "C_OPS",
        {
            "user": "U_BOB",
            "text": "thanks",
            "ts": "1.5",
            "reactions": [{"name": "heart", "count": 1}],
        },
    )

    assert watcher.claim_root("C_OPS", root_key(messages.root_message("U_ALICE", "hi "))) == "1.1"
    reply = watcher.reply("C_OPS", "1.1", 0)
    assert reply is not None and reply.shown == "notice"
    private = watcher.ephemeral("C_OPS", "U_ALICE", 0)  # the secrets notice is on the way
    assert private is not None and (private.shown, private.text) == (
        "refusal",
        messages.NOT_IN_CHANNEL,
    )
    reaction = watcher.reaction("C_OPS", "1.5")
    assert reaction is not None and reaction.shown == "reaction"


def test_a_wait_ends_when_the_bot_says_it_is_done_without_showing_anything() -> None:
    watcher = Watcher(_Slack())  # type: ignore[arg-type]
    started = time.monotonic()
    found = watcher.wait(lambda: None, 30, poll=lambda: Sight("nothing"))
    assert isinstance(found, Sight) and found.shown == "nothing"
    assert time.monotonic() - started < 5


def test_a_wait_wakes_on_the_hook_not_on_a_timer() -> None:
    slack = _Slack()
    watcher = Watcher(slack)  # type: ignore[arg-type]
    later = threading.Timer(
        0.05,
        slack.emit,
        (STREAM_STOPPED, "C_OPS", _bot(messages.REFUSED.format(reason="no"), "2.2", thread="2.1")),
    )
    later.start()
    found = watcher.wait(lambda: watcher.reply("C_OPS", "2.1", 0), 30)
    later.join()
    assert found is not None and found.shown == "refusal"


# -- outcomes and the ledger join ------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "rows", "expected"),
    [
        ("answer", [_row("r")], "answered"),
        ("answer", [_row("r", cache_hit=True, cost_micro_usd=0)], "cached"),
        ("refusal", [], "refused"),
        ("failure", [_row("r")], "failed"),  # a stream cut after the call: failed, still paid
        ("timeout", [], "failed"),
        ("notice", [], "no call"),
        ("reaction", [], "no call"),
        ("nothing", [], "no call"),
        ("chart", [], "answered"),
    ],
)
def test_what_the_bot_did(shown: str, rows: list[LedgerRecord], expected: str) -> None:
    assert did(EventResult(shown=shown, request_id="r"), rows) == expected  # type: ignore[arg-type]
    assert did(None, []) == "skipped"


def test_each_event_joins_its_own_ledger_rows(tmp_path: Path) -> None:
    events = [
        {"t": 0, "kind": "ask", "user": "U_ALICE", "channel": "C_OPS", "text": "a"},
        {"t": 1, "kind": "summarize", "user": "U_ALICE", "channel": "C_OPS", "jira_key": "OPS-1"},
        {"t": 2, "kind": "ask", "user": "U_ALICE", "channel": "C_OPS", "text": "a"},
        {"t": 3, "kind": "mention", "user": "U_ALICE", "channel": "C_OPS", "text": "thanks"},
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in [HEADER, *events]) + "\n\n")
    trace = load_trace(path)
    run = RunResult(
        "all",
        results=[
            EventResult("answer", "ask-1", 0.01, 0.2, 0.3),
            None,
            EventResult("answer", "ask-2", 0.01, 0.05, 0.06),
            EventResult("reaction", "ev-C_OPS-9.1", 0.01, None, 0.02),
        ],
    )
    run.records = [
        _row("ask-1", cache_write_tokens=900),
        _row("ask-2", cache_hit=True, cost_micro_usd=0, input_tokens=0, output_tokens=0),
        _row("ask-stray"),
    ]
    naive = RunResult(
        "none",
        results=[
            EventResult("answer", "ask-n1"),
            None,
            EventResult("answer", "ask-n2"),
            EventResult("answer", "x"),
        ],
    )
    naive.records = [_row("ask-n1", cost_micro_usd=650), _row("ask-n2", cost_micro_usd=640)]

    rows = event_rows(trace, run, naive)

    assert [r["line"] for r in rows] == [2, 3, 4, 5]
    assert [r["did"] for r in rows] == ["answered", "skipped", "cached", "no call"]
    first = rows[0]
    assert (first["request_id"], first["model"], first["tier"], first["tier_reason"]) == (
        "ask-1",
        "amazon.nova-micro-v1:0",
        "small",
        "short question",
    )
    assert (first["cost_usd"], first["naive_cost_usd"], first["replayed_naive_cost_usd"]) == (
        7e-6,
        600e-6,
        650e-6,
    )
    assert (first["cache"], first["cache_write_tokens"], first["model_calls"]) == (
        "prompt write",
        900,
        1,
    )
    assert (first["ack_ms"], first["first_visible_ms"], first["total_ms"]) == (10, 200, 300)
    assert (rows[2]["cache"], rows[2]["model_calls"]) == ("response", 0)
    assert rows[3]["cost_usd"] is None and rows[3]["model"] is None

    counts = outcome_counts(trace, run)
    assert sum(counts["outcomes"].values()) == len(trace.events)
    assert list(counts["outcomes"]) == list(DID)
    assert counts["ledger_rows_unmatched"] == 1  # ask-stray joined no event
