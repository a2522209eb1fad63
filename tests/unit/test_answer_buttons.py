"""The buttons under an answer: which are offered, what they carry, what an answer keeps for a
click, how a re-answer takes over the earlier answer's messages, and how the bot reads a
click (never calling a model)."""

from __future__ import annotations

import json
from typing import Any

import fakeredis
import pytest

from bot.listeners.actions.answer_buttons import click_job
from chatops.payloads import ANSWER_ACTIONS, AnswerJob
from gateway.router import TIERS
from workers.answer_buttons import AnswerContext, Redo, buttons, kept, offered
from workers.reply_state import ReplyState

JOB = AnswerJob(
    request_id="ask-1",
    kind="ask",
    team_id="T1",
    channel="C1",
    user="U1",
    text="--explain why does the [redacted password] rotation fail?",
    received_at=1.0,
)


@pytest.mark.parametrize(
    ("tier", "cache_kind", "expected"),
    [
        ("small", "", ("not_helpful", "again_large")),
        ("medium", "exact", ("not_helpful", "again_large", "fresh")),
        ("medium", "flight", ("not_helpful", "again_large")),  # written just now
        ("large", "semantic", ("fresh",)),
        ("large", "", ()),  # nothing above the largest tier, nothing cached
    ],
)
def test_the_buttons_offered(tier: str, cache_kind: str, expected: tuple[str, ...]) -> None:
    assert offered(AnswerContext(JOB, tier, cache_kind), TIERS) == expected


def test_each_button_names_the_answered_request() -> None:
    [block] = buttons("ask-1", AnswerContext(JOB, "medium", "exact"), TIERS)

    assert block["type"] == "actions"
    assert [e["action_id"] for e in block["elements"]] == list(ANSWER_ACTIONS)
    assert {json.loads(e["value"])["request"] for e in block["elements"]} == {"ask-1"}
    assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])  # Slack's limit
    assert buttons("ask-1", AnswerContext(JOB, "large"), TIERS) == []


def test_an_answer_keeps_its_request_for_a_click() -> None:
    state = ReplyState(fakeredis.FakeRedis(), "ask-1")
    state.keep_context(AnswerContext(JOB, "medium", "exact").to_json())

    again = kept(ReplyState(state._client, "ask-1"))
    assert again == AnswerContext(JOB, "medium", "exact")
    assert again.job.text == JOB.text  # as redacted at the edge, options and all


def test_an_unreadable_context_is_nothing_kept() -> None:
    state = ReplyState(fakeredis.FakeRedis(), "ask-1")
    state.keep_context('{"job": {"request_id": 3}}')
    assert kept(ReplyState(state._client, "ask-1")) is None


def test_a_re_answer_takes_over_the_earlier_messages_once() -> None:
    client = fakeredis.FakeRedis()
    redo = Redo("100.1", ("100.2", "100.3"), tier="large")

    state = ReplyState(client, "again-1")
    redo.seed(state)
    assert (state.root_ts, state.message_ts) == ("100.1", ["100.2", "100.3"])

    retried = ReplyState(client, "again-1")  # the job's retry: already seeded, unchanged
    retried.add_message("100.9")
    redo.seed(retried)
    assert ReplyState(client, "again-1").message_ts == ["100.2", "100.3", "100.9"]


def click(action_id: str, value: str, action_ts: str = "1700000000.000100") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U2"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "message": {"ts": "100.2", "thread_ts": "100.1"},
        "response_url": "https://hooks.example/response/1",
        "actions": [{"action_id": action_id, "value": value, "action_ts": action_ts}],
    }


def test_a_click_becomes_one_job_per_press() -> None:
    value = json.dumps({"request": "ask-1"})
    job = click_job(click("answer_again_large", value), now=5.0)

    assert job is not None
    assert (job.action, job.answered, job.user) == ("again_large", "ask-1", "U2")
    assert (job.channel, job.message_ts, job.thread_ts) == ("C1", "100.2", "100.1")
    assert job.job_id.replace("-", "_").replace("_", "").isalnum()
    # Slack's retry of the same delivery is the same press; a second press is another.
    assert click_job(click("answer_again_large", value), now=6.0).request_id == job.request_id
    other = click_job(click("answer_again_large", value, "1700000009.000100"), now=6.0)
    assert other is not None and other.request_id != job.request_id


@pytest.mark.parametrize("value", ["", "not json", json.dumps({"key": "OPS-1"}), "[]"])
def test_a_value_that_is_not_ours_is_no_job(value: str) -> None:
    assert click_job(click("answer_fresh", value), now=5.0) is None
