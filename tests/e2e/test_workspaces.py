"""Many workspaces through the running system in OAuth mode (SLACK_CLIENT_ID, no bot token):
two workspaces installed through Slack's OAuth flow are each answered with their own token (one
of them rotating); uninstalling one drops its queued jobs and data while the other is still
answered; a job for the uninstalled workspace is dropped with one log line; an org-wide
Enterprise Grid install answers in two workspaces of the org."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from bot.jobs import JobQueue
from chatops import messages
from chatops.installations import RedisInstallationStore
from chatops.payloads import AnswerJob
from chatops.settings import load_settings
from chatops.stack import SIGNING_SECRET, Stack
from gateway.channel_policy import ChannelPolicies, ChannelPolicy
from gateway.ledger import Ledger, LedgerRecord
from sandbox import slack_home_driver as home
from sandbox.llm import Pace
from sandbox.slack_driver import SlackDriver
from sandbox.slack_installs import CLIENT_ID, CLIENT_SECRET
from tests.e2e.conftest import bot_message, finished_replies, running_stack, wait_for

OAUTH_ENV = {
    "SLACK_BOT_TOKEN": "",  # unset: every token comes from an installation
    "SLACK_CLIENT_ID": CLIENT_ID,
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
}
USER = "U_BOB"


@pytest.fixture(scope="module")
def oauth_stack(redis_server: str) -> Iterator[Stack]:
    for running in running_stack(redis_server, 12, OAUTH_ENV):
        slack = running.slack
        slack.add_workspace("T_ONE", "One", channels={"C_ONE": "one"})
        # Its app rotates tokens: each is refreshed within SLACK_TOKEN_ROTATION_MINUTES of expiry.
        slack.add_workspace("T_TWO", "Two", channels={"C_TWO": "two"}, token_lifetime_s=3600)
        slack.add_workspace("T_GONE", "Gone", channels={"C_GONE": "gone"})
        slack.add_workspace("T_REV", "Revoked", channels={"C_REV": "rev"})
        slack.add_org("E_ACME", "Acme")
        for team, channel in (("T_ACME1", "C_ACME1"), ("T_ACME2", "C_ACME2")):
            slack.add_workspace(
                team, team, channels={channel: channel.lower()}, enterprise_id="E_ACME"
            )
        yield running


@pytest.fixture
def drivers(oauth_stack: Stack) -> Iterator[dict[str, SlackDriver]]:
    oauth_stack.bedrock.pace = Pace(ttft_ms=20, tokens_per_s=400)
    made = {
        team: SlackDriver(oauth_stack.bot_url, SIGNING_SECRET, oauth_stack.slack, team_id=team)
        for team in ("T_ONE", "T_TWO")
    }
    for team in ("T_ACME1", "T_ACME2"):
        made[team] = SlackDriver(
            oauth_stack.bot_url,
            SIGNING_SECRET,
            oauth_stack.slack,
            team_id=team,
            enterprise_id="E_ACME",
            org_install=True,
        )
    yield made
    for emulator in (oauth_stack.slack, oauth_stack.bedrock, oauth_stack.ec2):
        emulator.clear()


def install(driver: SlackDriver, team: str) -> None:
    page = home.install(driver, team)
    assert (page.status, "Thank you!" in page.body) == (200, True), page.body


def ask(stack: Stack, driver: SlackDriver, channel: str, question: str) -> dict[str, Any]:
    assert driver.slash("/ask", question, USER, channel).body == ""
    return answer_to(stack, channel, question)


def answer_to(stack: Stack, channel: str, question: str) -> dict[str, Any]:
    root = wait_for(
        lambda: bot_message(stack, channel, messages.root_message(USER, question)), "the root"
    )
    return wait_for(lambda: finished_replies(stack, channel, root["ts"]), "the answer")[-1]


def tokens_posting_in(stack: Stack, channel: str) -> set[str]:
    """The bot tokens of every Slack call made about `channel`."""
    return {
        r.headers["authorization"].removeprefix("Bearer ")
        for r in stack.slack.requests_to("/api/chat.")
        if (r.body or {}).get("channel") == channel
    }


def queued_teams(queue: Queue) -> list[str]:
    return [job.args[0]["team_id"] for job in queue.jobs]


def rows_by_team(stack: Stack, since: float) -> dict[str, list[LedgerRecord]]:
    rows: dict[str, list[LedgerRecord]] = {}
    for row in Ledger(redis.Redis.from_url(stack.redis_url)).records(since, time.time() + 60):
        rows.setdefault(row.workspace, []).append(row)
    return rows


def test_two_workspaces_are_each_answered_with_their_own_token(
    oauth_stack: Stack, drivers: dict[str, SlackDriver]
) -> None:
    install(drivers["T_ONE"], "T_ONE")
    install(drivers["T_TWO"], "T_TWO")
    installed = RedisInstallationStore(redis.Redis.from_url(oauth_stack.redis_url)).installed()
    assert {("T_ONE"), ("T_TWO")} <= {team for _, team in installed}

    since = time.time()
    ask(oauth_stack, drivers["T_ONE"], "C_ONE", "How do I drain a node before patching it?")
    ask(oauth_stack, drivers["T_TWO"], "C_TWO", "How do I list the cron jobs in a namespace?")

    one, two = (
        oauth_stack.slack.installs.tokens("T_ONE"),
        oauth_stack.slack.installs.tokens("T_TWO"),
    )
    assert tokens_posting_in(oauth_stack, "C_ONE") <= set(one) and one
    assert tokens_posting_in(oauth_stack, "C_TWO") <= set(two) - {two[0]}  # rotated, never stale
    by_team = rows_by_team(oauth_stack, since)
    assert {team: [r.channel for r in rows] for team, rows in by_team.items()} == {
        "T_ONE": ["C_ONE"],
        "T_TWO": ["C_TWO"],
    }


def test_uninstalling_a_workspace_drops_its_jobs_and_data_and_the_other_is_still_answered(
    oauth_stack: Stack, drivers: dict[str, SlackDriver]
) -> None:
    connection = redis.Redis.from_url(oauth_stack.redis_url)
    ChannelPolicies(connection).save(
        "T_ONE", "C_ONE", ChannelPolicy(max_tier="small"), by="U_X", at=time.time()
    )
    queue = Queue("interactive", connection=connection, serializer=JSONSerializer)
    [worker] = oauth_stack.workers
    os.kill(worker.pid, signal.SIGSTOP)  # the worker is busy elsewhere: jobs wait in the queue
    try:
        # A stopped worker's pending BLMOVE may still take the first job: it is T_TWO's.
        drivers["T_TWO"].slash("/ask", "How do I rotate the prod DB password?", USER, "C_TWO")
        drivers["T_ONE"].slash("/ask", "How do I rotate the staging DB password?", USER, "C_ONE")
        drivers["T_TWO"].slash("/ask", "How do I rotate the QA DB password?", USER, "C_TWO")
        assert sorted(queued_teams(queue))[0] == "T_ONE"
        oauth_stack.slack.installs.uninstall(team_id="T_ONE")
        assert drivers["T_ONE"].app_uninstalled().status == 200
        assert set(queued_teams(queue)) == {"T_TWO"}
    finally:
        os.kill(worker.pid, signal.SIGCONT)

    answer_to(oauth_stack, "C_TWO", "How do I rotate the prod DB password?")
    answer_to(oauth_stack, "C_TWO", "How do I rotate the QA DB password?")
    assert (
        bot_message(
            oauth_stack,
            "C_ONE",
            messages.root_message(USER, "How do I rotate the staging DB password?"),
        )
        is None
    )
    store = RedisInstallationStore(connection)
    assert "T_ONE" not in {team for _, team in store.installed()}
    assert ChannelPolicies(connection).stored("T_ONE") == {}
    assert (
        "installation_forgotten installation=-:T_ONE teams=T_ONE channels=1 jobs_dropped=1"
        in oauth_stack.logs()
    )


def test_a_job_for_an_uninstalled_workspace_is_dropped_with_one_log_line(
    oauth_stack: Stack, drivers: dict[str, SlackDriver]
) -> None:
    gone = SlackDriver(oauth_stack.bot_url, SIGNING_SECRET, oauth_stack.slack, team_id="T_GONE")
    install(gone, "T_GONE")
    oauth_stack.slack.installs.uninstall(team_id="T_GONE")
    assert gone.app_uninstalled().status == 200
    connection = redis.Redis.from_url(oauth_stack.redis_url)
    jobs = JobQueue(connection, load_settings(_env_file=None, redis_url=oauth_stack.redis_url))
    late = AnswerJob(
        request_id="late-1",
        kind="ask",
        team_id="T_GONE",
        channel="C_GONE",
        user=USER,
        text="Is anyone still there?",
        received_at=time.time(),
    )
    assert jobs.enqueue_answer(late)  # a job that was on its way when the workspace left

    job = wait_for(
        lambda: (
            (found := Job.fetch(late.job_id, connection, serializer=JSONSerializer))
            and found.get_status() == JobStatus.FINISHED
            and found
        ),
        "the job to be done with",
    )
    line = "job_dropped_not_installed request_id=late-1 team=T_GONE"
    assert oauth_stack.logs().count(line) == 1
    assert job.retries_left == 2  # finished at its first run: never raised, never retried
    assert tokens_posting_in(oauth_stack, "C_GONE") == set()


def test_a_revoked_bot_token_forgets_the_installation(
    oauth_stack: Stack, drivers: dict[str, SlackDriver]
) -> None:
    revoked = SlackDriver(oauth_stack.bot_url, SIGNING_SECRET, oauth_stack.slack, team_id="T_REV")
    install(revoked, "T_REV")
    store = RedisInstallationStore(redis.Redis.from_url(oauth_stack.redis_url))
    assert store.find_bot(enterprise_id=None, team_id="T_REV") is not None

    assert revoked.tokens_revoked(users=("U_ALICE",), bot=False).status == 200
    assert store.find_bot(enterprise_id=None, team_id="T_REV") is not None  # people's tokens only
    assert revoked.tokens_revoked(bot=True).status == 200
    assert store.find_bot(enterprise_id=None, team_id="T_REV") is None
    assert "T_REV" not in {team for _, team in store.installed()}


def test_an_org_wide_install_answers_in_two_workspaces_of_the_org(
    oauth_stack: Stack, drivers: dict[str, SlackDriver]
) -> None:
    install(drivers["T_ACME1"], "E_ACME")

    since = time.time()
    ask(oauth_stack, drivers["T_ACME1"], "C_ACME1", "How do I scale a deployment to zero?")
    mention = drivers["T_ACME2"].mention(USER, "C_ACME2", "how do I cordon a node?")
    wait_for(lambda: finished_replies(oauth_stack, "C_ACME2", mention.ts or ""), "the answer")

    org_tokens = set(oauth_stack.slack.installs.tokens(enterprise_id="E_ACME"))
    assert tokens_posting_in(oauth_stack, "C_ACME1") <= org_tokens and org_tokens
    assert tokens_posting_in(oauth_stack, "C_ACME2") <= org_tokens
    assert sorted(rows_by_team(oauth_stack, since)) == ["T_ACME1", "T_ACME2"]
