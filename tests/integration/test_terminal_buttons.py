"""The sandbox's terminal view of an answer with buttons under it: the answer's text as it
streamed, then the buttons as `[label]` — never the labels in place of the answer."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from chatops.terminal_view import TerminalView
from sandbox.slack import SlackEmulator

BUTTONS = [
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "a",
                "text": {"type": "plain_text", "text": "Not helpful"},
            },
            {
                "type": "button",
                "action_id": "b",
                "text": {"type": "plain_text", "text": "Answer fresh"},
            },
        ],
    }
]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def test_an_answer_streams_then_shows_its_buttons(slack: SlackEmulator) -> None:
    out = io.StringIO()
    TerminalView(slack, out)
    root = slack.post_as_user("C_OPS", "U_ALICE", "how do I rotate it?")
    message = slack.store.post(
        "C_OPS", slack.bot_user_id, "Rotate it", bot_id=slack.bot_id, thread_ts=root, streaming=True
    )
    slack.store.append_stream("C_OPS", message["ts"], " with vault.")
    slack.store.stop_stream("C_OPS", message["ts"], "", BUTTONS)

    shown = out.getvalue()
    assert "Rotate it with vault.\n[Not helpful] [Answer fresh]" in shown
    assert "(edited)" not in shown


def test_text_sent_as_a_markdown_block_is_shown(slack: SlackEmulator) -> None:
    out = io.StringIO()
    TerminalView(slack, out)
    blocks = [{"type": "markdown", "text": "**Rotate** it."}, *BUTTONS]
    slack.store.post("C_OPS", slack.bot_user_id, "Rotate it.", bot_id=slack.bot_id, blocks=blocks)

    assert "**Rotate** it.\n[Not helpful] [Answer fresh]" in out.getvalue()
