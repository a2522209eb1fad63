"""`chatops replay`: drive a workload trace through the whole running system — signed HTTP to
the bot, a real Redis, RQ worker processes, the emulators — and report cost and latency.

Events are sent in trace order at `t / speed` (speed 0: as fast as the system answers). A
follow-up in a thread waits for the answer before it, as a person would. Event kinds the bot
does not handle yet are counted as skipped, never silently dropped. Cost comes from the
ledger the run wrote; the naive baseline from a second run with every lever off
(`baseline_replay`), and the ledger's own counterfactual is reported beside it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from chatops.demo import is_finished_answer
from chatops.percentiles import summary_ms
from chatops.stack import SIGNING_SECRET, Stack, local_stack
from chatops.trace import Trace, TraceEvent
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.savings import real_levers, savings_by_lever
from sandbox.llm import Pace
from sandbox.slack_driver import DriverResponse, SlackDriver

TTFT_MS = 50.0
TOKENS_PER_S = 2000.0
IN_FLIGHT = 16
ANSWER_TIMEOUT_S = 120.0
ERROR_PREFIXES = (":warning:", ":no_entry:")


@dataclass
class _Outcome:
    """What one event led to, as the person saw it."""

    ack_s: float = 0.0
    first_visible_s: float | None = None
    total_s: float | None = None
    failed: bool = False
    refused: bool = False


@dataclass
class RunResult:
    """One pass over a trace with one lever setting."""

    levers: str
    handled: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    outcomes: list[_Outcome] = field(default_factory=list)
    records: list[LedgerRecord] = field(default_factory=list)
    seconds: float = 0.0


class _Threads:
    """Thread labels → Slack ts, and each thread's answers in order, across sender threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ts: dict[str, tuple[str, str]] = {}
        self._done: dict[str, threading.Event] = {}
        self._claimed: set[str] = set()

    def has_started(self, label: str) -> bool:
        return label in self._ts

    def previous_done(self, label: str) -> threading.Event | None:
        return self._done.get(label)

    def mark(self, label: str, event: threading.Event) -> None:
        self._done[label] = event

    def claim(self, ts: str) -> bool:
        with self._lock:
            if ts in self._claimed:
                return False
            self._claimed.add(ts)
            return True

    def start(self, label: str, channel: str, ts: str) -> None:
        self._ts[label] = (channel, ts)

    def where(self, label: str) -> tuple[str, str]:
        return self._ts[label]


class _Runner:
    def __init__(self, stack: Stack, trace: Trace, speed: float) -> None:
        self.stack = stack
        self.trace = trace
        self.speed = speed
        self.driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
        self.threads = _Threads()
        self.handlers: dict[str, Callable[[TraceEvent], _Outcome]] = {
            "ask": self._ask,
            "mention": self._mention,
            "dm": self._dm,
            "cost": self._cost,
        }

    def run(self, result: RunResult) -> None:
        started = time.monotonic()
        lock = threading.Lock()

        def play(event: TraceEvent, after: threading.Event | None, done: threading.Event) -> None:
            try:
                if self.speed:
                    time.sleep(max(0.0, started + event.t / self.speed - time.monotonic()))
                if after is not None:
                    after.wait(ANSWER_TIMEOUT_S)
                outcome = self.handlers[event.kind](event)
                with lock:
                    result.outcomes.append(outcome)
            finally:
                done.set()

        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            for event in self.trace.events:
                if event.kind not in self.handlers:
                    result.skipped[event.kind] += 1
                    continue
                result.handled[event.kind] += 1
                done = threading.Event()
                after = self.threads.previous_done(event.thread) if event.thread else None
                if event.thread:
                    self.threads.mark(event.thread, done)
                pool.submit(play, event, after, done)
        result.seconds = round(time.monotonic() - started, 1)

    # -- one handler per kind -----------------------------------------------------------------

    def _ask(self, event: TraceEvent) -> _Outcome:
        assert event.text is not None
        sent = time.time()
        response = self.driver.slash("/ask", event.text, event.user, event.channel)
        root = self._claim_root(event)
        if event.thread:
            self.threads.start(event.thread, event.channel, root)
        return self._await_answer(response, sent, event.channel, root, already=0)

    def _mention(self, event: TraceEvent) -> _Outcome:
        assert event.text is not None
        if event.thread and self.threads.has_started(event.thread):
            channel, root = self.threads.where(event.thread)
            already = self._answers(channel, root)
            sent = time.time()
            response = self.driver.mention(event.user, channel, event.text, root)
            return self._await_answer(response, sent, channel, root, already)
        sent = time.time()
        response = self.driver.mention(event.user, event.channel, event.text)
        assert response.ts is not None
        if event.thread:
            self.threads.start(event.thread, event.channel, response.ts)
        return self._await_answer(response, sent, event.channel, response.ts, already=0)

    def _dm(self, event: TraceEvent) -> _Outcome:
        assert event.text is not None
        sent = time.time()
        response = self.driver.dm(event.user, event.text, event.channel)
        assert response.ts is not None
        return self._await_answer(response, sent, event.channel, response.ts, already=0)

    def _cost(self, event: TraceEvent) -> _Outcome:
        before = len(self.stack.slack.files())
        sent = time.time()
        response = self.driver.slash("/llm-cost", event.period or "", event.user, event.channel)
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while len(self.stack.slack.files()) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        return _Outcome(ack_s=response.elapsed_s, total_s=time.time() - sent)

    # -- what the person sees -----------------------------------------------------------------

    def _claim_root(self, event: TraceEvent) -> str:
        """The bot's `asked:` message for this /ask (identical questions claim in order)."""
        text = f"<@{event.user}> asked: {event.text}"
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            for message in self.stack.slack.messages(event.channel):
                if (
                    message.get("bot_id")
                    and message["text"] == text
                    and self.threads.claim(message["ts"])
                ):
                    return str(message["ts"])
            time.sleep(0.01)
        raise TimeoutError(f"no root message for /ask {event.text!r}")

    def _replies(self, channel: str, root: str) -> list[dict[str, Any]]:
        return [m for m in self.stack.slack.thread(channel, root)[1:] if m.get("bot_id")]

    def _answers(self, channel: str, root: str) -> int:
        return sum(1 for m in self._replies(channel, root) if _is_done(m))

    def _await_answer(
        self, response: DriverResponse, sent: float, channel: str, root: str, already: int
    ) -> _Outcome:
        outcome = _Outcome(ack_s=response.elapsed_s)
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            done = [m for m in self._replies(channel, root) if _is_done(m)]
            if len(done) > already:
                reply = done[already]
                outcome.first_visible_s = reply["edits"][0][0] - sent - TTFT_MS / 1000
                outcome.total_s = reply["edits"][-1][0] - sent
                outcome.failed = reply["text"].startswith(ERROR_PREFIXES[0])
                outcome.refused = reply["text"].startswith(ERROR_PREFIXES[1])
                return outcome
            time.sleep(0.02)
        outcome.failed = True
        return outcome


