"""What both model emulators share: pacing, deterministic emulated text, token counting.

The emulated answer is plainly marked as coming from the offline emulator. Its length depends
only on what the person asked — the words of the question's first line, which compaction keeps —
never on the rest of the prompt: the same question gets an answer of the same length whether or
not its pasted log was compacted or its thread trimmed, so a lever that shrinks the prompt does
not also shrink the answer and overstate its saving. Lengths spread over 120–480 tokens,
capped by `max_tokens`, counted with `gateway.tokens.estimate_tokens` — the same rule the
gateway uses to estimate usage after a cut stream. A prompt whose last user turn holds
numbered items (`<item id="N">…</item>`, see `sandbox.packed_reply`) is answered as a JSON
array, one answer per item; `reply_*` faults script a broken one.

Pacing: by default each stream sleeps on its own (`ttft_ms`, `tokens_per_s`). The GPU-like
profile (`gpu_step_ms` > 0) instead runs decode steps one after another while any stream is
active, as a server with continuous batching (vLLM) does: each step gives every active stream
one token and lasts `gpu_step_ms * (1 + gpu_stream_slowdown * (streams - 1))`, so throughput
grows almost linearly with concurrent streams while each stream slows only a little.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gateway.tokens import estimate_tokens
from sandbox.judge_reply import judge_reply
from sandbox.packed_reply import REPLY_FAULTS, items_in, packed_deltas
from sandbox.server import EmulatorServer, Exchange

_WORDS = (
    "deploy",
    "rollback",
    "replica",
    "primary",
    "failover",
    "latency",
    "budget",
    "queue",
    "worker",
    "shard",
    "cache",
    "ingress",
    "certificate",
    "rotate",
    "secret",
    "staging",
    "production",
    "alert",
    "runbook",
    "pager",
    "incident",
    "metric",
    "dashboard",
    "throttle",
    "retry",
    "timeout",
    "backoff",
    "lease",
    "quorum",
    "snapshot",
    "restore",
    "pipeline",
    "canary",
    "release",
    "migration",
    "index",
    "vacuum",
    "connection",
    "pool",
)


@dataclass
class Pace:
    """Time to first token and decode speed; zero means as fast as possible.

    `gpu_step_ms` > 0 switches decoding to the GPU-like profile (module docstring); then
    `tokens_per_s` is not used.
    """

    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0
    gpu_step_ms: float = 0.0
    gpu_stream_slowdown: float = 0.05

    def step_s(self, streams: int) -> float:
        """One GPU-like decode step's time with `streams` active."""
        return self.gpu_step_ms / 1000 * (1 + self.gpu_stream_slowdown * max(0, streams - 1))

    def before_first(self) -> None:
        if self.ttft_ms > 0:
            time.sleep(self.ttft_ms / 1000)

    def after(self, delta: str) -> None:
        if self.tokens_per_s > 0:
            time.sleep(estimate_tokens(delta) / self.tokens_per_s)


ANSWER_TOKENS_MIN, ANSWER_TOKENS_SPREAD = 120, 360
_MARKUP = re.compile(r"<[^>]*>|&\w+;|[@#]\S+")


def asked(question: str) -> str:
    """What the person asked, as compaction leaves it: the words of the question's first
    line, without Slack markup, mentions or entities (which compaction rewrites)."""
    first = next((line for line in question.splitlines() if line.strip()), "")
    return " ".join(re.findall(r"[a-z]+", _MARKUP.sub(" ", first.lower())))[:80]


def output_budget(question: str, max_tokens: int) -> int:
    """The answer's length in tokens: a spread set by what was asked, capped by max_tokens."""
    digest = hashlib.sha256(asked(question).encode()).digest()
    spread = int.from_bytes(digest[:4], "big") % (ANSWER_TOKENS_SPREAD + 1)
    return max(1, min(max_tokens, ANSWER_TOKENS_MIN + spread))


