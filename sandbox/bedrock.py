"""Bedrock runtime emulator: Converse and ConverseStream, as boto3 reaches them through
`endpoint_url`: `POST /model/{url-encoded modelId}/converse` and `/converse-stream`.

Prompt caching follows Bedrock: a `cachePoint` block marks the end of a prefix to cache; below
the model's minimum prefix it is silently ignored; the first use writes, later uses within the
TTL (5 minutes, refreshed on each hit) read. `inputTokens` excludes cached tokens.

Faults (see `sandbox.server.Fault`): `throttle` → HTTP 429 ThrottlingException; `error` → 503
ServiceUnavailableException (or `status`); `access_denied` → 403 AccessDeniedException;
`not_found` → 404 ResourceNotFoundException; `cut` → the connection drops after `after` deltas;
`stream_error` → an in-stream `modelStreamErrorException` after `after` deltas; `reply_*`
script a broken packed reply (`sandbox.packed_reply`).

Embeddings: `POST /model/amazon.titan-embed-text-v2:0/invoke` answers as Titan Text Embeddings
V2 does (`inputText`, `dimensions` 256/512/1024 → `embedding`, `inputTextTokenCount`), with
deterministic vectors built from the text's words, so texts sharing words lie close; `throttle`
and `error` faults apply, and `Pace.ttft_ms` delays the answer.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.prompt_cache import MIN_CACHE_PREFIX_TOKENS, min_cache_prefix
from gateway.tokens import estimate_tokens
from sandbox import eventstream
from sandbox.llm import ModelEmulator, Pace
from sandbox.server import Exchange

CACHE_TTL_S = 300.0

_ERROR_STATUS = {
    "ThrottlingException": 429,
    "ValidationException": 400,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
}
# Faults that are a route's set-up, not the service's health: model access not granted,
# a model id Bedrock does not know.
_SETUP_FAULTS = {
    "access_denied": ("AccessDeniedException", "You don't have access to the model."),
    "not_found": ("ResourceNotFoundException", "The requested model was not found."),
}


@dataclass(frozen=True)
class _Prompt:
    """The request's text blocks in order, with the block counts at each cache point."""

    blocks: tuple[str, ...]
    cache_points: tuple[int, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.blocks)

    def prefix_tokens(self, upto: int) -> int:
        return sum(estimate_tokens(block) for block in self.blocks[:upto])

    def prefix_key(self, model: str, upto: int) -> str:
        digest = hashlib.sha256(model.encode())
        for block in self.blocks[:upto]:
            digest.update(b"\0" + block.encode())
        return digest.hexdigest()


def _parse_prompt(body: dict[str, Any]) -> _Prompt:
    blocks: list[str] = []
    points: list[int] = []

    def take(content: list[dict[str, Any]]) -> None:
        for block in content:
            if "text" in block:
                blocks.append(block["text"])
            elif "cachePoint" in block:
                points.append(len(blocks))

    take(body.get("system", []))
    for message in body.get("messages", []):
        if message.get("role") not in ("user", "assistant"):
            raise ValueError("messages[].role must be user or assistant")
        take(message.get("content", []))
    if not body.get("messages"):
        raise ValueError("messages must not be empty")
    if len(points) > 4:
        raise ValueError("a request may have at most 4 cachePoint blocks")
    return _Prompt(tuple(blocks), tuple(points))


