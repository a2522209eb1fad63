"""`chatops replay`: drive a workload trace through the whole running system — signed HTTP to
the bot, a real Redis, RQ worker processes, the emulators — and report cost and latency.

Events are sent in trace order at `t / speed` (speed 0: as fast as the system answers). A
follow-up in a thread waits for the answer before it, as a person would. Every event ends in
one outcome — answered, cached, no call, refused, failed or skipped (a kind the bot does not
handle yet) — and none is silently dropped: how the replay sees the bot finish is in
`chatops.replay_watch`, how each event joins its ledger rows in `chatops.replay_audit`. Cost
comes from the ledger the run wrote; the naive baseline from a second run with every lever
off (`baseline_replay`), and the ledger's own counterfactual is reported beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import redis

from chatops import messages
from chatops.messages import root_message
from chatops.payloads import BULK_QUEUE
from chatops.percentiles import summary_ms
from chatops.progress import Progress
from chatops.replay_audit import (
    event_rows,
    lever_decisions,
    outcome_counts,
    traffic_break_even,
    write_rows,
)
from chatops.replay_ec2 import Ec2Replay
from chatops.replay_watch import Shown, Sight, Watcher, root_key, shown_as
from chatops.settings import Settings, load_settings
from chatops.stack import SIGNING_SECRET, Stack, local_stack
from chatops.trace import JiraUpdate, Trace, TraceEvent
from gateway import keys
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.savings import real_levers, savings_by_lever
from integrations.jira.intent import read_intent
from sandbox.llm import Pace
from sandbox.slack_driver import DriverResponse, SlackDriver

log = logging.getLogger(__name__)

TTFT_MS = 20.0
TOKENS_PER_S = 0.0  # unpaced: the replay measures cost and our overhead, not decoding
IN_FLIGHT = 4
ANSWER_TIMEOUT_S = 120.0
# The request ids the bot gives what it is sent (bot/listeners): `<prefix>-<trigger_id>` for a
# slash command, `ev-<channel>-<ts>` for a message event. The ledger rows carry them.
SLASH_REQUEST_PREFIX = {"/ask": "ask", "/llm-cost": "cost", "/summarize": "sum"}
# How a refusal for length starts (`messages.QUESTION_TOO_LONG`), in a reply or an ack.
TOO_LONG_PREFIX = messages.QUESTION_TOO_LONG.split("{", 1)[0]


@dataclass
class EventResult:
    """What one event led to, as the person saw it, and the request id that joins it to the
    ledger."""

    shown: Shown = "timeout"
    request_id: str = ""
    ack_s: float | None = None
    first_visible_s: float | None = None
    total_s: float | None = None
    # Refused because the question was too long (MAX_QUESTION_CHARS).
    refused_for_length: bool = False

    def saw(self, sight: Sight | None, sent: float) -> EventResult:
        if sight is None:
            self.shown = "timeout"
            return self
        self.shown = sight.shown
        self.refused_for_length = sight.shown == "refusal" and TOO_LONG_PREFIX in sight.text
        if sight.edits:
            self.first_visible_s = sight.edits[0][0] - sent - TTFT_MS / 1000
            self.total_s = sight.edits[-1][0] - sent
        else:
            self.total_s = (sight.seen_at or time.time()) - sent
        return self


@dataclass
class RunResult:
    """One pass over a trace with one lever setting; `results[i]` is event i's (None: skipped)."""

    levers: str
    handled: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    results: list[EventResult | None] = field(default_factory=list)
    records: list[LedgerRecord] = field(default_factory=list)
    seconds: float = 0.0
    # With the self-hosted instance (`chatops.replay_ec2`): its hours and what it served.
    ec2: dict[str, Any] | None = None

    @property
    def outcomes(self) -> list[EventResult]:
        return [result for result in self.results if result is not None]


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


