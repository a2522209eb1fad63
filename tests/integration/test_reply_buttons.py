"""Buttons under an answer through the real slack_sdk client and the Slack emulator: they go
with `chat.stopStream` when the answer streamed, with the final `chat.update` when Slack
refused streaming or the stream expired — the text a person reads unchanged either way — and
a re-answer over the same message replaces both the text and the old buttons."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from slack_sdk import WebClient

from sandbox.server import Fault
from sandbox.slack import SlackEmulator
from workers.reply_state import ReplyState
from workers.slack_reply import SlackReply

CHANNEL = "C_OPS"
BUTTONS = [
    {
        "type": "actions",
        "block_id": "answer_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "answer_not_helpful",
                "text": {"type": "plain_text", "text": "Not helpful"},
                "value": '{"request": "r1"}',
            }
        ],
    }
]
ANSWER = ["Rotate ", "the password ", "with `vault write`."]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def _reply(slack: SlackEmulator, redis_url: str, root: str, request_id: str) -> SlackReply:
    return SlackReply(
        WebClient(token="xoxb-test", base_url=f"{slack.url}/api/"),
        ReplyState(redis.Redis.from_url(redis_url), request_id),
        channel=CHANNEL,
        thread_ts=lambda: root,
        recipient_user="U_ALICE",
        recipient_team="T_DEMO",
        flush_interval_s=0.0,
    )


def _answer(slack: SlackEmulator, root: str) -> dict[str, Any]:
    [message] = [m for m in slack.thread(CHANNEL, root)[1:] if m.get("bot_id")]
    return message


def _actions(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks") or [] for e in b.get("elements", [])]


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "stream refused"])
def test_buttons_go_under_the_finished_answer(
    slack: SlackEmulator, redis_url: str, streaming: bool
) -> None:
    if not streaming:
        slack.inject(Fault(kind="internal_error", path="/api/chat.startStream"))
    root = slack.post_as_user(CHANNEL, "U_ALICE", "how do I rotate it?")
    reply = _reply(slack, redis_url, root, "r1")
    for delta in ANSWER:
        reply.append(delta)
    reply.finish("_footer_", BUTTONS)

    message = _answer(slack, root)
    assert message["text"] == "".join(ANSWER) + "\n\n_footer_"
    assert _actions(message) == ["answer_not_helpful"]
    assert not message["streaming"]
    assert bool(slack.requests_to("chat.update")) is not streaming


def test_a_re_answer_replaces_the_text_and_the_old_buttons(
    slack: SlackEmulator, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "how do I rotate it?")
    first = _reply(slack, redis_url, root, "r1")
    first.append("An answer that was not helpful.")
    first.finish("_footer_", BUTTONS)
    ts = _answer(slack, root)["ts"]

    state = ReplyState(redis.Redis.from_url(redis_url), "r2")
    state.add_message(ts)  # the re-answer takes over the first answer's message
    again = _reply(slack, redis_url, root, "r2")
    again.append("A better answer.")
    assert _actions(slack.message(CHANNEL, ts)) == []  # no stale button while it is written
    again.finish("_large footer_")

    message = _answer(slack, root)
    assert (message["ts"], message["text"]) == (ts, "A better answer.\n\n_large footer_")
    assert _actions(message) == []
