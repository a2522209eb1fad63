"""No secret reaches a log line, even at DEBUG: the bot token, the signing secret, the AWS
secret key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatops.stack import BOT_TOKEN, SIGNING_SECRET, Stack
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import bot_message, finished_replies, running_stack, wait_for

AWS_SECRET = "aws-secret-that-must-not-leak"


@pytest.fixture(scope="module")
def debug_stack(redis_server: str) -> Iterator[Stack]:
    yield from running_stack(
        redis_server, 5, {"LOG_LEVEL": "DEBUG", "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
    )


def test_no_secret_in_any_log_line(debug_stack: Stack) -> None:
    driver = SlackDriver(debug_stack.bot_url, SIGNING_SECRET, debug_stack.slack)
    driver.slash("/ask", "Is anything leaking?", "U_ALICE", "C_OPS")
    root = wait_for(
        lambda: bot_message(debug_stack, "C_OPS", "<@U_ALICE> asked: Is anything leaking?"), "root"
    )
    wait_for(lambda: finished_replies(debug_stack, "C_OPS", root["ts"]), "the answer")
    driver.dm("U_BOB", "and in DMs?")

    logs = debug_stack.logs()
    assert "DEBUG" in logs  # the processes really logged at DEBUG
    for secret in (BOT_TOKEN, SIGNING_SECRET, AWS_SECRET):
        assert secret not in logs