@dataclass(frozen=True)
class _Watch:
    """One request being waited on: where its answer will appear and what else ends it."""

    channel: str
    user: str
    request_id: str
    ephemerals_seen: int
    message_ts: str | None = None  # the person's own message, which a reaction lands on


class _Runner:
    def __init__(self, stack: Stack, trace: Trace, speed: float, progress: Progress) -> None:
        self.stack = stack
        self.trace = trace
        self.speed = speed
        self.progress = progress
        self.driver = SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
        self.threads = _Threads()
        self.watcher = Watcher(stack.slack)
        self.redis = redis.Redis.from_url(stack.redis_url)
        self.handlers: dict[str, Callable[[TraceEvent], EventResult]] = {
            "ask": self._ask,
            "mention": self._mention,
            "dm": self._dm,
            "cost": self._cost,
            "summarize": self._summarize,
            "digest": self._digest,
        }
        self.updates = list(trace.jira_updates())

    def run(self, result: RunResult) -> None:
        started = time.monotonic()
        result.results = [None] * len(self.trace.events)

        def play(
            index: int, event: TraceEvent, after: threading.Event | None, done: threading.Event
        ) -> None:
            try:
                if self.speed:
                    time.sleep(max(0.0, started + event.t / self.speed - time.monotonic()))
                if after is not None:
                    after.wait(ANSWER_TIMEOUT_S)
                result.results[index] = self.handlers[event.kind](event)
            finally:
                done.set()
                self.progress.advance()

        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            for index, event in enumerate(self.trace.events):
                if event.kind not in self.handlers:
                    result.skipped[event.kind] += 1
                    self.progress.advance()
                    continue
                result.handled[_counted_as(event)] += 1
                self._apply_updates(event.t)
                done = threading.Event()
                after = self.threads.previous_done(event.thread) if event.thread else None
                if event.thread:
                    self.threads.mark(event.thread, done)
                pool.submit(play, index, event, after, done)
        result.seconds = round(time.monotonic() - started, 1)
        self.redis.close()

    # -- one handler per kind -----------------------------------------------------------------

    def _ask(self, event: TraceEvent) -> EventResult:
        assert event.text is not None
        watch_seen = self.watcher.ephemerals(event.channel, event.user)
        sent = time.time()
        response = self.driver.slash("/ask", event.text, event.user, event.channel)
        result = EventResult(request_id=_slash_request_id(response), ack_s=response.elapsed_s)
        if ack := response.body.strip():  # answered in the acknowledgement: nothing was queued
            return result.saw(Sight(shown_as(ack), ack, seen_at=time.time()), sent)
        watch = _Watch(event.channel, event.user, result.request_id, watch_seen)
        key = root_key(root_message(event.user, event.text))

        def rooted() -> str | Sight | None:
            return self.watcher.claim_root(event.channel, key) or self._ended_privately(watch)

        root: str | Sight | None = self.watcher.wait(
            rooted, ANSWER_TIMEOUT_S, poll=lambda: self._finished_unseen(watch)
        )
        if not isinstance(root, str):
            if root is None:
                log.warning("no_root ask=%r", event.text[:60])
            return result.saw(root, sent)
        if event.thread:
            self.threads.start(event.thread, event.channel, root)
        return self._await_answer(result, sent, watch, root, already=0)

    def _mention(self, event: TraceEvent) -> EventResult:
        assert event.text is not None
        channel, root = event.channel, None
        if event.thread and self.threads.has_started(event.thread):
            channel, root = self.threads.where(event.thread)
        return self._message(event, channel, root, self.driver.mention)

    def _dm(self, event: TraceEvent) -> EventResult:
        assert event.text is not None
        channel, root = event.channel, None
        if event.thread and self.threads.has_started(event.thread):
            channel, root = self.threads.where(event.thread)

        def send(user: str, where: str, text: str, thread_ts: str | None) -> DriverResponse:
            return self.driver.dm(user, text, where, thread_ts=thread_ts)

        return self._message(event, channel, root, send)

    def _message(
        self,
        event: TraceEvent,
        channel: str,
        root: str | None,
        send: Callable[[str, str, str, str | None], DriverResponse],
    ) -> EventResult:
        """A mention or a DM: at the top level (starting the event's thread), or in its thread."""
        assert event.text is not None
        already = self.watcher.answers(channel, root) if root else 0
        seen = self.watcher.ephemerals(channel, event.user)
        sent = time.time()
        response = send(event.user, channel, event.text, root)
        assert response.ts is not None
        result = EventResult(request_id=f"ev-{channel}-{response.ts}", ack_s=response.elapsed_s)
        if root is None and event.thread:
            self.threads.start(event.thread, channel, response.ts)
        watch = _Watch(channel, event.user, result.request_id, seen, response.ts)
        return self._await_answer(result, sent, watch, root or response.ts, already)

    def _cost(self, event: TraceEvent) -> EventResult:
        seen_files = self.watcher.files
        seen = self.watcher.ephemerals(event.channel, event.user)
        sent = time.time()
        response = self.driver.slash("/llm-cost", event.period or "", event.user, event.channel)
        result = EventResult(request_id=_slash_request_id(response), ack_s=response.elapsed_s)
        if response.body.strip():
            return result.saw(Sight(shown_as(response.body.strip()), seen_at=time.time()), sent)
        watch = _Watch(event.channel, event.user, result.request_id, seen)

        def charted() -> Sight | None:
            if self.watcher.files > seen_files:
                return Sight("chart", seen_at=time.time())
            return self._ended_privately(watch)

        sight = self.watcher.wait(
            charted, ANSWER_TIMEOUT_S, poll=lambda: self._finished_unseen(watch)
        )
        return result.saw(sight, sent)

    def _summarize(self, event: TraceEvent) -> EventResult:
        """`/summarize KEY`: the summary streams into the thread of the bot's root message."""
        assert event.jira_key is not None
        key = event.jira_key
        url = f"{self.stack.jira.url}/browse/{key}"
        root = messages.SUMMARY_ROOT.format(user=event.user, url=url, key=key)
        return self._rooted_slash(event, "/summarize", key, root, "sum")

    def _digest(self, event: TraceEvent) -> EventResult:
        """The project's digest, asked for as `/summarize project=KEY`: one message in the
        thread of the bot's root, a line per issue."""
        assert event.jira_key is not None
        jql = f'project = "{event.jira_key}" ORDER BY updated DESC'
        root = messages.DIGEST_ROOT.format(user=event.user, jql=jql)
        return self._rooted_slash(event, "/summarize", f"project={event.jira_key}", root, "digest")

    def _rooted_slash(
        self, event: TraceEvent, command: str, text: str, root_text: str, prefix: str
    ) -> EventResult:
        """A slash command the bot answers in the thread of a root message it posts."""
        seen = self.watcher.ephemerals(event.channel, event.user)
        sent = time.time()
        response = self.driver.slash(command, text, event.user, event.channel)
        form = parse_qs(response.request.body.decode())
        result = EventResult(
            request_id=f"{prefix}-{form['trigger_id'][0]}", ack_s=response.elapsed_s
        )
        if response.body.strip():
            return result.saw(Sight(shown_as(response.body.strip()), seen_at=time.time()), sent)
        watch = _Watch(event.channel, event.user, result.request_id, seen)
        key = root_key(root_text)

        def rooted() -> str | Sight | None:
            return self.watcher.claim_root(event.channel, key) or self._ended_privately(watch)

        root: str | Sight | None = self.watcher.wait(
            rooted, ANSWER_TIMEOUT_S, poll=lambda: self._finished_unseen(watch)
        )
        if not isinstance(root, str):
            return result.saw(root, sent)
        return self._await_answer(result, sent, watch, root, already=0)

    def _apply_updates(self, until_t: float) -> None:
        """Comments the trace says arrive before `until_t`, written into Jira now."""
        while self.updates and self.updates[0].t <= until_t:
            update: JiraUpdate = self.updates.pop(0)
            self.stack.jira.store.add_comment(update.key, update.author, update.body)

    # -- what the person sees -----------------------------------------------------------------

    def _await_answer(
        self, result: EventResult, sent: float, watch: _Watch, thread: str, already: int
    ) -> EventResult:
        sight = self.watcher.wait(
            lambda: (
                self.watcher.reply(watch.channel, thread, already) or self._ended_privately(watch)
            ),
            ANSWER_TIMEOUT_S,
            poll=lambda: self._finished_unseen(watch),
        )
        if sight is None:
            log.warning("no_answer channel=%s thread=%s", watch.channel, thread)
        return result.saw(sight, sent)

    def _ended_privately(self, watch: _Watch) -> Sight | None:
        """An ephemeral to the person, or a reaction on their message (under the lock)."""
        return self.watcher.ephemeral(
            watch.channel, watch.user, watch.ephemerals_seen
        ) or self.watcher.reaction(watch.channel, watch.message_ts)

    def _finished_unseen(self, watch: _Watch) -> Sight | None:
        """The bot says it is done with the request, though nothing above showed it: the
        `done` mark of its reply state (workers.reply_state), read without importing the
        workers."""
        try:
            done = self.redis.hget(keys.reply_state(watch.request_id), "done") == b"1"
        except redis.RedisError:
            return None
        return Sight("nothing", seen_at=time.time()) if done else None


