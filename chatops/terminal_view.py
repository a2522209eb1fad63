"""Shows in the terminal what a Slack user would see in the emulator: messages as they are
posted, and streamed replies growing as the bot writes them."""

from __future__ import annotations

import re
import sys
import threading
from typing import Any, TextIO

from sandbox.slack import SlackEmulator

BOLD, DIM, RESET = "\033[1m", "\033[2m", "\033[0m"


class TerminalView:
    def __init__(self, slack: SlackEmulator, out: TextIO = sys.stdout) -> None:
        self._slack = slack
        self._out = out
        self._color = out.isatty()
        self._lock = threading.Lock()
        self._shown: dict[str, str] = {}  # ts → text already printed
        self._open: str | None = None  # ts of the message whose text is being printed inline
        slack.on_change.append(self.on_change)

    def _style(self, code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if self._color else text

    def _who(self, message: dict[str, Any]) -> str:
        if message.get("bot_id"):
            return "ChatOps Bot"
        return self._slack.user(message["user"]).name

    def _where(self, channel: str, message: dict[str, Any]) -> str:
        place = "DM" if channel.startswith("D") else f"#{self._slack.channel_name(channel)}"
        return f"{place} (thread)" if message.get("thread_ts") else place

    def _readable(self, text: str) -> str:
        """`<@U123>` as Slack shows it: `@name`."""
        return re.sub(r"<@(\w+)>", lambda m: "@" + self._slack.user(m.group(1)).name, text)

    def say(self, line: str) -> None:
        """A line of what the person typed (a slash command is not a message in Slack)."""
        with self._lock:
            self._close()
            self._write(self._style(BOLD, line) + "\n\n")

    def on_change(self, event: str, channel: str, message: dict[str, Any]) -> None:
        if event == "ephemeral_posted":
            with self._lock:
                self._close()
                text = message.get("text", "")
                self._write(self._style(DIM, f"(only visible to you) {text}") + "\n")
            return
        ts = message["ts"]
        text = self._readable(_message_text(message))
        for file in message.get("files", []):
            text += f"[file: {file.get('name', file.get('title', ''))}]"
        with self._lock:
            before = self._shown.get(ts)
            if before is None:
                self._close()
                header = f"{self._where(channel, message)}  {self._who(message)}:"
                self._write(self._style(BOLD, header) + " " + text)
                self._open = ts
            elif self._open == ts and text.startswith(before):
                self._write(text[len(before) :])
            elif text != before:
                self._close()
                self._write(self._style(DIM, "(edited) ") + text)
                self._open = ts
            self._shown[ts] = text
            if not message.get("streaming") and self._open == ts and event != "stream_started":
                self._close()

    def _close(self) -> None:
        if self._open is not None:
            self._write("\n\n")
            self._open = None

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()


def _message_text(message: dict[str, Any]) -> str:
    """What the message shows: its blocks, or its text when its only blocks are buttons
    and context lines (an answer's, sent with `chat.stopStream`: the lines go under the
    text); buttons as `[label]` on a line of their own."""
    blocks = message.get("blocks") or []
    content = [block for block in blocks if block.get("type") != "actions"]
    if all(block.get("type") == "context" for block in content):
        text = "\n".join(filter(None, [str(message.get("text", "")), _blocks_text(content)]))
    else:
        text = _blocks_text(content)
    labels = [
        f"[{element['text']['text']}]"
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if isinstance(element.get("text"), dict)
    ]
    return f"{text}\n{' '.join(labels)}" if labels else text


def _blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Block Kit as plain lines: headers, section text and fields, context elements, and a
    `markdown` block's text."""
    lines: list[str] = []
    for block in blocks:
        if block.get("type") == "markdown":
            lines.append(str(block.get("text", "")))
            continue
        texts = [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]
        lines += [t["text"] for t in texts if isinstance(t, dict) and t.get("text")]
        if block.get("type") == "divider":
            lines.append("─" * 40)
    return "\n".join(lines)


__all__ = ["TerminalView"]
