"""Streams one answer into a Slack thread, as the model writes it.

- `chat.startStream` / `appendStream` / `stopStream`, flushed on time (the visible text grows
  at least every `flush_interval_s` while tokens arrive) rather than only by buffer size;
  the first text is sent at once.
- Falls back to `chat.postMessage` + `chat.update` when streaming is refused, and finishes a
  stream that expired (`message_not_in_streaming_state`) with `chat.update` on the same ts.
- Continues in a follow-up message before a message passes Slack's ~12,000 characters.
- A 429 defers flushes until its `Retry-After` has passed; text is buffered, never dropped,
  and the model stream is never blocked on Slack except at the very end. A stream closed at a
  roll-over while rate-limited is closed again at the end. Calls made once the answer is
  complete (finishing, showing an error) go through `waiting_client`, which waits out a 429
  (slack_sdk's `RateLimitErrorRetryHandler`) — the model is no longer streaming then.
- Every message it posts is recorded in `ReplyState`; a retried job passes those in as
  `reuse`, and they are overwritten with `chat.update` before anything new is posted.
- Nothing it posts can notify a whole channel or a user group: the model's deltas pass
  through a `PingFilter` (a ping split across deltas is caught too), and every whole text it
  is given (a footer, an error line) through `neutralise_pings`, as is every full-text update.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from workers.reply_state import ReplyState
from workers.slack_text import PingFilter, neutralise_pings

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 11_500  # Slack refuses markdown_text past ~12,000; leave room for a footer
# A message sent as blocks also carries plain `text` for notifications: Slack's limit is
# ~4,000 characters.
FALLBACK_TEXT_CHARS = 3_000
Block = dict[str, Any]
SUPERSEDED = "_(replaced by the answer above)_"


def _error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


def _retry_after_s(exc: SlackApiError) -> float:
    headers = exc.response.headers if exc.response is not None else {}
    value = headers.get("Retry-After") or headers.get("retry-after") or 1
    return float(value)


def split_at(text: str, limit: int) -> tuple[str, str]:
    """Split before `limit`, at the last line break or space if there is one."""
    if len(text) <= limit:
        return text, ""
    cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
    cut = cut if cut > limit // 2 else limit
    return text[:cut], text[cut:]


class SlackReply:
    def __init__(
        self,
        client: WebClient,
        state: ReplyState,
        *,
        channel: str,
        thread_ts: Callable[[], str],
        recipient_user: str,
        recipient_team: str,
        flush_interval_s: float = 0.5,
        max_chars: int = MAX_MESSAGE_CHARS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        waiting_client: WebClient | None = None,
        streaming: bool = True,
    ) -> None:
        self._client = client
        self._waiting = waiting_client or client
        self._state = state
        self._channel = channel
        self._thread_ts = thread_ts
        self._recipient_user = recipient_user
        self._recipient_team = recipient_team
        self._flush_interval_s = flush_interval_s
        self._max_chars = max_chars
        self._clock = clock
        self._sleep = sleep
        self._reuse = list(state.message_ts)
        self._replaces_blocks = bool(self._reuse)
        self._ts: str | None = None  # the message being written
        self._text = ""  # what that message shows (or will, once pending is flushed)
        self._pending = ""
        self._pings = PingFilter()
        self._streaming = streaming and not self._reuse
        self._last_flush = float("-inf")
        self._not_before = float("-inf")
        # Streams closed at a roll-over while rate-limited, to close again at the end.
        self._unstopped: list[str] = []
        for ts in self._reuse:
            self._stop(ts)

    # -- public ------------------------------------------------------------------------------

    def append(self, delta: str) -> None:
        self._pending += self._pings.feed(delta)
        now = self._clock()
        due = self._ts is None or now - self._last_flush >= self._flush_interval_s
        if due and now >= self._not_before:
            self._flush()

    def finish(self, footer: str = "", blocks: Sequence[Block] = ()) -> None:
        """Flush everything, add the footer, and close the message; waits out rate limits.
        `blocks` (buttons) go under the last message: with `chat.stopStream` when it was
        streamed, else with its final `chat.update`."""
        self._pending += self._pings.flush()
        if footer:  # below the answer; alone (a notice), not under two blank lines
            gap = "\n\n" if self._text or self._pending else ""
            self._pending += gap + neutralise_pings(footer)
        while self._pending or self._ts is None:
            self._sleep(max(0.0, self._not_before - self._clock()))
            self._flush()
        stopped = self._streaming and self._ts is not None and self._stop(self._ts, blocks)
        if blocks and not stopped and self._ts is not None:
            self._update(self._ts, self._text, wait=True, blocks=blocks)
        for ts in self._unstopped:
            self._stop(ts)
        for ts in self._reuse:
            self._update(ts, SUPERSEDED, wait=True)

    def restart(self) -> None:
        """What was shown belongs to an answer that will not finish: the next text replaces
        it, in the same message (a stream cannot take text back, so it is closed first)."""
        self._pending = ""
        self._pings = PingFilter()
        if self._ts is None:
            return
        if self._streaming:
            self._stop(self._ts)
            self._streaming = False
        self._text = ""

    def show_error(self, text: str) -> None:
        """Add an error line to whatever was written (or post one)."""
        self._pending = ""
        self._pings = PingFilter()
        text = neutralise_pings(text)
        if self._ts is None:
            self._pending = text
            self.finish()
            return
        if self._streaming:
            self._stop(self._ts)
            self._streaming = False
        self._text = self._text + "\n\n" + text
        self._update(self._ts, self._text, wait=True)

    # -- flushing ----------------------------------------------------------------------------

    def _flush(self) -> None:
        room = self._max_chars - len(self._text)
        chunk, rest = split_at(self._pending, room)
        try:
            if self._ts is None:
                self._open(chunk)
            elif chunk:
                self._extend(chunk)
        except _Deferred:
            return
        self._pending = rest
        self._last_flush = self._clock()
        if rest:
            self._roll_over()
            self._flush()

    def _open(self, text: str) -> None:
        if self._reuse:
            self._ts = self._reuse.pop(0)
            self._update(self._ts, text)
        elif self._streaming and self._start_stream(text):
            pass
        else:
            response = self._call(
                "chat_postMessage",
                channel=self._channel,
                thread_ts=self._thread_ts(),
                markdown_text=text,
            )
            self._ts = str(response["ts"])
            self._state.add_message(self._ts)
        self._text = text

    def _start_stream(self, text: str) -> bool:
        try:
            response = self._client.chat_startStream(
                channel=self._channel,
                thread_ts=self._thread_ts(),
                markdown_text=text,
                recipient_user_id=self._recipient_user,
                recipient_team_id=self._recipient_team,
            )
        except SlackApiError as exc:
            self._defer_if_limited(exc)
            log.warning("slack_stream_refused error=%s; posting and updating", _error_code(exc))
            self._streaming = False
            return False
        self._ts = str(response["ts"])
        self._state.add_message(self._ts)
        return True

    def _extend(self, chunk: str) -> None:
        assert self._ts is not None
        if self._streaming:
            try:
                self._client.chat_appendStream(
                    channel=self._channel, ts=self._ts, markdown_text=chunk
                )
                self._text += chunk
                return
            except SlackApiError as exc:
                self._defer_if_limited(exc)
                log.warning("slack_stream_ended error=%s; updating instead", _error_code(exc))
                self._streaming = False
        self._update(self._ts, self._text + chunk)
        self._text += chunk

    def _roll_over(self) -> None:
        """Close the full message; the next flush opens a follow-up in the same thread."""
        if self._streaming and self._ts is not None:
            try:
                self._call(
                    "chat_stopStream", ignore_errors=True, channel=self._channel, ts=self._ts
                )
            except _Deferred:
                self._unstopped.append(self._ts)
        self._ts = None
        self._text = ""

    # -- Slack calls -------------------------------------------------------------------------

    def _stop(self, ts: str, blocks: Sequence[Block] = ()) -> bool:
        """Close a stream once the answer is complete; errors other than 429 are moot (the
        stream may have expired: False) and a 429 is waited out."""
        try:
            self._waiting.chat_stopStream(channel=self._channel, ts=ts, blocks=list(blocks) or None)
        except SlackApiError as exc:
            log.info("slack_stop_stream error=%s", _error_code(exc))
            return False
        return True

    def _update(
        self, ts: str, text: str, *, wait: bool = False, blocks: Sequence[Block] | None = None
    ) -> None:
        text = neutralise_pings(text)  # already inert piece by piece; a whole text is checked
        content = self._content(text, blocks)
        if wait:
            self._waiting.chat_update(channel=self._channel, ts=ts, **content)
        else:
            self._call("chat_update", channel=self._channel, ts=ts, **content)

    def _content(self, text: str, blocks: Sequence[Block] | None) -> dict[str, Any]:
        """`markdown_text` alone; or, with buttons — or over a reused message, which may still
        carry the buttons of the answer it held — the text as a `markdown` block followed by
        the buttons (Slack takes `markdown_text` or blocks, not both; `text` is what
        notifications show)."""
        if blocks is None and not self._replaces_blocks:
            return {"markdown_text": text}
        return {
            "text": split_at(text, FALLBACK_TEXT_CHARS)[0],
            "blocks": [{"type": "markdown", "text": text}, *(blocks or ())],
        }

    def _defer_if_limited(self, exc: SlackApiError) -> None:
        if exc.response is not None and exc.response.status_code == 429:
            self._not_before = self._clock() + _retry_after_s(exc)
            raise _Deferred from exc

    def _call(self, method: str, *, ignore_errors: bool = False, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(**kwargs)
        except SlackApiError as exc:
            if ignore_errors and (exc.response is None or exc.response.status_code != 429):
                return None
            self._defer_if_limited(exc)
            raise


class _Deferred(Exception):
    """A flush was refused with 429; the text stays pending until Retry-After has passed."""


__all__ = ["MAX_MESSAGE_CHARS", "SlackReply", "split_at"]