def _counted_as(event: TraceEvent) -> str:
    """A mention or DM that asks for an issue's summary counts as a summary."""
    if event.kind in ("mention", "dm") and event.text:
        intent = read_intent(event.text, in_thread=event.thread is not None)
        if intent is not None and intent.kind == "summarize_issue":
            return "summarize"
    return event.kind


def _slash_request_id(response: DriverResponse) -> str:
    form = parse_qs(response.request.body.decode())
    command = form["command"][0]
    return f"{SLASH_REQUEST_PREFIX[command]}-{form['trigger_id'][0]}"


def _prepare(stack: Stack, trace: Trace) -> None:
    """The trace's people, channels and DMs, with the ids it gives them."""
    for user, name in trace.header.users.items():
        stack.slack.add_user(user, name)
    for channel, name in trace.header.channels.items():
        stack.slack.add_channel(channel, name)
    users = trace.header.users
    for channel, user in trace.dm_channels().items():
        stack.slack.store.add_channel(channel, f"dm-{users[user]}", dm_user=user)


def run_once(
    trace: Trace,
    levers: str,
    speed: float,
    workers: int,
    *,
    quiet: bool = False,
    ec2: Ec2Replay | None = None,
) -> RunResult:
    """One pass of the trace on a fresh stack with `LEVERS=levers`; with `ec2`, one EC2
    instance started on demand and stopped when idle serves its tier first."""
    result = RunResult(levers)
    env = {"LEVERS": levers, "SLACK_STREAM_FLUSH_S": "0.1", **(ec2.env() if ec2 else {})}
    # Whoever the trace has asking for spend was allowed to (nobody is, unless named).
    env["COST_REPORT_USERS"] = ",".join(sorted({e.user for e in trace.events if e.kind == "cost"}))
    label = "naive (LEVERS=none)" if levers == "none" else f"with the levers ({levers})"
    progress = Progress(label, len(trace.events), enabled=False if quiet else None)
    started_at = time.time()
    with local_stack(
        workers=workers,
        env=env,
        jira_fixture=trace.jira_fixture,
        ec2_instances=1 if ec2 else 0,
        ec2_boot=ec2.boot() if ec2 else None,
    ) as stack:
        stack.start_worker(BULK_QUEUE)  # summaries and digests
        _prepare(stack, trace)
        for emulator in (stack.bedrock, stack.ec2):
            emulator.pace = Pace(ttft_ms=TTFT_MS, tokens_per_s=TOKENS_PER_S)
        with progress:
            _Runner(stack, trace, speed, progress).run(result)
        if ec2 is not None:
            ec2.settle(stack)
        result.records = Ledger(redis.Redis.from_url(stack.redis_url)).records(0, time.time() + 1)
        if ec2 is not None:
            span_s = trace.events[-1].t if trace.events else 0.0
            result.ec2 = ec2.measure(
                stack, started_at, result.records, span_s, load_settings(), PriceCatalog.load()
            )
    return result


