"""`/llm-cost` end to end: after real requests, the report in Slack adds up to the ledger, and
its chart is uploaded into the report's thread."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis

from chatops.stack import SIGNING_SECRET, Stack
from gateway.ledger import Ledger
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import bot_message, finished_replies, running_stack, wait_for

CHANNEL = "C_OPS"
# Bedrock only, and no EC2 instance configured: the report charges no instance hours.
BEDROCK_TIERS = {
    "TIER_SMALL": "bedrock:amazon.nova-micro-v1:0",
    "TIER_MEDIUM": "bedrock:global.anthropic.claude-haiku-4-5-20251001-v1:0",
    "TIER_LARGE": "bedrock:global.anthropic.claude-sonnet-4-5-20250929-v1:0",
}


@pytest.fixture(scope="module")
def cost_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 6, {**BEDROCK_TIERS, "COST_REPORT_USERS": "U_BOB"})


def _is_report(message: dict[str, Any]) -> bool:
    """The report's message: blocks under a header (an answer's blocks are its buttons)."""
    blocks = message.get("blocks") or []
    return bool(message.get("bot_id") and blocks and blocks[0]["type"] == "header")


def test_llm_cost_report_matches_the_ledger_and_uploads_the_chart(cost_stack: Stack) -> None:
    stack = cost_stack
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    for question in ("How do I roll back a deploy?", "Where is the VPN config?"):
        driver.slash("/ask", question, "U_ALICE", CHANNEL)
        root = wait_for(
            lambda q=question: bot_message(stack, CHANNEL, f"<@U_ALICE> asked: {q}"), "root"
        )
        wait_for(lambda r=root: finished_replies(stack, CHANNEL, r["ts"]), "an answer")

    response = driver.slash("/llm-cost", "today share", "U_BOB", CHANNEL)
    assert response.status == 200

    def report_message() -> dict[str, object] | None:
        return next((m for m in stack.slack.messages(CHANNEL) if _is_report(m)), None)

    report = wait_for(report_message, "the report")
    png = wait_for(lambda: [f for f in stack.slack.files() if f.thread_ts == report["ts"]], "chart")

    rows = Ledger(redis.Redis.from_url(stack.redis_url)).records(0, time.time())
    assert len(rows) == 2
    total = sum(r.cost_micro_usd or 0 for r in rows)
    baseline = sum(r.baseline_micro_usd or 0 for r in rows)
    text = str(report["text"])
    # Shown to the decimals that make them add up as read: saved = baseline - spend.
    figures = dict(re.findall(r"(Spend|Naive baseline|Saved): \$([\d.]+)", text))
    spend, naive, saved = (Decimal(figures[k]) for k in ("Spend", "Naive baseline", "Saved"))
    assert abs(spend - Decimal(total) / 1_000_000) <= Decimal("0.00005")
    assert abs(naive - Decimal(baseline) / 1_000_000) <= Decimal("0.00005")
    assert saved == naive - spend
    assert "Requests: 2" in text
    shown = json.dumps(report["blocks"])
    assert "EC2 instances" not in shown and "as run" not in shown
    assert "one always on" in shown  # the yardstick break-even still shows
    assert png[0].name == "llm-cost-today.png"
    assert png[0].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png[0].data) > 10_000


def test_llm_cost_with_bad_arguments_gets_a_usage_hint(cost_stack: Stack) -> None:
    driver = SlackDriver(cost_stack.bot_url, SIGNING_SECRET, cost_stack.slack)
    response = driver.slash("/llm-cost", "last-year", "U_BOB", CHANNEL)
    assert response.status == 200
    assert response.body.startswith("`/llm-cost [today|7d|30d] [@user|#channel] [share]`")


@pytest.fixture(scope="module")
def restricted_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(redis_server, 7, {"COST_REPORT_USERS": "U_ALICE"})


def test_only_listed_people_see_spend(restricted_stack: Stack) -> None:
    driver = SlackDriver(restricted_stack.bot_url, SIGNING_SECRET, restricted_stack.slack)
    refused = driver.slash("/llm-cost", "7d", "U_BOB", CHANNEL)
    assert refused.body == "Only the people listed in COST_REPORT_USERS can see LLM spend."
    allowed = driver.slash("/llm-cost", "7d", "U_ALICE", CHANNEL)
    assert allowed.body == ""
    wait_for(lambda: restricted_stack.slack.files(), "the chart")
