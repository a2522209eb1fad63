"""What both model emulators share: pacing, deterministic emulated text, token counting.

The emulated answer is plainly marked as coming from the offline emulator. Its length follows
the prompt and the output cap deterministically: `min(max_tokens, 24 + prompt_tokens // 3)`
tokens, counted with `gateway.tokens.estimate_tokens` — the same rule the gateway uses to
estimate usage after a cut stream.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.tokens import estimate_tokens
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
    """Time to first token and decode speed; zero means as fast as possible."""

    ttft_ms: float = 0.0
    tokens_per_s: float = 0.0

    def before_first(self) -> None:
        if self.ttft_ms > 0:
            time.sleep(self.ttft_ms / 1000)

    def after(self, delta: str) -> None:
        if self.tokens_per_s > 0:
            time.sleep(estimate_tokens(delta) / self.tokens_per_s)


def output_budget(prompt_tokens: int, max_tokens: int) -> int:
    return max(1, min(max_tokens, 48 + prompt_tokens // 2))


def emulated_deltas(model: str, prompt: str, question: str, max_tokens: int) -> list[str]:
    """The emulated answer as stream deltas (one word each), deterministic for its inputs.

    `prompt` is the whole request text (it sets the length and seeds the words); `question`
    is the last user turn, echoed so a person sees which request was answered.
    """
    target = output_budget(estimate_tokens(prompt), max_tokens)
    rng = random.Random(hashlib.sha256(f"{model}\0{prompt}".encode()).digest())
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


class ModelEmulator(EmulatorServer):
    """Base for the Bedrock and OpenAI-compatible emulators: pacing set over HTTP too."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, pace: Pace | None = None) -> None:
        super().__init__(host, port)
        self.pace = pace or Pace()
        self._pace_lock = threading.Lock()
        self.route("POST", r"/_sandbox/pace", self._set_pace)

    def _set_pace(self, ex: Exchange) -> None:
        with self._pace_lock:
            self.pace = Pace(**ex.body)
        ex.send_json({"ok": True})

    def paced(self, deltas: list[str]) -> Iterator[str]:
        pace = self.pace
        pace.before_first()
        for delta in deltas:
            yield delta
            pace.after(delta)


__all__ = ["ModelEmulator", "Pace", "emulated_deltas", "output_budget"]