def _is_done(message: dict[str, Any]) -> bool:
    return is_finished_answer(message) or (
        not message["streaming"] and message["text"].startswith(ERROR_PREFIXES)
    )


def run_once(trace: Trace, levers: str, speed: float, workers: int) -> RunResult:
    """One pass of the trace on a fresh stack with `LEVERS=levers`."""
    result = RunResult(levers)
    env = {"LEVERS": levers, "SLACK_STREAM_FLUSH_S": "0.1"}
    with local_stack(workers=workers, env=env) as stack:
        for user, name in trace.header.users.items():
            stack.slack.add_user(user, name)
            stack.slack.dm_channel(user)
        for channel, name in trace.header.channels.items():
            stack.slack.add_channel(channel, name)
        for emulator in (stack.bedrock, stack.ec2):
            emulator.pace = Pace(ttft_ms=TTFT_MS, tokens_per_s=TOKENS_PER_S)
        _Runner(stack, trace, speed).run(result)
        result.records = Ledger(redis.Redis.from_url(stack.redis_url)).records(0, time.time() + 1)
    return result


def summarize(run: RunResult, baseline: RunResult | None) -> dict[str, Any]:
    """The replay's report, as one JSON-able object."""
    catalog = PriceCatalog.load()
    savings = real_levers(savings_by_lever(run.records, catalog))
    cost = savings.actual_micro_usd
    replayed_baseline = (
        savings_by_lever(baseline.records, catalog).actual_micro_usd if baseline else None
    )
    reference = replayed_baseline if replayed_baseline is not None else savings.baseline_micro_usd
    hits = sum(rec.cache_hit for rec in run.records)
    outcomes = run.outcomes
    return {
        "levers": run.levers,
        "events": sum(run.handled.values()) + sum(run.skipped.values()),
        "handled": dict(run.handled),
        "skipped": dict(run.skipped),
        "failed": sum(o.failed for o in outcomes),
        "refused": sum(o.refused for o in outcomes),
        "model_calls": len(run.records),
        "cost_usd": cost / 1e6,
        "baseline_cost_usd": reference / 1e6,
        "baseline_replayed": replayed_baseline is not None,
        "ledger_baseline_usd": savings.baseline_micro_usd / 1e6,
        "savings_pct": round(100 * (reference - cost) / reference, 1) if reference else 0.0,
        "savings_by_lever": {name: amount / 1e6 for name, amount in savings.by_lever.items()},
        "unpriced_calls": savings.unpriced_requests,
        "cache_hit_rate": hits / len(run.records) if run.records else 0.0,
        "model_mix": dict(Counter(rec.model for rec in run.records).most_common()),
        "latency_ms": {
            "ack": summary_ms([o.ack_s for o in outcomes]),
            "first_visible_minus_ttft": summary_ms(
                [o.first_visible_s for o in outcomes if o.first_visible_s is not None]
            ),
            "total": summary_ms([o.total_s for o in outcomes if o.total_s is not None]),
        },
        "seconds": run.seconds + (baseline.seconds if baseline else 0.0),
    }


def replay(
    trace: Trace, levers: str = "all", speed: float = 0.0, workers: int = 2
) -> dict[str, Any]:
    run = run_once(trace, levers, speed, workers)
    baseline = run_once(trace, "none", speed, workers) if levers != "none" else None
    return summarize(run, baseline)


__all__ = ["RunResult", "replay", "run_once", "summarize"]
