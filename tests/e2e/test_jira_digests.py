"""Jira digests through the running system: `/summarize project=…` and `/summarize jql "…"`
as one Slack message with a line per issue, batched through the cost engine; daily digests a
channel sets up with `/digest`, fired by RQ's scheduler once, with two bulk workers running."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from chatops import messages
from chatops.payloads import BULK_QUEUE
from chatops.stack import SIGNING_SECRET, Stack, local_stack
from sandbox.llm import Pace
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import E2E_ENV, prompt_blocks, wait_for
from workers.digest_schedule import DigestSchedule, DigestSchedules, schedule_next

CHANNEL = "C_OPS"
ISSUES = 5
_ITEM = re.compile(r'<item id="\d+">')


@pytest.fixture(scope="module")
def stack(redis_server: str) -> Iterator[Stack]:
    url = redis_server.rsplit("/", 1)[0] + "/6"
    redis.Redis.from_url(url).flushdb()
    env = {**E2E_ENV, "JIRA_PROJECTS": "DIG", "BATCH_MAX_ITEMS": "8"}
    with local_stack(url, env=env) as running:
        running.start_worker(BULK_QUEUE)
        running.start_worker(BULK_QUEUE)
        for n in range(1, ISSUES + 1):
            running.jira.add_issue(
                f"DIG-{n}",
                f"Queue lag on shard {n}",
                f"Consumers on shard {n} fall behind after the pool resize.",
                comments=[("alice", f"Shard {n}: waiting on @bob for the consumer logs.")],
                status="In Progress",
                assignee="bob",
            )
        running.jira.add_issue("OLD-1", "Not in the allowed projects")
        try:
            yield running
        except BaseException:
            print(running.logs())
            raise


@pytest.fixture
def driver(stack: Stack) -> Iterator[SlackDriver]:
    stack.bedrock.pace = Pace(ttft_ms=5, tokens_per_s=3000)
    stack.bedrock.clear()
    yield SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    stack.bedrock.clear()


def _packed_items(stack: Stack) -> list[int]:
    """How many issues each model call carried."""
    return [
        len(_ITEM.findall(prompt_blocks(r)[-1])) or 1
        for r in stack.bedrock.requests_to("/converse")
    ]


def _digest_reply(stack: Stack, channel: str, jql: str) -> dict[str, Any]:
    root_text = messages.DIGEST_ROOT.format(user="U_ALICE", jql=jql)

    def reply() -> dict[str, Any] | None:
        roots = [m for m in stack.slack.messages(channel) if m["text"] == root_text]
        if not roots:
            return None
        replies = [m for m in stack.slack.thread(channel, roots[-1]["ts"])[1:] if m.get("bot_id")]
        done = [m for m in replies if not m["streaming"] and " call(s)_" in m["text"]]
        return done[-1] if done else None

    return wait_for(reply, "the digest", timeout_s=60)


def test_a_digest_is_one_message_with_a_line_per_issue(stack: Stack, driver: SlackDriver) -> None:
    jql = 'project = "DIG" AND updated >= -1d ORDER BY updated DESC'
    assert driver.slash("/summarize", "project=DIG updated:-1d", "U_ALICE", CHANNEL).body == ""
    reply = _digest_reply(stack, CHANNEL, jql)
    lines = reply["text"].splitlines()
    assert lines[0] == messages.DIGEST_HEADING.format(jql=jql, count=ISSUES)
    keys = re.findall(r"^• <[^|]+\|(DIG-\d+)>", reply["text"], re.MULTILINE)
    assert sorted(keys) == [f"DIG-{n}" for n in range(1, ISSUES + 1)]
    assert _packed_items(stack) == [ISSUES]  # packed into one Bedrock call
    assert reply["text"].endswith(f"· {ISSUES} issue(s) in 1 call(s)_")


def test_digests_from_two_dms_never_share_a_call(stack: Stack, driver: SlackDriver) -> None:
    jql = "project = DIG"
    for user in ("U_ALICE", "U_BOB"):
        dm = stack.slack.dm_channel(user)
        driver.slash("/summarize", f'jql "{jql}"', user, dm)
    wait_for(lambda: len(_packed_items(stack)) >= 2, "both digests' calls", timeout_s=60)
    time.sleep(0.5)
    assert _packed_items(stack) == [ISSUES, ISSUES]


def test_a_query_outside_the_allowed_projects_lists_nothing(
    stack: Stack, driver: SlackDriver
) -> None:
    driver.slash("/summarize", 'jql "project = OLD"', "U_ALICE", CHANNEL)
    root_text = messages.DIGEST_ROOT.format(user="U_ALICE", jql="project = OLD")
    root = wait_for(
        lambda: next((m for m in stack.slack.messages(CHANNEL) if m["text"] == root_text), None),
        "the root",
    )
    empty = messages.DIGEST_EMPTY.format(jql="project = OLD")
    wait_for(
        lambda: any(m["text"] == empty for m in stack.slack.thread(CHANNEL, root["ts"])),
        "the empty digest",
    )
    assert stack.bedrock.requests_to("/converse") == []


def test_digest_add_list_remove_for_a_channel(stack: Stack, driver: SlackDriver) -> None:
    channel = "C_GENERAL"

    def private() -> list[dict[str, Any]]:
        return [e for e in stack.slack.ephemerals(channel) if e.get("user") == "U_CAROL"]

    def said(text: str) -> str:
        seen = len(private())
        assert driver.slash("/digest", text, "U_CAROL", channel).body == ""
        wait_for(lambda: len(private()) > seen, "the private answer")
        return str(private()[-1]["text"])

    added = said('add "project = DIG" 07:30')
    assert added.startswith("Daily digest 1 set up for this channel: `project = DIG`")
    assert said("list") == "1. `project = DIG` at 07:30 UTC (set up by <@U_CAROL>)"
    assert said("remove 1") == "Removed daily digest 1: `project = DIG`."
    assert said("list") == messages.DIGEST_LIST_EMPTY


def test_a_daily_digest_fires_once_at_its_time_with_two_workers(stack: Stack) -> None:
    connection = redis.Redis.from_url(stack.redis_url)
    queue = Queue(BULK_QUEUE, connection=connection, serializer=JSONSerializer)
    now = datetime.datetime.now(datetime.UTC)
    at = now + datetime.timedelta(seconds=4)
    schedule = DigestSchedule(
        "t0daily", "T_DEMO", "C_GENERAL", "U_ALICE", "project = DIG", f"{at:%H:%M:%S}", 0.0
    )
    DigestSchedules(connection).add(schedule)
    fire = schedule_next(queue, schedule, now, job_timeout_s=60)
    assert fire == at.replace(microsecond=0)
    # A second enqueue of the same occurrence, as a racing `/digest add` retry would make.
    schedule_next(queue, schedule, now, job_timeout_s=60)
    heading = messages.DIGEST_HEADING.format(jql="project = DIG", count=ISSUES)

    def posted() -> list[dict[str, Any]]:
        return [m for m in stack.slack.messages("C_GENERAL") if m["text"].startswith(heading)]

    wait_for(posted, "the daily digest", timeout_s=30)
    time.sleep(3.0)  # both workers' schedulers have had their turn
    assert len(posted()) == 1
    assert posted()[0].get("thread_ts") in (None, posted()[0]["ts"])
    tomorrow = f"digest-t0daily-{fire + datetime.timedelta(days=1):%Y%m%d%H%M%S}"
    pending = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert [job_id for job_id in pending if job_id.startswith("digest-t0daily-")] == [tomorrow]


def test_chatops_jira_digest_prints_the_digest_in_the_terminal(stack: Stack) -> None:
    stack.bedrock.clear()
    result = subprocess.run(
        [sys.executable, "-m", "chatops.cli", "jira", "digest", "--jql", "project = DIG"],
        capture_output=True,
        text=True,
        timeout=120,
        env=stack.env,
        cwd=stack.log_dir,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Jira digest · `project = DIG` · {ISSUES} issue(s) changed"
    assert [line.split()[1] for line in lines[1 : ISSUES + 1]] == [
        f"DIG-{n}" for n in range(ISSUES, 0, -1)
    ]
    assert lines[-1].endswith(f"· {ISSUES} issue(s) in 1 call(s)_")
    assert _packed_items(stack) == [ISSUES]
