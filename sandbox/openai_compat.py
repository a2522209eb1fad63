"""OpenAI-compatible server emulator, as vLLM, llama.cpp server or Ollama expose on the EC2 box:
`POST /v1/chat/completions` (SSE when `stream`, the usage chunk when
`stream_options.include_usage`), `GET /v1/models`, `POST /v1/embeddings`.

Faults: `throttle` → 429; `error` → 503 (or `status`); `cut` → the connection drops after
`after` deltas, before the usage chunk and `[DONE]`; `reply_*` script a broken packed reply
(`sandbox.packed_reply`).

Like a vLLM server on a GPU, it can batch concurrent streams: `Pace(gpu_step_ms=…)` switches on
the GPU-like profile (`sandbox.llm`), where one decode step gives every active stream a token.
The default pacing is per stream, as before.

Power: a `Boot` lets the server come up as on a started instance — connections refused, then
503s while the model loads, then answers (`power_on`); `power_off` refuses connections again.
`sandbox.ec2` drives both from the emulated instance's EC2 state.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from gateway.tokens import estimate_tokens
from sandbox.llm import ModelEmulator, Pace
from sandbox.server import POLL_INTERVAL_S, Exchange

EMBEDDING_DIMENSIONS = 64
# A model server's phases on its instance: not listening, loading the model (503), answering.
OFF, LOADING, READY = "off", "loading", "ready"


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content or [] if part.get("type") == "text")


@dataclass(frozen=True)
class Boot:
    """How the server comes up after `power_on`: connections refused for `refused_s` (the
    instance boots), 503s for `loading_s` (the weights load), then ready; `math.inf` stays."""

    refused_s: float = 0.0
    loading_s: float = 0.0


class OpenAICompatEmulator(ModelEmulator):
    name = "openai"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: Pace | None = None,
        models: tuple[str, ...] = ("llama-3.1-8b-instruct",),
    ) -> None:
        super().__init__(host, port, pace)
        self.boot = Boot()
        self._phase = READY
        self._generation = 0
        self._power_lock = threading.RLock()
        self.models = models
        self.route("POST", r"/v1/chat/completions", self._chat)
        self.route("GET", r"/v1/models", self._list_models)
        self.route("POST", r"/v1/embeddings", self._embeddings)

    # -- power: the instance this server runs on ---------------------------------------------

    @property
    def phase(self) -> str:
        return self._phase

    def power_off(self) -> None:
        """The instance stopped: connections are refused until `power_on`."""
        self._enter(OFF, self._next_generation())

    def power_on(self) -> None:
        """The instance started: refused, then loading, then ready, as `boot` says."""
        generation = self._next_generation()
        if self.boot.refused_s > 0:
            self._enter(OFF, generation)
            self._later(self.boot.refused_s, generation, self._listen)
        else:
            self._listen(generation)

    def finish_loading(self) -> bool:
        """The model finished loading now (a scripted boot: `Boot(loading_s=math.inf)`);
        False when the server was not loading."""
        with self._power_lock:
            if self._phase != LOADING:
                return False
            self._enter(READY, self._generation)
            return True

    def stop(self) -> None:
        self._next_generation()
        super().stop()

    def _listen(self, generation: int) -> None:
        if self.boot.loading_s > 0:
            self._enter(LOADING, generation)
            self._later(self.boot.loading_s, generation, lambda g: self._enter(READY, g))
        else:
            self._enter(READY, generation)

    def _next_generation(self) -> int:
        """A newer power change makes the pending steps of an older one void."""
        with self._power_lock:
            self._generation += 1
            return self._generation

    def _later(self, delay_s: float, generation: int, step: Callable[[int], None]) -> None:
        if delay_s != math.inf:
            timer = threading.Timer(delay_s, step, args=(generation,))
            timer.daemon = True
            timer.start()

    def _enter(self, phase: str, generation: int) -> None:
        with self._power_lock:
            if generation != self._generation:
                return
            listening = self._phase != OFF
            if phase == OFF and listening:
                self._httpd.shutdown()
                self._httpd.server_close()
            elif phase != OFF and not listening:
                port = self._httpd.server_port
                self._httpd = type(self._httpd)((self._host, port), self._handler_class())
                self._thread = threading.Thread(
                    target=self._httpd.serve_forever,
                    args=(POLL_INTERVAL_S,),
                    name=f"{self.name}-emulator",
                    daemon=True,
                )
                self._thread.start()
            self._phase = phase

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        """While the model loads every model route answers 503, as vLLM and llama.cpp do."""
        if self._phase != LOADING or not handler.path.startswith("/v1/"):
            super()._dispatch(handler)
            return
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        error = {"message": "Loading model", "type": "ServiceUnavailableError", "code": 503}
        data = json.dumps({"error": error}).encode()
        handler.send_response(503)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, ex: Exchange, status: int, kind: str, message: str) -> None:
        ex.send_json({"error": {"message": message, "type": kind, "code": status}}, status=status)

    def _list_models(self, ex: Exchange) -> None:
        created = int(time.time())
        data = [
            {"id": m, "object": "model", "created": created, "owned_by": "sandbox"}
            for m in self.models
        ]
        ex.send_json({"object": "list", "data": data})

    def _embeddings(self, ex: Exchange) -> None:
        inputs = ex.body.get("input", [])
        inputs = [inputs] if isinstance(inputs, str) else inputs
        data = []
        for index, text in enumerate(inputs):
            digest = hashlib.sha256(text.encode()).digest() * 2
            vector = [(byte - 127.5) / 127.5 for byte in digest[:EMBEDDING_DIMENSIONS]]
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            data.append(
                {"object": "embedding", "index": index, "embedding": [v / norm for v in vector]}
            )
        tokens = sum(estimate_tokens(t) for t in inputs)
        ex.send_json(
            {
                "object": "list",
                "data": data,
                "model": ex.body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _chat(self, ex: Exchange) -> None:
        body = ex.body
        model = body.get("model", "")
        fault = self.take_fault(ex.path, kinds=("throttle", "error"))
        if fault and fault.kind == "throttle":
            self._error(ex, 429, "RateLimitError", "Too many requests")
            return
        if fault:
            self._error(ex, fault.status or 503, "ServiceUnavailableError", "Server is overloaded")
            return
        if model not in self.models:
            self._error(ex, 404, "NotFoundError", f"The model `{model}` does not exist.")
            return
        messages = body.get("messages") or []
        if not messages:
            self._error(ex, 400, "BadRequestError", "messages must not be empty")
            return
        prompt = "\n".join(_content_text(m.get("content")) for m in messages)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 4096)
        question = _content_text(messages[-1].get("content"))
        deltas = self.answer_deltas(ex.path, model, prompt, question, max_tokens)
        prompt_tokens = sum(estimate_tokens(_content_text(m.get("content"))) for m in messages)
        if body.get("stream"):
            self._stream(ex, model, deltas, prompt_tokens, max_tokens)
            return
        self.pace.before_first()
        text = "".join(deltas)
        ex.send_json(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": _finish(text, max_tokens),
                    }
                ],
                "usage": _usage(prompt_tokens, text),
            }
        )

    def _stream(
        self, ex: Exchange, model: str, deltas: list[str], prompt_tokens: int, max_tokens: int
    ) -> None:
        cut = self.take_fault(ex.path, kinds=("cut",))
        include_usage = bool((ex.body.get("stream_options") or {}).get("include_usage"))
        chunk_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def send(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> None:
            chunk = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                "usage": usage,
            }
            ex.write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())

        ex.start_chunked("text/event-stream")
        send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        text = ""
        for index, delta in enumerate(self.paced(deltas)):
            if cut and index == cut.after:
                ex.cut()
                return
            send([{"index": 0, "delta": {"content": delta}, "finish_reason": None}])
            text += delta
        send([{"index": 0, "delta": {}, "finish_reason": _finish(text, max_tokens)}])
        if include_usage:
            send([], _usage(prompt_tokens, text))
        ex.write_chunk(b"data: [DONE]\n\n")
        ex.end_chunked()


def _finish(text: str, max_tokens: int) -> str:
    return "length" if estimate_tokens(text) >= max_tokens else "stop"


def _usage(prompt_tokens: int, text: str) -> dict[str, int]:
    completion = estimate_tokens(text)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


__all__ = ["EMBEDDING_DIMENSIONS", "LOADING", "OFF", "READY", "Boot", "OpenAICompatEmulator"]
