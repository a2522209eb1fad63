"""`chatops replay`: drive a workload trace through the whole running system — signed HTTP to
the bot, a real Redis, RQ worker processes, the emulators — and report cost and latency.

Events are sent in trace order at `t / speed` (speed 0: as fast as the system answers). A
follow-up in a thread waits for the answer before it, as a person would. Event kinds the bot
does not handle yet are counted as skipped, never silently dropped. Cost comes from the
ledger the run wrote; the naive baseline from a second run with every lever off
(`baseline_replay`), and the ledger's own counterfactual is reported beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from chatops.demo import is_finished_answer
from chatops.messages import root_message
from chatops.percentiles import summary_ms
from chatops.stack import SIGNING_SECRET, Stack, local_stack
from chatops.trace import Trace, TraceEvent
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.savings import real_levers, savings_by_lever
from sandbox.llm import Pace
from sandbox.slack import SlackEmulator
from sandbox.slack_driver import DriverResponse, SlackDriver

log = logging.getLogger(__name__)

TTFT_MS = 20.0
TOKENS_PER_S = 0.0  # unpaced: the replay measures cost and our overhead, not decoding
IN_FLIGHT = 4
ANSWER_TIMEOUT_S = 120.0
# How a finished reply that is not an answer starts: a failure, a refusal, a notice.
ERROR_PREFIXES = (":warning:", ":no_entry:", ":information_source:")


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
    """Thread labels → where each thread is, and the event its next follow-up waits for.

    Written only by the dispatching loop and a thread's own (serialised) events.
    """

    def __init__(self) -> None:
        self._ts: dict[str, tuple[str, str]] = {}
        self._done: dict[str, threading.Event] = {}

    def has_started(self, label: str) -> bool:
        return label in self._ts

    def previous_done(self, label: str) -> threading.Event | None:
        return self._done.get(label)

    def mark(self, label: str, event: threading.Event) -> None:
        self._done[label] = event

    def start(self, label: str, channel: str, ts: str) -> None:
        self._ts[label] = (channel, ts)

    def where(self, label: str) -> tuple[str, str]:
        return self._ts[label]


class _Watcher:
    """What the bot posts, as the Slack emulator reports it (an `on_change` hook): the replay
    waits on these instead of polling the emulator, whose reads would slow the very bot it
    measures."""

    def __init__(self, slack: SlackEmulator) -> None:
        self._changed = threading.Condition()
        self._roots: dict[tuple[str, str], deque[str]] = defaultdict(deque)
        self._answers: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._answered: set[str] = set()
        self.files = 0
        slack.on_change.append(self._on_change)

    def _on_change(self, event: str, channel: str, message: dict[str, Any]) -> None:
        if not message.get("bot_id"):
            return
        with self._changed:
            thread = message.get("thread_ts")
            if message.get("files"):
                self.files += 1
            elif thread is None and event == "message_posted":
                self._roots[(channel, message["text"])].append(message["ts"])
            elif thread is not None and message["ts"] not in self._answered and _is_done(message):
                self._answered.add(message["ts"])
                self._answers[(channel, thread)].append(message)
            self._changed.notify_all()

    def root(self, channel: str, text: str) -> str | None:
        """The next unclaimed top-level bot message with this text (identical /asks in turn)."""
        with self._changed:
            found = self._changed.wait_for(lambda: self._roots[(channel, text)], ANSWER_TIMEOUT_S)
            return self._roots[(channel, text)].popleft() if found else None

    def answers(self, channel: str, thread: str) -> int:
        with self._changed:
            return len(self._answers[(channel, thread)])

    def answer(self, channel: str, thread: str, index: int) -> dict[str, Any] | None:
        """The thread's `index`-th finished reply, once it is there."""
        with self._changed:
            replies = self._answers[(channel, thread)]
            found = self._changed.wait_for(lambda: len(replies) > index, ANSWER_TIMEOUT_S)
            return replies[index] if found else None

    def file_after(self, seen: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.files > seen, ANSWER_TIMEOUT_S)


class _Runner:
    def __init__(self, stack: Stack, trace: Trace, speed: float) -> None:
        self.stack = stack
        self.trace = trace
        self.speed = speed
        self.driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
        self.threads = _Threads()
        self.watcher = _Watcher(stack.slack)
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
        root = self.watcher.root(event.channel, root_message(event.user, event.text))
        if root is None:
            log.warning("no_root ask=%r", event.text[:60])
            return _Outcome(ack_s=response.elapsed_s, failed=True)
        if event.thread:
            self.threads.start(event.thread, event.channel, root)
        return self._await_answer(response, sent, event.channel, root, already=0)

    def _mention(self, event: TraceEvent) -> _Outcome:
        assert event.text is not None
        if event.thread and self.threads.has_started(event.thread):
            channel, root = self.threads.where(event.thread)
            already = self.watcher.answers(channel, root)
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
        seen = self.watcher.files
        sent = time.time()
        response = self.driver.slash("/llm-cost", event.period or "", event.user, event.channel)
        charted = self.watcher.file_after(seen)
        return _Outcome(ack_s=response.elapsed_s, total_s=time.time() - sent, failed=not charted)

    # -- what the person sees -----------------------------------------------------------------

    def _await_answer(
        self, response: DriverResponse, sent: float, channel: str, root: str, already: int
    ) -> _Outcome:
        outcome = _Outcome(ack_s=response.elapsed_s)
        reply = self.watcher.answer(channel, root, already)
        if reply is None:
            log.warning("no_answer channel=%s thread=%s", channel, root)
            outcome.failed = True
            return outcome
        outcome.first_visible_s = reply["edits"][0][0] - sent - TTFT_MS / 1000
        outcome.total_s = reply["edits"][-1][0] - sent
        outcome.failed = reply["text"].startswith(ERROR_PREFIXES[0])
        outcome.refused = reply["text"].startswith(ERROR_PREFIXES[1:])
        return outcome


def _is_done(message: dict[str, Any]) -> bool:
    return is_finished_answer(message) or (
        not message["streaming"] and message["text"].startswith(ERROR_PREFIXES)
    )


def run_once(trace: Trace, levers: str, speed: float, workers: int) -> RunResult:
    """One pass of the trace on a fresh stack with `LEVERS=levers`."""
    result = RunResult(levers)
    env = {"LEVERS": levers, "SLACK_STREAM_FLUSH_S": "0.1"}
    with local_stack(workers=workers, env=env, jira_fixture=trace.jira_fixture) as stack:
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
