"""The self-hosted instance in the running bot: the real Bolt app over signed HTTP, worker
processes whose controller thread watches moto's EC2, and an instance whose model server boots
(refused, then 503 while the model loads, then answering). A small-tier request while it is
stopped starts it and Bedrock answers; one while it boots is answered by Bedrock too; once it
answers it takes the tier; idle past the limit, it is stopped — each as the person sees it in
Slack, in the ledger and in `chatops cost`."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis

from chatops import messages
from chatops.stack import EC2_MODEL, SIGNING_SECRET, Stack, local_stack
from gateway.ec2_fleet import FleetStatus, FleetStore
from gateway.instance_hours import InstanceHours
from gateway.ledger import Ledger, LedgerRecord
from sandbox.llm import Pace
from sandbox.openai_compat import LOADING, Boot
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import E2E_ENV, bot_message, finished_replies, wait_for

CHANNEL = "C_OPS"
IDLE_STOP_S = 3.0
ENV = {
    **E2E_ENV,
    "TIER_SMALL": f"ec2:{EC2_MODEL}, bedrock:amazon.nova-micro-v1:0",
    "EC2_SCHEDULE": "never",
    "EC2_IDLE_STOP_MIN": str(IDLE_STOP_S / 60),
    "EC2_CONTROLLER_INTERVAL_S": "0.2",
}
# Questions the router sends to the small tier.
WHILE_STOPPED = "How do I rotate the staging DB password?"
WHILE_BOOTING = "Who do I page when the payments queue backs up?"
ON_THE_INSTANCE = "What port does Postgres use?"


@pytest.fixture(scope="module")
def stack(redis_server: str) -> Iterator[Stack]:
    url = redis_server.rsplit("/", 1)[0] + "/11"
    redis.Redis.from_url(url).flushdb()
    # The model loads until the test says so: the boot lasts exactly as long as it needs.
    boot = Boot(refused_s=0.3, loading_s=math.inf)
    with local_stack(url, env=ENV, ec2_instances=1, ec2_boot=boot) as running:
        for emulator in (running.bedrock, running.ec2):
            emulator.pace = Pace(ttft_ms=20, tokens_per_s=300)
        try:
            yield running
        except BaseException:
            print(running.logs())
            raise


def ask(stack: Stack, question: str) -> tuple[str, LedgerRecord]:
    """`/ask question`: the answer's footer as the person sees it, and its ledger row."""
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    assert driver.slash("/ask", question, "U_ALICE", CHANNEL).body == ""
    root = wait_for(
        lambda: bot_message(stack, CHANNEL, f"<@U_ALICE> asked: {question}"), "the root message"
    )
    (reply,) = wait_for(lambda: finished_replies(stack, CHANNEL, root["ts"]), "the answer")
    footer = reply["text"].rsplit("\n", 1)[-1]
    row = wait_for(lambda: _row_for(stack, question), "the ledger row")
    return footer, row


def _row_for(stack: Stack, question: str) -> LedgerRecord | None:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        rows = Ledger(client).records(0, time.time() + 1)
    finally:
        client.close()
    asked = [r for r in rows if r.task == "ask"]
    index = [WHILE_STOPPED, WHILE_BOOTING, ON_THE_INSTANCE].index(question)
    return asked[index] if len(asked) > index else None


def fleet(stack: Stack) -> FleetStatus:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        return FleetStore(client).load()
    finally:
        client.close()


def test_nobody_controls_the_instances_unless_named(stack: Stack) -> None:
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    assert driver.slash("/llm-ec2", "start", "U_ALICE", CHANNEL).body == messages.EC2_NOT_ALLOWED
    assert driver.slash("/llm-ec2", "", "U_BOB", CHANNEL).body == messages.EC2_NOT_ALLOWED


def test_started_on_demand_bedrock_meanwhile_then_the_instance_then_an_idle_stop(
    stack: Stack,
) -> None:
    ec2_api = stack.ec2_api
    assert ec2_api is not None
    (instance,) = ec2_api.instance_ids
    emulator = ec2_api.emulators[instance]
    began = time.time()

    footer, row = ask(stack, WHILE_STOPPED)
    assert footer.startswith("_amazon.nova-micro-v1:0 · ")
    assert footer.endswith(" · ec2 stopped, so bedrock answered_")
    assert (row.backend, row.route_note) == ("bedrock", f"ec2:{EC2_MODEL}: ec2 stopped")
    # That request started the instance: once, on demand; it boots while Bedrock answers.
    wait_for(lambda: emulator.phase == LOADING, "the instance to boot")
    started = _record(stack, instance)
    assert started["last_action"] == "start: on demand"

    footer, row = ask(stack, WHILE_BOOTING)
    assert footer.endswith(" · ec2 starting, so bedrock answered_")
    assert (row.backend, row.route_note) == ("bedrock", f"ec2:{EC2_MODEL}: ec2 starting")

    assert emulator.finish_loading()
    wait_for(lambda: _record(stack, instance)["healthy"], "the controller to see it answer")
    footer, row = ask(stack, ON_THE_INSTANCE)
    assert re.fullmatch(
        rf"_{EC2_MODEL} · [\d,]+ in / [\d,]+ out tokens · EC2 instance hours_", footer
    )
    assert (row.backend, row.model, row.route_note) == ("ec2", EC2_MODEL, "")

    wait_for(lambda: ec2_api.state(instance) == "stopped", "the idle stop", 30)
    stopped = _record(stack, instance)
    assert stopped["last_action"] == "stop: idle"
    # Idle counts from when the last request was sent to it (its row is written at the end).
    sent = row.at - row.total_ms / 1000
    assert stopped["last_action_at"] - sent >= IDLE_STOP_S
    assert started["last_action_at"] >= began

    # One start, one stop: one running interval, the one `chatops cost` prices.
    client = redis.Redis.from_url(stack.redis_url)
    (interval,) = InstanceHours(client).intervals([instance], began, time.time())
    client.close()
    assert started["last_action_at"] <= interval.start < interval.end <= stopped["last_action_at"]
    assert_cost_report_prices_the_run(stack, interval.end - interval.start)


def _record(stack: Stack, instance: str) -> dict[str, Any]:
    record = fleet(stack).record(instance)
    assert record is not None
    return record.__dict__


def assert_cost_report_prices_the_run(stack: Stack, seconds_up: float) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatops.cli", "cost", "--period", "today"],
        env=stack.env,
        cwd=stack.log_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    ran = re.search(r"^EC2 g5\.xlarge: ran (\d+) s at \$1\.006/h = \$0\.\d+$", text, re.M)
    assert ran is not None and abs(int(ran.group(1)) - seconds_up) <= 1
    assert "  the same 1 request: " in text
    spend = re.search(
        r"Spend +\$([\d.]+) \(Bedrock \$([\d.]+) \+ EC2 instance hours \$([\d.]+)\)", text
    )
    assert spend is not None, text
    total, bedrock, instance = (Decimal(amount) for amount in spend.groups())
    assert total == bedrock + instance
    # Shown to the decimals that make the parts add up: within half the last one shown.
    half_of_last_digit = Decimal(1).scaleb(-len(spend.group(3).partition(".")[2])) / 2
    assert abs(instance - Decimal(seconds_up) * Decimal("1.006") / 3600) <= half_of_last_digit
