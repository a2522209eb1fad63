"""New Jira issues triaged through the running system: each issue created arrives as its own
signed webhook at the bot under gunicorn, is queued by a real bulk worker on the batch
collector (a real redis-server), and its line is written in a packed call with the others and
posted once in the triage channel, through the Jira, Slack and Bedrock emulators' real
clients."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chatops.payloads import BULK_QUEUE
from chatops.stack import Stack, local_stack
from gateway import keys
from gateway.ledger import Ledger
from sandbox.llm import Pace
from tests.e2e.conftest import E2E_ENV, prompt_blocks, wait_for
from tests.hostile_inputs import SECRETS

CHANNEL = "C_TRIAGE"
SECRET = "jira-webhook-secret"
ISSUES = 30
MAX_ITEMS = 8
TRIAGE_SYSTEM = "You triage one new Jira issue"
_ITEM = re.compile(r'<item id="\d+">')
_KEY = re.compile(r"^\*New <[^|]+\|(TRI-\d+)>\*", re.MULTILINE)


@pytest.fixture(scope="module")
def stack(redis_server: str) -> Iterator[Stack]:
    url = redis_server.rsplit("/", 1)[0] + "/13"
    redis.Redis.from_url(url).flushdb()
    env = {
        **E2E_ENV,
        "JIRA_PROJECTS": "TRI",
        "JIRA_WEBHOOK_SECRET": SECRET,
        # Only triage on a new issue here: no summary comment is asked for.
        "JIRA_TRIGGER_EVENTS": "comment_created",
        "JIRA_TRIAGE_CHANNEL": CHANNEL,
        "BATCH_MAX_ITEMS": str(MAX_ITEMS),
        # Long enough for every webhook to arrive before the last, partial batch is flushed.
        "BATCH_MAX_WAIT_MS": "8000",
    }
    with local_stack(url, env=env) as running:
        running.start_worker(BULK_QUEUE)
        running.bedrock.pace = Pace(ttft_ms=5, tokens_per_s=3000)
        running.slack.add_channel(CHANNEL, "triage", private=True)
        running.jira.add_issue("OLD-1", "Not in the allowed projects", issuetype="Bug")
        try:
            yield running
        except BaseException:
            print(running.logs())
            raise


def triage_calls(stack: Stack) -> list[Any]:
    return [
        r
        for r in stack.bedrock.requests_to("/converse")
        if prompt_blocks(r)[0].startswith(TRIAGE_SYSTEM)
    ]


def triage_jobs(stack: Stack) -> int:
    """Triage jobs the bot has queued (its request counter, bumped only by a real enqueue)."""
    counted = redis.Redis.from_url(stack.redis_url).hget(keys.metrics(), "slack_requests|triage")
    return int(counted or 0)


def lines(stack: Stack) -> list[dict[str, Any]]:
    return [m for m in stack.slack.messages(CHANNEL) if m.get("bot_id")]


def test_new_issues_are_triaged_in_packed_calls_each_line_posted_once(stack: Stack) -> None:
    url = f"{stack.bot_url}/jira/webhook"
    deliveries = []
    for n in range(1, ISSUES + 1):
        pasted = f" token {SECRETS['GitHub token']}" if n == 7 else ""
        stack.jira.add_issue(
            f"TRI-{n}",
            f"svc-{n} returns 503 after deploy {n}",
            f"Since deploy {n}, svc-{n} answers 503 to one request in {n + 10}.{pasted}",
            issuetype="Bug",
            priority="High" if n % 3 == 0 else "Medium",
        )
        deliveries.append(stack.jira.send_webhook(url, SECRET, "jira:issue_created", f"TRI-{n}"))
    assert all(delivery.status == 200 for delivery in deliveries)
    assert triage_jobs(stack) == ISSUES

    posted = wait_for(lambda: lines(stack) if len(lines(stack)) >= ISSUES else None, "the lines")
    keys = [key for m in posted for key in _KEY.findall(m["text"])]
    assert sorted(keys) == sorted(f"TRI-{n}" for n in range(1, ISSUES + 1))  # each once
    for message in posted:
        [key] = _KEY.findall(message["text"])
        # The emulated line echoes the item it answered: the right issue's, in its message.
        assert f"“{key}: svc-{key[4:]} returns 503" in message["text"]

    calls = triage_calls(stack)
    assert len(calls) <= math.ceil(ISSUES / MAX_ITEMS)
    assert sum(len(_ITEM.findall(prompt_blocks(call)[-1])) for call in calls) == ISSUES
    sent = "\n".join(prompt_blocks(call)[-1] for call in calls)
    assert SECRETS["GitHub token"] not in sent and "[redacted GitHub token]" in sent

    rows = [
        r
        for r in Ledger(redis.Redis.from_url(stack.redis_url)).records(0, time.time() + 60)
        if r.task == "triage_item"
    ]
    assert len(rows) == len(calls)
    assert sum(r.batch_items for r in rows) == ISSUES and all(r.batch_id for r in rows)
    assert all(r.source == "webhook" and r.channel == CHANNEL for r in rows)

    # Jira redelivers one: no second job, so no second line and no new call.
    again = stack.jira.redeliver(deliveries[0])
    assert again.status == 200
    assert triage_jobs(stack) == ISSUES


def test_issues_outside_the_allowed_projects_are_not_triaged(stack: Stack) -> None:
    before = triage_jobs(stack)
    url = f"{stack.bot_url}/jira/webhook"
    delivery = stack.jira.send_webhook(url, SECRET, "jira:issue_created", "OLD-1")
    assert delivery.status == 200
    assert triage_jobs(stack) == before  # nothing queued, so nothing can be asked or posted


def test_a_channel_the_bot_cannot_post_in_is_logged_and_nothing_loops(stack: Stack) -> None:
    stack.bedrock.clear()
    stack.slack.set_bot_membership(CHANNEL, member=False)
    try:
        stack.jira.add_issue("TRI-99", "svc-99 is slow", "p99 doubled since noon.")
        url = f"{stack.bot_url}/jira/webhook"
        assert stack.jira.send_webhook(url, SECRET, "jira:issue_created", "TRI-99").status == 200
        wait_for(lambda: "triage_line_refused" in stack.logs(), "the refusal in the log")
        time.sleep(2)
        assert len(triage_calls(stack)) == 1  # asked once, not again for each retry
        assert not any("TRI-99" in m["text"] for m in stack.slack.messages(CHANNEL))
    finally:
        stack.slack.set_bot_membership(CHANNEL, member=True)
