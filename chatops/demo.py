"""The scripted sandbox conversation `chatops up` plays: what a new user tries first."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from chatops import messages
from chatops.payloads import BULK_QUEUE
from chatops.stack import EC2_MODEL, SIGNING_SECRET, Stack
from gateway.ec2_fleet import FleetStore
from sandbox.openai_compat import LOADING, Boot
from sandbox.slack_driver import SlackDriver

CHANNEL = "C_OPS"
SUMMARY_KEY = "DEMO-1"
CHART_PATH = Path("out/llm-cost-today.png")
ANSWER_TIMEOUT_S = 60.0
# The sandbox's self-hosted model: one instance in moto's EC2 answers the small tier first,
# Bedrock's Nova Micro while it is down; started by the first request that wants it, stopped
# after 6 s without one (EC2_IDLE_STOP_MIN), charged only for the time it really ran.
EC2_OPERATOR = "U_ALICE"
EC2_IDLE_STOP_MIN = 0.1
SANDBOX_EC2_ENV = {
    "TIER_SMALL": f"ec2:{EC2_MODEL}, bedrock:amazon.nova-micro-v1:0",
    "EC2_SCHEDULE": "never",
    "EC2_IDLE_STOP_MIN": str(EC2_IDLE_STOP_MIN),
    "EC2_CONTROLLER_INTERVAL_S": "0.5",
    "EC2_CONTROL_USERS": EC2_OPERATOR,
}
# Its model loads until the script says so (`_served_on_the_instance`): the boot covers every
# request that shows Bedrock answering meanwhile, however fast or slow this machine is.
SANDBOX_EC2_BOOT = Boot(refused_s=1.0, loading_s=math.inf)
# Once the script has shown it, a start (a person's request, with the sandbox left up) boots on
# its own.
SANDBOX_EC2_LATER_BOOT = Boot(refused_s=2.0, loading_s=8.0)


FOOTER_PATTERN = re.compile(r"\n_[^\n]+ · [\d,]+ in / [\d,]+ out tokens · [^\n]+_$")


def is_finished_answer(message: dict[str, Any]) -> bool:
    """A bot reply that is done: no longer streaming, and ending with its footer."""
    return bool(
        message.get("bot_id")
        and not message["streaming"]
        and FOOTER_PATTERN.search(message["text"])
    )


def finished_answers(stack: Stack, channel: str, thread_ts: str | None) -> int:
    if not thread_ts:
        return 0
    return sum(map(is_finished_answer, stack.slack.thread(channel, thread_ts)[1:]))


def _wait_for_answer(
    stack: Stack, channel: str, thread_ts: Callable[[], str | None], already: int = 0
) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while finished_answers(stack, channel, thread_ts()) <= already:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer in {ANSWER_TIMEOUT_S:.0f} s; logs: {stack.log_dir}")
        time.sleep(0.05)


def _root_of_ask(stack: Stack, user: str, question: str) -> Callable[[], str | None]:
    expected = f"<@{user}> asked: {question}"

    def find() -> str | None:
        for message in stack.slack.messages(CHANNEL):
            if message.get("bot_id") and message["text"] == expected:
                return str(message["ts"])
        return None

    return find


def play(stack: Stack, say: Callable[[str], None]) -> list[float]:
    """Play the script; `say` shows what the person typed. Returns the bot's ack times (s)."""
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    acks: list[float] = []
    if stack.ec2_api is not None:
        acks.append(_ec2_status(stack, driver, say))

    question = "How do I rotate the staging DB password?"
    say(f"#ops  alice: /ask {question}")
    acks.append(driver.slash("/ask", question, "U_ALICE", CHANNEL).elapsed_s)
    root = _root_of_ask(stack, "U_ALICE", question)
    _wait_for_answer(stack, CHANNEL, root)

    thread_ts = root()
    mention = driver.mention("U_BOB", CHANNEL, "and what changes for production?", thread_ts)
    acks.append(mention.elapsed_s)
    _wait_for_answer(stack, CHANNEL, lambda: thread_ts, already=1)

    dm = driver.dm("U_CAROL", "Who do I page when the payments queue backs up?")
    acks.append(dm.elapsed_s)
    _wait_for_answer(stack, stack.slack.dm_channel("U_CAROL"), lambda: dm.ts)

    acks.append(_summarize_and_post(stack, driver, say))
    if stack.ec2_api is not None:
        acks += _served_on_the_instance(stack, driver, say)

    say("#ops  alice: /llm-cost today")
    acks.append(driver.slash("/llm-cost", "today", "U_ALICE", CHANNEL).elapsed_s)
    chart = _wait_for_chart(stack)
    CHART_PATH.parent.mkdir(exist_ok=True)
    CHART_PATH.write_bytes(chart)
    say(f"(the chart is saved at {CHART_PATH})")
    return acks


