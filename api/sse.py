"""One streamed completion as server-sent events, written as the engine produces it.

The response starts at the first delta, not before: a request refused before any token (a
budget, every route down) still gets its own status code and error body. Each delta is one
`data: {chunk}` event, written through WSGI's `write` while the engine's call is running; then
a chunk with the finish reason, the usage chunk when `stream_options.include_usage` asked for
it (empty `choices`), and `data: [DONE]`. A failure after the first token is one
`data: {"error": …}` event, which OpenAI's clients raise as an error, and no `[DONE]`.

A write that fails means the client went away: it is raised as `ClientDisconnectedError`
from the engine's `on_delta`, so the engine stops the stream and records and settles the call
with what was produced. A socket usually takes the first write after a disconnect, so the
call stops at the next delta.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from api.errors import ClientDisconnectedError, ErrorReply
from api.schema import chunk_body, finish_reason
from gateway.engine import Metered

StartResponse = Callable[..., Callable[[bytes], object]]
HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
    # A proxy in front (nginx) must pass each event on as it comes.
    ("X-Accel-Buffering", "no"),
)
DONE = b"data: [DONE]\n\n"


class SseStream:
    def __init__(
        self,
        start_response: StartResponse,
        *,
        completion_id: str,
        created: int,
        model: str,
        include_usage: bool,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self._start_response = start_response
        self._write: Callable[[bytes], object] | None = None
        self._id = completion_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._headers = headers

    @property
    def started(self) -> bool:
        return self._write is not None

    def delta(self, text: str) -> None:
        """The engine's `on_delta`."""
        if not text:
            return
        self._chunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}])

    def finish(self, metered: Metered) -> None:
        """The last chunks, named after the model that answered."""
        usage = metered.completion.usage
        self._model = metered.record.model or self._model
        self._chunk([{"index": 0, "delta": {}, "finish_reason": finish_reason(usage)}])
        if self._include_usage:
            self._send(chunk_body(self._id, self._created, self._model, [], usage))
        self._raw(DONE)

    def fail(self, reply: ErrorReply) -> None:
        """An error after the stream started: one error event (the status is already sent)."""
        self._raw(f"data: {json.dumps(reply.body)}\n\n".encode())

    def _chunk(self, choices: list[dict[str, Any]]) -> None:
        if not self.started:
            self._start()
        self._send(chunk_body(self._id, self._created, self._model, choices))

    def _start(self) -> None:
        self._write = self._start_response("200 OK", [*HEADERS, *self._headers])
        role = {"role": "assistant", "content": ""}
        self._send(chunk_body(self._id, self._created, self._model, [_choice(role)]))

    def _send(self, body: dict[str, Any]) -> None:
        self._raw(f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode())

    def _raw(self, data: bytes) -> None:
        if self._write is None:
            self._start()
        assert self._write is not None
        try:
            self._write(data)
        except OSError as exc:
            raise ClientDisconnectedError(f"the client went away: {exc}") from exc


def _choice(delta: dict[str, str]) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": None}


__all__ = ["DONE", "HEADERS", "SseStream"]
