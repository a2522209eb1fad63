"""`/llm-cost` arguments as Slack escapes them."""

from __future__ import annotations

import pytest

from bot.listeners.commands.llm_cost import parse


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", {"period": "7d"}),
        ("today", {"period": "today"}),
        ("30d <@U123ABC|bob>", {"period": "30d", "only_user": "U123ABC"}),
        ("<#C0OPS|ops> 7d", {"period": "7d", "only_channel": "C0OPS"}),
        ("last-year", None),
        ("7d @bob", None),
    ],
)
def test_parse(text: str, parsed: dict[str, str] | None) -> None:
    assert parse(text) == parsed
