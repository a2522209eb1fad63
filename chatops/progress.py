"""A one-line progress display on stderr for long work (a replay): items done, elapsed time
and an estimate of what is left, redrawn in place with a carriage return.

Off when the stream is not a terminal (a log file or a pipe would fill with redraws) or when
the person asked for quiet; then every call does nothing. Safe to call from many threads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

# Redraw at most this often: a fast replay finishes hundreds of events a second.
REDRAW_INTERVAL_S = 0.2


def clock_text(seconds: float) -> str:
    """`0:07`, `4:05`, `1:02:03`."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """`with Progress("with the levers", total=1213) as progress: … progress.advance()`."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "events",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self._stream) if enabled is None else enabled
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None
        self._width = 0
        self._lock = threading.Lock()

    def line(self) -> str:
        """What the display shows now."""
        elapsed = self._clock() - self._started
        text = f"{self.label}: {self.done}/{self.total} {self.unit} · {clock_text(elapsed)} elapsed"
        if 0 < self.done < self.total:
            left = elapsed / self.done * (self.total - self.done)
            text += f" · about {clock_text(left)} left"
        return text

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            now = self._clock()
            due = self._drawn_at is None or now - self._drawn_at >= REDRAW_INTERVAL_S
            if self.enabled and (due or self.done >= self.total):
                self._draw(now)

    def close(self) -> None:
        """Leave the last state on screen and end its line."""
        with self._lock:
            if self.enabled:
                self._draw(self._clock())
                self._stream.write("\n")
                self._stream.flush()
                self.enabled = False

    def _draw(self, now: float) -> None:
        text = self.line()
        # Pad over a longer line drawn before ("about 10:00 left" → "about 9:59 left").
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)
        self._drawn_at = now

    def __enter__(self) -> Progress:
        """Start the clock (the work starts now, not when this was built) and draw."""
        with self._lock:
            self._started = self._clock()
            if self.enabled:
                self._draw(self._started)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["REDRAW_INTERVAL_S", "Progress", "clock_text"]
