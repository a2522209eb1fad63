"""`/metrics` as Prometheus scrapes it, after real requests went through the bot."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from chatops.stack import METRICS_TOKEN, Stack
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import bot_message, finished_replies, wait_for

CHANNEL = "C_OPS"


def _scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(
        f"{stack.bot_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_requests_tokens_cost_and_queue(stack: Stack, driver: SlackDriver) -> None:
    before = _scrape(stack)
    # A question the router leaves on the default tier (medium: Claude Haiku 4.5).
    question = "Why do the payments dashboards keep timing out in the morning?"
    driver.slash("/ask", question, "U_ALICE", CHANNEL)
    root = wait_for(lambda: bot_message(stack, CHANNEL, f"<@U_ALICE> asked: {question}"), "root")
    wait_for(lambda: finished_replies(stack, CHANNEL, root["ts"]), "the answer")

    after = _scrape(stack)
    haiku = (("backend", "bedrock"), ("model", "global.anthropic.claude-haiku-4-5-20251001-v1:0"))

    def grew(name: str, labels: tuple[tuple[str, str], ...]) -> float:
        return after[(name, labels)] - before.get((name, labels), 0.0)

    assert grew("chatops_slack_requests_total", (("kind", "ask"),)) == 1
    assert grew("chatops_model_requests_total", haiku) == 1
    assert grew("chatops_tokens_total", (*haiku, ("type", "output_tokens"))) > 0
    assert grew("chatops_cost_micro_usd_total", haiku) > 0
    assert after[("chatops_queue_depth", (("queue", "interactive"),))] == 0