def summarize(
    run: RunResult,
    baseline: RunResult | None,
    *,
    trace: Trace | None = None,
    catalog: PriceCatalog | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The replay's report, as one JSON-able object; with the trace, every event's outcome
    and the traffic's Bedrock-vs-EC2 break-even too."""
    catalog = catalog or PriceCatalog.load()
    savings = real_levers(savings_by_lever(run.records, catalog))
    cost = savings.actual_micro_usd
    replayed_baseline = (
        savings_by_lever(baseline.records, catalog).actual_micro_usd if baseline else None
    )
    reference = replayed_baseline if replayed_baseline is not None else savings.baseline_micro_usd
    hits = sum(rec.cache_hit for rec in run.records)
    outcomes = run.outcomes
    report: dict[str, Any] = {
        "levers": run.levers,
        "events": sum(run.handled.values()) + sum(run.skipped.values()),
        "handled": dict(run.handled),
        "skipped": dict(run.skipped),
        "failed": sum(o.shown in ("failure", "timeout") for o in outcomes),
        "refused": sum(o.shown == "refusal" for o in outcomes),
        "refused_for_length": {
            "levers": sum(o.refused_for_length for o in outcomes),
            "naive": sum(o.refused_for_length for o in baseline.outcomes) if baseline else None,
        },
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
            "ack": summary_ms([o.ack_s for o in outcomes if o.ack_s is not None]),
            "first_visible_minus_ttft": summary_ms(
                [o.first_visible_s for o in outcomes if o.first_visible_s is not None]
            ),
            "total": summary_ms([o.total_s for o in outcomes if o.total_s is not None]),
        },
        "seconds": run.seconds + (baseline.seconds if baseline else 0.0),
    }
    report |= lever_decisions(run, baseline)
    if run.ec2 is not None:
        report["ec2"] = run.ec2
    if trace is not None:
        report |= outcome_counts(trace, run)
        report["break_even"] = traffic_break_even(trace, run, settings or load_settings(), catalog)
    return report


def replay(
    trace: Trace,
    levers: str = "all",
    speed: float = 0.0,
    workers: int = 2,
    *,
    catalog: PriceCatalog | None = None,
    settings: Settings | None = None,
    quiet: bool = False,
    events_out: Path | None = None,
    ec2: Ec2Replay | None = None,
) -> dict[str, Any]:
    """The trace with `levers`, then (unless that is already none) the naive way; progress on
    stderr when it is a terminal, unless `quiet`; one audit line per event in `events_out`.
    With `ec2`, the levers' run has the instance; the naive one (the strongest tier, on
    Bedrock) has none, and its timing matters to no figure, so it runs as fast as it can."""
    run = run_once(trace, levers, speed, workers, quiet=quiet, ec2=ec2)
    naive_speed = 0.0 if ec2 else speed
    baseline = (
        run_once(trace, "none", naive_speed, workers, quiet=quiet) if levers != "none" else None
    )
    if events_out is not None:
        write_rows(events_out, event_rows(trace, run, baseline))
    return summarize(run, baseline, trace=trace, catalog=catalog, settings=settings)


__all__ = ["EventResult", "RunResult", "replay", "run_once", "summarize"]