def emulated_deltas(model: str, prompt: str, question: str, max_tokens: int) -> list[str]:
    """The emulated answer as stream deltas (one word each), deterministic for its inputs.

    `question` is the last user turn: it sets the length and seeds the words, and is echoed so
    a person sees which request was answered; `prompt` (the whole request text) is accepted
    for the emulators' one signature but changes nothing.
    """
    target = output_budget(question, max_tokens)
    rng = random.Random(hashlib.sha256(f"{model}\0{asked(question)}".encode()).digest())
    echo = " ".join(question.split())
    echo = echo if len(echo) <= 80 else echo[:79] + "…"
    words = f"[offline emulator · {model}] You asked: “{echo}”. This is emulated text.".split()
    deltas: list[str] = []
    text = ""
    sentence_left = 0
    for index in range(1_000_000):
        if index < len(words):
            word = words[index]
        else:
            if sentence_left == 0:
                sentence_left = rng.randint(6, 14)
            word = rng.choice(_WORDS)
            sentence_left -= 1
            if sentence_left == 0:
                word += "."
        piece = word if index == 0 else " " + word
        if estimate_tokens(text + piece) > target:
            break
        deltas.append(piece)
        text += piece
    return deltas or ["…"]


class DecodeClock:
    """The GPU-like profile's decode loop, shared by every stream of one emulator.

    While any stream is active a thread runs steps back to back; each step's length depends
    on how many streams are active, and every waiting stream gets one token per step. Records
    the steps run and the most streams ever active at once, for tests and benchmarks.
    """

    def __init__(self, pace: Callable[[], Pace]) -> None:
        self._pace = pace
        self._cond = threading.Condition()
        self._active = 0
        self._running = False
        self.steps = 0
        self.peak_streams = 0

    @contextmanager
    def stream(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
            self.peak_streams = max(self.peak_streams, self._active)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="gpu-decode", daemon=True).start()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1

    def wait_tokens(self, count: int) -> None:
        """Block until `count` more decode steps have run."""
        with self._cond:
            target = self.steps + count
            while self.steps < target:
                self._cond.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._active == 0:
                    self._running = False
                    return
                active = self._active
            time.sleep(self._pace().step_s(active))
            with self._cond:
                self.steps += 1
                self._cond.notify_all()


class ModelEmulator(EmulatorServer):
    """Base for the Bedrock and OpenAI-compatible emulators: pacing set over HTTP too."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, pace: Pace | None = None) -> None:
        super().__init__(host, port)
        self.pace = pace or Pace()
        self._pace_lock = threading.Lock()
        self.decode = DecodeClock(lambda: self.pace)
        self._scripted: list[str] = []
        self._delta_chars = 3
        self.route("POST", r"/_sandbox/pace", self._set_pace)

    def script(self, *answers: str, delta_chars: int = 3) -> None:
        """Answer the next requests with these texts, one each, in order, instead of the
        emulated text: what a test needs a model to write (a ping, a secret). Streamed in
        pieces of `delta_chars`, so that what a client must reassemble arrives split."""
        with self._pace_lock:
            self._scripted += answers
            self._delta_chars = delta_chars

    def _set_pace(self, ex: Exchange) -> None:
        with self._pace_lock:
            self.pace = Pace(**ex.body)
        ex.send_json({"ok": True})

    def answer_deltas(
        self, path: str, model: str, prompt: str, question: str, max_tokens: int
    ) -> list[str]:
        """The reply to a request: a JSON array for numbered items (a `reply_*` fault, if one
        is queued for `path`, breaks it as scripted), else the emulated answer."""
        with self._pace_lock:
            scripted = self._scripted.pop(0) if self._scripted else None
        if scripted is not None:
            size = self._delta_chars
            return [scripted[i : i + size] for i in range(0, len(scripted), size)] or [""]
        graded = judge_reply(question)
        if graded is not None:
            return [graded[i : i + 8] for i in range(0, len(graded), 8)]
        items = items_in(question)
        if not items:
            return emulated_deltas(model, prompt, question, max_tokens)
        fault = self.take_fault(path, kinds=REPLY_FAULTS)
        instructions = prompt.removesuffix(question)
        return packed_deltas(
            model, instructions, items, max_tokens, fault.kind if fault else "", emulated_deltas
        )

    def paced(self, deltas: list[str]) -> Iterator[str]:
        pace = self.pace
        pace.before_first()
        if pace.gpu_step_ms <= 0:
            for delta in deltas:
                yield delta
                pace.after(delta)
            return
        with self.decode.stream():
            for delta in deltas:
                self.decode.wait_tokens(estimate_tokens(delta))
                yield delta


__all__ = ["DecodeClock", "ModelEmulator", "Pace", "asked", "emulated_deltas", "output_budget"]
