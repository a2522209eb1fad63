"""The scripted sandbox conversation `chatops up` plays: what a new user tries first."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatops import messages
from chatops.payloads import BULK_QUEUE
from chatops.stack import SIGNING_SECRET, Stack
from sandbox.slack_driver import SlackDriver

CHANNEL = "C_OPS"
SUMMARY_KEY = "DEMO-1"
CHART_PATH = Path("out/llm-cost-today.png")
ANSWER_TIMEOUT_S = 60.0


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


__all__ = ["FOOTER_PATTERN", "finished_answers", "is_finished_answer", "play"]