def _summarize_and_post(stack: Stack, driver: SlackDriver, say: Callable[[str], None]) -> float:
    """`/summarize DEMO-1 --post`: the 200-comment incident, windowed, streamed into a thread
    and kept on the issue as the bot's one comment, which the terminal then shows."""
    if not any(repr(BULK_QUEUE) in repr(worker.args) for worker in stack.workers):
        stack.start_worker(BULK_QUEUE)  # summaries run on their own pool
    say(f"#ops  alice: /summarize {SUMMARY_KEY} --post")
    ack = driver.slash("/summarize", f"{SUMMARY_KEY} --post", "U_ALICE", CHANNEL).elapsed_s
    root = messages.SUMMARY_ROOT.format(
        user="U_ALICE", url=f"{stack.jira.url}/browse/{SUMMARY_KEY}", key=SUMMARY_KEY
    )

    def root_ts() -> str | None:
        found = [m for m in stack.slack.messages(CHANNEL) if m["text"] == root]
        return str(found[-1]["ts"]) if found else None

    _wait_for_answer(stack, CHANNEL, root_ts)
    comments = [c for c in stack.jira.comments(SUMMARY_KEY) if c.author == _bot_login(stack)]
    for comment in comments:
        say(f"Jira {SUMMARY_KEY}  comment by the bot ({len(comments)} in all):\n{comment.body}")
    return ack


def _bot_login(stack: Stack) -> str:
    """The Jira account the bot signs in as (its comments' author in the emulator)."""
    return stack.env.get("JIRA_USER", "")


def _wait_for_chart(stack: Stack) -> bytes:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while time.monotonic() < deadline:
        charts = [f for f in stack.slack.files() if f.name.startswith("llm-cost")]
        if charts:
            return charts[-1].data
        time.sleep(0.05)
    raise TimeoutError(f"no /llm-cost chart in {ANSWER_TIMEOUT_S:.0f} s; logs: {stack.log_dir}")


def _ec2_status(stack: Stack, driver: SlackDriver, say: Callable[[str], None]) -> float:
    """`/llm-ec2`: the operator's private view of the instance."""
    seen = _private_answers(stack)
    say("#ops  alice: /llm-ec2")
    ack = driver.slash("/llm-ec2", "", EC2_OPERATOR, CHANNEL).elapsed_s
    _wait_until(lambda: _private_answers(stack) > seen, "the /llm-ec2 status", stack)
    return ack


def _served_on_the_instance(
    stack: Stack, driver: SlackDriver, say: Callable[[str], None]
) -> list[float]:
    """The instance the first small-tier /ask started (Bedrock answering that one, and the DM
    while it booted) finishes loading its model; the next small question is answered on it;
    the controller stops it once it has been idle; `/llm-ec2` shows the run."""
    ec2_api = stack.ec2_api
    assert ec2_api is not None
    instance = ec2_api.instance_ids[0]
    emulator = ec2_api.emulators[instance]
    _wait_until(lambda: emulator.phase == LOADING, "the instance to boot", stack)
    emulator.finish_loading()
    emulator.boot = SANDBOX_EC2_LATER_BOOT
    say(f"(meanwhile the instance {instance} booted and its model server loaded the model)")
    _wait_until(lambda: _instance_ready(stack), "the controller to see it answer", stack)

    question = "What port does Postgres use?"  # a short answer: 40 tokens/s on one A10G
    say(f"#ops  alice: /ask {question}")
    acks = [driver.slash("/ask", question, "U_ALICE", CHANNEL).elapsed_s]
    _wait_for_answer(stack, CHANNEL, _root_of_ask(stack, "U_ALICE", question))

    stopped = ("stopping", "stopped")
    _wait_until(lambda: ec2_api.state(instance) in stopped, "the idle stop", stack)
    idle_s = EC2_IDLE_STOP_MIN * 60
    say(f"(no request for {idle_s:g} s: the instance controller stopped {instance})")
    acks.append(_ec2_status(stack, driver, say))
    return acks


def _instance_ready(stack: Stack) -> bool:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        return any(i.view().is_ready for i in FleetStore(client).load().instances)
    finally:
        client.close()


def _private_answers(stack: Stack) -> int:
    """What the operator has been told privately through a command's response_url."""
    return sum(e.get("via") == "response_url" for e in stack.slack.ephemerals(CHANNEL))


def _wait_until(check: Callable[[], bool], what: str, stack: Stack) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} in {ANSWER_TIMEOUT_S:.0f} s; logs: {stack.log_dir}")
        time.sleep(0.05)


__all__ = [
    "FOOTER_PATTERN",
    "SANDBOX_EC2_BOOT",
    "SANDBOX_EC2_ENV",
    "finished_answers",
    "is_finished_answer",
    "play",
]
