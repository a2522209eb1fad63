"""The queue Redis goes away and comes back (AOF on, as in compose): nothing is dropped in
silence and nothing is answered twice."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from chatops.stack import SIGNING_SECRET, Stack, free_port, local_stack
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import E2E_ENV, bot_message, finished_replies, wait_for

CHANNEL = "C_OPS"


class RestartableRedis:
    """A redis-server with an append-only file that can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--dir",
                str(self.workdir),
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(self.url), "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def restartable() -> Iterator[RestartableRedis]:
    with tempfile.TemporaryDirectory() as workdir:
        server = RestartableRedis(Path(workdir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.slow
def test_queue_outage_refuses_clearly_and_loses_no_mention(restartable: RestartableRedis) -> None:
    with local_stack(restartable.url, env=E2E_ENV) as stack:
        _check(stack, restartable)


def _check(stack: Stack, server: RestartableRedis) -> None:
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    driver.slash("/ask", "Before the outage?", "U_ALICE", CHANNEL)
    root = wait_for(
        lambda: bot_message(stack, CHANNEL, "<@U_ALICE> asked: Before the outage?"), "root"
    )
    wait_for(lambda: finished_replies(stack, CHANNEL, root["ts"]), "the first answer")

    server.stop()
    busy = driver.slash("/ask", "During the outage?", "U_ALICE", CHANNEL)
    assert busy.status == 200
    assert busy.body.startswith("I can't take requests right now")
    mention = driver.mention("U_BOB", CHANNEL, "is the queue up?")
    assert mention.status == 500  # so that Slack delivers it again

    server.start()
    again = driver.retry(mention.request)
    assert again.status == 200
    replies = wait_for(lambda: finished_replies(stack, CHANNEL, mention.ts or ""), "the answer", 60)
    assert len(replies) == 1
    assert driver.retry(mention.request, retry_num=2).status == 200
    after = driver.slash("/ask", "After the outage?", "U_ALICE", CHANNEL)
    assert after.status == 200
    root = wait_for(
        lambda: bot_message(stack, CHANNEL, "<@U_ALICE> asked: After the outage?"), "root", 60
    )
    wait_for(lambda: finished_replies(stack, CHANNEL, root["ts"]), "the answer after", 60)
    assert len(finished_replies(stack, CHANNEL, mention.ts or "") or []) == 1
    assert all(worker.poll() is None for worker in stack.workers)  # reconnected, not replaced
