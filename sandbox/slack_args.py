"""Slack Web API arguments as the emulator reads them, and Slack's limits on them.

Clients send the same method either form-encoded (arrays as JSON strings) or as JSON (arrays
as arrays); everything here accepts both, and fails the way Slack fails: `SlackMethodError`
with Slack's error name.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sandbox.slack_store import STREAM_TEXT_LIMIT, SlackMethodError

TEXT_LIMIT = 4_000

Args = dict[str, Any]


def required(args: Args, name: str) -> str:
    value = args.get(name)
    if value in (None, ""):
        raise SlackMethodError("invalid_arguments")
    return str(value)


def json_arg(args: Args, name: str) -> Any:
    """Form bodies carry arrays as JSON strings; JSON bodies carry them as arrays."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackMethodError("invalid_arguments") from exc
    return value


def message_content(args: Args) -> tuple[str | None, list[Any] | None]:
    """Visible text and blocks of a post or update, with Slack's length limits. Text sent as
    `markdown` blocks is what the message shows (its `text` is then only the notification's)."""
    markdown, text = args.get("markdown_text"), args.get("text")
    blocks = json_arg(args, "blocks")
    if markdown is not None:
        if len(markdown) > STREAM_TEXT_LIMIT:
            raise SlackMethodError("msg_too_long")
        text = markdown
    elif text is not None and len(text) > TEXT_LIMIT:
        raise SlackMethodError("msg_too_long")
    shown = [b.get("text", "") for b in blocks or [] if b.get("type") == "markdown"]
    if shown:
        if sum(map(len, shown)) > STREAM_TEXT_LIMIT:
            raise SlackMethodError("msg_too_long")
        text = "\n".join(shown)
    return text, blocks


def stream_text(args: Args) -> str:
    """markdown_text, or the markdown_text chunks slack_sdk's ChatStream sends instead."""
    chunks = json_arg(args, "chunks") or []
    parts = [c.get("text", "") for c in chunks if c.get("type") == "markdown_text"]
    text = str(args.get("markdown_text") or "") + "".join(parts)
    if len(text) > STREAM_TEXT_LIMIT:
        raise SlackMethodError("msg_too_long")
    return text


def int_arg(args: Args, name: str, default: int) -> int:
    try:
        return int(args.get(name) or default)
    except ValueError as exc:
        raise SlackMethodError("invalid_arguments") from exc


def encode_cursor(ts: str) -> str:
    """A `next_cursor` in Slack's own shape: base64 of "next_ts:<ts>"."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor).decode().removeprefix("next_ts:")
    except ValueError as exc:
        raise SlackMethodError("invalid_cursor") from exc


__all__ = [
    "TEXT_LIMIT",
    "Args",
    "decode_cursor",
    "encode_cursor",
    "int_arg",
    "json_arg",
    "message_content",
    "required",
    "stream_text",
]
