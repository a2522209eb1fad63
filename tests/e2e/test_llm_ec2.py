"""`/llm-ec2` end to end: the real Bolt app over signed HTTP, an RQ worker process, moto's EC2 API
with an instance tagged as the bot's, and the answer a person sees privately in Slack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chatops.stack import SIGNING_SECRET, Stack, local_stack
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import E2E_ENV, wait_for

CHANNEL = "C_OPS"
OPERATOR, SOMEONE = "U_ALICE", "U_BOB"


@pytest.fixture(scope="module")
def ec2_stack(redis_server: str) -> Iterator[Stack]:
    url = redis_server.rsplit("/", 1)[0] + "/9"
    env = {**E2E_ENV, "EC2_CONTROL_USERS": OPERATOR, "EC2_SCHEDULE": "never"}
    with local_stack(url, env=env, ec2_instances=1) as running:
        try:
            yield running
        except BaseException:
            print(running.logs())
            raise


def private_answer(stack: Stack, count: int) -> dict[str, Any]:
    """The `count`-th answer the operator got privately through the command's response_url."""

    def answers() -> list[dict[str, Any]] | None:
        found = [e for e in stack.slack.ephemerals(CHANNEL) if e.get("via") == "response_url"]
        return found if len(found) >= count else None

    return wait_for(answers, f"private answer {count}", timeout_s=30)[count - 1]


def test_status_start_and_stop_as_the_operator_sees_them(ec2_stack: Stack) -> None:
    stack = ec2_stack
    assert stack.ec2_api is not None
    (instance,) = stack.ec2_api.instance_ids
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)

    assert driver.slash("/llm-ec2", "", OPERATOR, CHANNEL).body == ""
    status = private_answer(stack, 1)["text"]
    assert status.startswith("*EC2 instances* · schedule `never` · stop after 30 min")
    assert f"`{instance}` stopped · up 0 h today · 0 served today · 0 in flight" in status

    driver.slash("/llm-ec2", "start", OPERATOR, CHANNEL)
    started = private_answer(stack, 2)["text"]
    assert started.startswith(f"Started `{instance}`: it answers once its model server is up")
    assert "last: start: by hand at" in started
    assert wait_for(lambda: stack.ec2_api.state(instance) == "running", "running")  # type: ignore[union-attr]

    driver.slash("/llm-ec2", f"stop {instance}", OPERATOR, CHANNEL)
    stopped = private_answer(stack, 3)["text"]
    assert stopped.startswith(f"Stopped `{instance}`.")
    assert stack.ec2_api.state(instance) in {"stopping", "stopped"}

    driver.slash("/llm-ec2", "stop", OPERATOR, CHANNEL)
    assert private_answer(stack, 4)["text"].startswith("No running instance to stop.")


def test_only_listed_people_and_known_words(ec2_stack: Stack) -> None:
    driver = SlackDriver(ec2_stack.bot_url, SIGNING_SECRET, ec2_stack.slack)
    refused = driver.slash("/llm-ec2", "start", SOMEONE, CHANNEL)
    assert refused.body.startswith("Only the people listed in EC2_CONTROL_USERS")
    confused = driver.slash("/llm-ec2", "reboot everything", OPERATOR, CHANNEL)
    assert confused.body.startswith("`/llm-ec2 [status|start|stop] [instance-id]`")