class PromptCache:
    """Bedrock prompt-cache accounting for one emulator: prefix hash → expiry time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def usage(self, model: str, prompt: _Prompt) -> tuple[int, int, int]:
        """(input, cache read, cache write) tokens for this prompt, updating the cache."""
        total = prompt.prefix_tokens(len(prompt.blocks))
        minimum = min_cache_prefix(model)
        points = [p for p in prompt.cache_points if minimum and prompt.prefix_tokens(p) >= minimum]
        if not points:
            return total, 0, 0
        now = self.clock()
        with self._lock:
            read_upto = 0
            for point in sorted(points, reverse=True):
                key = prompt.prefix_key(model, point)
                if self._expiry.get(key, 0.0) > now:
                    read_upto = point
                    break
            for point in points:
                self._expiry[prompt.prefix_key(model, point)] = now + CACHE_TTL_S
        last = max(points)
        read = prompt.prefix_tokens(read_upto)
        write = prompt.prefix_tokens(last) - read
        return total - read - write, read, write


class BedrockEmulator(ModelEmulator):
    name = "bedrock"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: Pace | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(host, port, pace)
        self.prompt_cache = PromptCache(clock)
        self.route("POST", r"/model/(?P<model>[^/]+)/converse", self._converse)
        self.route("POST", r"/model/(?P<model>[^/]+)/converse-stream", self._converse_stream)
        self.route("POST", r"/model/(?P<model>[^/]+)/invoke", self._invoke)

    # -- helpers -----------------------------------------------------------------------------

    def _error(self, ex: Exchange, code: str, message: str, status: int | None = None) -> None:
        ex.send_json(
            {"message": message},
            status=status or _ERROR_STATUS.get(code, 500),
            headers={
                "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/",
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )

    def _prepare(self, ex: Exchange) -> tuple[str, _Prompt, int, list[str]] | None:
        """Validate, apply a pre-stream fault, and compute the reply; None if answered."""
        model = ex.param("model")
        fault = self.take_fault(ex.path, kinds=("throttle", "error", *_SETUP_FAULTS))
        if fault and fault.kind == "throttle":
            self._error(
                ex, "ThrottlingException", "Too many requests, please wait before trying again."
            )
            return None
        if fault and fault.kind in _SETUP_FAULTS:
            self._error(ex, *_SETUP_FAULTS[fault.kind])
            return None
        if fault and fault.kind == "error":
            code = (
                "InternalServerException" if fault.status == 500 else "ServiceUnavailableException"
            )
            self._error(ex, code, "The service is temporarily unavailable.", fault.status or None)
            return None
        try:
            prompt = _parse_prompt(ex.body)
            max_tokens = int(ex.body.get("inferenceConfig", {}).get("maxTokens", 4096))
        except (ValueError, TypeError, AttributeError) as exc:
            self._error(ex, "ValidationException", str(exc))
            return None
        return (
            model,
            prompt,
            max_tokens,
            self.answer_deltas(ex.path, model, prompt.text, prompt.blocks[-1], max_tokens),
        )

    def _usage(self, model: str, prompt: _Prompt, text: str) -> dict[str, int]:
        uncached, read, write = self.prompt_cache.usage(model, prompt)
        output = estimate_tokens(text)
        return {
            "inputTokens": uncached,
            "outputTokens": output,
            "totalTokens": uncached + read + write + output,
            "cacheReadInputTokens": read,
            "cacheWriteInputTokens": write,
        }

    # -- routes ------------------------------------------------------------------------------

    def _converse(self, ex: Exchange) -> None:
        prepared = self._prepare(ex)
        if prepared is None:
            return
        model, prompt, max_tokens, deltas = prepared
        self.pace.before_first()
        text = "".join(deltas)
        ex.send_json(
            {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "max_tokens"
                if len(deltas) and _hit_cap(text, max_tokens)
                else "end_turn",
                "usage": self._usage(model, prompt, text),
                "metrics": {"latencyMs": int(self.pace.ttft_ms)},
            },
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    def _converse_stream(self, ex: Exchange) -> None:
        mid_fault = self.take_fault(ex.path, kinds=("cut", "stream_error"))
        prepared = self._prepare(ex)
        if prepared is None:
            return
        model, prompt, max_tokens, deltas = prepared
        started = time.monotonic()
        ex.start_chunked("application/vnd.amazon.eventstream")
        ex.write_chunk(eventstream.event("messageStart", {"role": "assistant"}))
        sent = ""
        for index, delta in enumerate(self.paced(deltas)):
            if mid_fault and index == mid_fault.after:
                if mid_fault.kind == "cut":
                    ex.cut()
                    return
                ex.write_chunk(
                    eventstream.exception(
                        "modelStreamErrorException", "The model stream failed mid-response."
                    )
                )
                ex.end_chunked()
                return
            body = {"contentBlockIndex": 0, "delta": {"text": delta}}
            ex.write_chunk(eventstream.event("contentBlockDelta", body))
            sent += delta
        ex.write_chunk(eventstream.event("contentBlockStop", {"contentBlockIndex": 0}))
        stop = "max_tokens" if _hit_cap(sent, max_tokens) else "end_turn"
        ex.write_chunk(eventstream.event("messageStop", {"stopReason": stop}))
        latency = int((time.monotonic() - started) * 1000)
        ex.write_chunk(
            eventstream.event(
                "metadata",
                {"usage": self._usage(model, prompt, sent), "metrics": {"latencyMs": latency}},
            )
        )
        ex.end_chunked()

    def _invoke(self, ex: Exchange) -> None:
        """InvokeModel, for Titan Text Embeddings V2 only."""
        model, body = ex.param("model"), ex.body
        fault = self.take_fault(ex.path, kinds=("throttle", "error"))
        if fault and fault.kind == "throttle":
            self._error(ex, "ThrottlingException", "Too many requests.")
            return
        if fault:
            self._error(ex, "ServiceUnavailableException", "The service is unavailable.")
            return
        text, dimensions = body.get("inputText"), body.get("dimensions", 1024)
        if not model.startswith(TITAN_EMBED_PREFIX):
            self._error(ex, "ValidationException", f"InvokeModel is not emulated for {model}")
            return
        if not isinstance(text, str) or not text or dimensions not in TITAN_DIMENSIONS:
            self._error(ex, "ValidationException", "inputText and dimensions 256|512|1024")
            return
        self.pace.before_first()
        answer = {
            "embedding": titan_embedding(text, dimensions),
            "inputTextTokenCount": estimate_tokens(text),
        }
        ex.send_json(answer, headers={"x-amzn-RequestId": str(uuid.uuid4())})


TITAN_EMBED_PREFIX = "amazon.titan-embed-text-v2"
TITAN_DIMENSIONS = (256, 512, 1024)


def titan_embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector: the sum of one pseudo-random vector per word (seeded by the word)."""
    total = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        rng = random.Random(hashlib.sha256(word.encode()).digest())
        total = [t + rng.gauss(0.0, 1.0) for t in total]
    norm = math.sqrt(sum(v * v for v in total)) or 1.0
    return [v / norm for v in total]


def _hit_cap(text: str, max_tokens: int) -> bool:
    return estimate_tokens(text) >= max_tokens


__all__ = [
    "CACHE_TTL_S",
    "MIN_CACHE_PREFIX_TOKENS",
    "TITAN_DIMENSIONS",
    "BedrockEmulator",
    "PromptCache",
    "titan_embedding",
]
