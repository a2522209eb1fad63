"""How the model emulators answer a packed prompt: numbered items in the last user turn,

    <item id="1">
    …
    </item>

get one JSON array back, `[{"id": 1, "answer": "…"}, …]`, each answer the emulated answer to
that item asked alone after the same instructions (so it echoes the item's text, as a single
answer echoes its question, and is about as long); each is capped at its share of the output
cap, and the whole reply is cut at the output cap, as a real model's would be.

Scripted faults (`Fault(kind=…)`, consumed only by a packed reply) break it the ways models do:
`reply_malformed` (not JSON: Python's quoting), `reply_shuffled` (entries in reverse order —
still a valid answer), `reply_short` (the last entry left out), `reply_duplicated` (the second
entry numbered as the first: one id twice, one missing), `reply_garbled` (the first entry's
answer null).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from gateway.tokens import CHARS_PER_TOKEN

# An independent reading of the item tags (the emulator stands for a model, not our parser).
_ITEM = re.compile(r'<item id="(\d+)">\n(.*?)\n</item>', re.DOTALL)
# Room each entry's JSON wrapping takes out of its share of the output cap.
_WRAPPING_TOKENS = 12

REPLY_FAULTS = (
    "reply_malformed",
    "reply_shuffled",
    "reply_short",
    "reply_duplicated",
    "reply_garbled",
)

Answer = Callable[[str, str, str, int], list[str]]


def items_in(question: str) -> list[tuple[int, str]]:
    return [(int(number), text) for number, text in _ITEM.findall(question)]


def packed_deltas(
    model: str,
    instructions: str,
    items: list[tuple[int, str]],
    max_tokens: int,
    fault: str,
    answer: Answer,
) -> list[str]:
    """The reply as stream deltas, one per word of the JSON text. `instructions`: the prompt
    before the items."""
    share = max(1, max_tokens // len(items) - _WRAPPING_TOKENS)
    entries: list[dict[str, Any]] = [
        {"id": number, "answer": "".join(answer(model, instructions + text, text, share))}
        for number, text in items
    ]
    text = _broken(entries, fault)[: max_tokens * CHARS_PER_TOKEN]
    return re.findall(r"\S+\s*", text) or ["[]"]


def _broken(entries: list[dict[str, Any]], fault: str) -> str:
    if fault == "reply_malformed":
        return str(entries)
    if fault == "reply_shuffled":
        entries = entries[::-1]
    elif fault == "reply_short":
        entries = entries[:-1]
    elif fault == "reply_duplicated" and len(entries) > 1:
        entries = [entries[0], {**entries[1], "id": entries[0]["id"]}, *entries[2:]]
    elif fault == "reply_garbled":
        entries = [{"id": entries[0]["id"], "answer": None}, *entries[1:]]
    return json.dumps(entries, ensure_ascii=False)


__all__ = ["REPLY_FAULTS", "items_in", "packed_deltas"]
