"""Budgets as a person meets them in Slack: a downgrade named in the footer, then a refusal
that names the budget, what is left and when it resets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from chatops.stack import SIGNING_SECRET, Stack
from gateway.budgets import BudgetCaps, Budgets
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import bot_message, running_stack, wait_for

CHANNEL = "C_GENERAL"
CAP_MICRO_USD = 2_000  # fits a small-tier answer's worst case, not a medium one's


@pytest.fixture(scope="module")
def budget_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 4, {"BUDGET_USER_DAILY_MICRO_USD": str(CAP_MICRO_USD)})


def _ask(stack: Stack, user: str, question: str) -> list[dict[str, object]]:
    SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack).slash("/ask", question, user, CHANNEL)
    root = wait_for(lambda: bot_message(stack, CHANNEL, f"<@{user}> asked: {question}"), "root")

    def done() -> list[dict[str, object]] | None:
        replies = [m for m in stack.slack.thread(CHANNEL, root["ts"])[1:] if m.get("bot_id")]
        return replies if replies and not replies[-1]["streaming"] else None

    return wait_for(done, "the reply")


def test_over_budget_downgrades_with_the_budget_named(budget_stack: Stack) -> None:
    # A question the router sends to the medium tier; the budget only fits the small one.
    question = "Why does the VPN certificate renewal fail on the staging bastion?"
    [reply] = _ask(budget_stack, "U_BOB", question)
    text = str(reply["text"])
    assert "amazon.nova-micro-v1:0" in text
    assert text.endswith("· downgraded to the small tier to stay within your daily budget_")


def test_an_exhausted_budget_refuses_with_what_is_left_and_when(budget_stack: Stack) -> None:
    spent_earlier = Budgets(redis.Redis.from_url(budget_stack.redis_url), BudgetCaps(CAP_MICRO_USD))
    spent_earlier.reserve("U_CAROL", CHANNEL, "T_DEMO", CAP_MICRO_USD - 50)

    model_calls_before = len(budget_stack.bedrock.requests_to("/converse-stream"))

    [reply] = _ask(budget_stack, "U_CAROL", "Can I get staging access?")

    assert str(reply["text"]).startswith(
        ":no_entry: This request would go over your daily budget: $0.00 left. "
        "It resets at 00:00 UTC on "
    )
    assert len(budget_stack.bedrock.requests_to("/converse-stream")) == model_calls_before
