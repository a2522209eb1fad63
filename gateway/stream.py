"""The one place a backend's stream is consumed and its contract checked: text deltas, then
exactly one `Usage`, last."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gateway.types import Delta, Usage


class StreamContractError(RuntimeError):
    """A backend broke the stream contract: a programming error, never a provider fault."""


def consume(stream: Iterable[Delta | Usage], on_delta: Callable[[str], None]) -> tuple[str, Usage]:
    parts: list[str] = []
    usage: Usage | None = None
    for item in stream:
        if usage is not None:
            raise StreamContractError(f"stream yielded {type(item).__name__} after its Usage")
        if isinstance(item, Usage):
            usage = item
            continue
        if item:
            parts.append(item)
            on_delta(item)
    if usage is None:
        raise StreamContractError("stream ended without a Usage")
    return "".join(parts), usage


__all__ = ["StreamContractError", "consume"]
