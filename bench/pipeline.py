"""Latency and throughput of the running system: the bot under gunicorn, RQ workers, a real
Redis and the emulators (`chatops.stack.local_stack`, as `chatops up` runs it).

- `latency`: sequential /ask requests; per request the ack time, the time from sending the
  request to the model call reaching the Bedrock emulator (the bot's added time, RQ hop
  included), and the time to the first visible text in Slack minus the emulator's own
  time to first token.
- `ack_under_load`: signed requests at fixed rates for a bounded time; ack p50/p99 per rate.
- `throughput`: jobs per second one worker process finishes, zero-latency model.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chatops.demo import is_finished_answer
from chatops.percentiles import summary_ms
from chatops.stack import SIGNING_SECRET, Stack, local_stack
from sandbox.llm import Pace
from sandbox.slack_driver import SlackDriver

CHANNEL = "C_OPS"
TTFT_MS = 200.0


def _root_ts(stack: Stack, text: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in stack.slack.messages(CHANNEL):
            if message.get("bot_id") and message["text"] == text:
                return str(message["ts"])
        time.sleep(0.005)
    raise TimeoutError(f"no root message {text!r}")


def _finished_reply(stack: Stack, root: str, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        replies = [m for m in stack.slack.thread(CHANNEL, root)[1:] if is_finished_answer(m)]
        if replies:
            return replies[0]
        time.sleep(0.005)
    raise TimeoutError("no finished answer")


def latency(stack: Stack, requests: int = 60) -> dict[str, Any]:
    stack.bedrock.pace = Pace(ttft_ms=TTFT_MS, tokens_per_s=400)
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    acks, to_model, to_visible = [], [], []
    for n in range(requests):
        question = f"Latency probe {n}: how do I rotate the staging DB password?"
        seen = len(stack.bedrock.requests)
        sent_at = time.time()
        acks.append(driver.slash("/ask", question, "U_ALICE", CHANNEL).elapsed_s)
        root = _root_ts(stack, f"<@U_ALICE> asked: {question}")
        reply = _finished_reply(stack, root)
        model_call = stack.bedrock.requests[seen]
        to_model.append(model_call.at - sent_at)
        to_visible.append(reply["edits"][0][0] - sent_at - TTFT_MS / 1000)
    return {
        "ack": summary_ms(acks),
        "request_to_model_call": summary_ms(to_model),
        "first_visible_minus_ttft": summary_ms(to_visible),
    }


def ack_under_load(
    stack: Stack, rates: tuple[int, ...] = (10, 30, 60), seconds: float = 4.0
) -> dict[str, Any]:
    stack.bedrock.pace = Pace()
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    results: dict[str, Any] = {}
    for rate in rates:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            futures = []
            for n in range(int(rate * seconds)):
                time.sleep(max(0.0, started + n / rate - time.perf_counter()))
                text = f"load {rate}/s #{n}"
                futures.append(pool.submit(driver.slash, "/ask", text, "U_BOB", CHANNEL))
        results[f"{rate}/s"] = summary_ms([f.result().elapsed_s for f in futures])
        _drain(stack)
    return results


def _drain(stack: Stack, timeout_s: float = 120.0) -> None:
    """Wait until the workers have answered everything sent so far."""
    import redis
    from rq import Queue

    queue = Queue("interactive", connection=redis.Redis.from_url(stack.redis_url))
    deadline = time.monotonic() + timeout_s
    while (queue.count or queue.started_job_registry.count) and time.monotonic() < deadline:
        time.sleep(0.05)


def throughput(stack: Stack, jobs: int = 200) -> dict[str, Any]:
    stack.bedrock.pace = Pace()
    driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    before = len(stack.bedrock.requests)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                lambda n: driver.slash("/ask", f"throughput #{n}", "U_CAROL", CHANNEL), range(jobs)
            )
        )
    _drain(stack)
    elapsed = time.perf_counter() - started
    done = len(stack.bedrock.requests) - before
    return {
        "jobs": done,
        "seconds": round(elapsed, 2),
        "jobs_per_s_per_worker": round(done / elapsed, 1),
    }


def run() -> dict[str, Any]:
    env = {"SLACK_STREAM_FLUSH_S": "0.05"}
    with local_stack(workers=1, env=env) as stack:
        return {
            "latency": latency(stack),
            "ack_under_load": ack_under_load(stack),
            "throughput": throughput(stack),
        }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
