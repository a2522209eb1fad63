"""A thread's turns cut to a token budget before they are sent as context.

Kept, in this order: the root question (the first turn) and the newest turn (the question
being answered), then as many of the turns just before the newest as fit, newest first.
Older middle turns are dropped whole — never cut inside a code block; when the root or the
newest turn alone is too big, it is compacted to fit (`gateway.compact`, which keeps code
blocks whole or leaves them out whole). When turns were dropped, the first message after the
root starts with one line telling the model so: `[3 earlier messages of this thread left out]`.

Turns come as `workers.context.as_messages` builds them: alternating roles, the first a user
turn. Dropping a stretch can put two turns of one role side by side; they are merged (as
`as_messages` does) so roles still alternate. Sizes are `estimate_tokens` per message, as the
emulators count; the result is within the budget unless a code block, kept whole, or a
budget below a few dozen tokens makes that impossible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.compact import compact
from gateway.tokens import estimate_tokens
from gateway.types import Message

LEFT_OUT = "[{count} earlier message{s} of this thread left out]"
# Joining two texts with a blank line can cost one token more than their two estimates.
_JOIN_TOKENS = 1


@dataclass(frozen=True)
class Trimmed:
    messages: tuple[Message, ...]
    dropped: int
    tokens_before: int
    tokens_after: int


def trim_history(turns: Sequence[Message], budget_tokens: int) -> Trimmed:
    """The root, the newest turn and as many turns before it as fit in `budget_tokens`."""
    before = _tokens(turns)
    if before <= budget_tokens or not turns:
        return Trimmed(tuple(turns), 0, before, before)
    if len(turns) == 1:
        only = (_fit(turns[0], budget_tokens),)
        return Trimmed(only, 0, before, _tokens(only))
    # The note, joined to the message after the root, which may then merge with the root.
    note_tokens = estimate_tokens(left_out_note(len(turns))) + 2 * _JOIN_TOKENS
    room = budget_tokens - note_tokens
    root, newest = _fit_pair(turns[0], turns[-1], room)
    room -= estimate_tokens(root.text) + estimate_tokens(newest.text)
    middle: list[Message] = []
    for turn in reversed(turns[1:-1]):
        size = estimate_tokens(turn.text)
        if size > room:
            break
        middle.insert(0, turn)
        room -= size
    messages = _assemble(root, middle, newest, len(turns) - 2 - len(middle))
    # Turns that did not alternate were merged, a token per join: make room if that tipped it.
    while middle and _tokens(messages) > budget_tokens:
        middle.pop(0)
        messages = _assemble(root, middle, newest, len(turns) - 2 - len(middle))
    return Trimmed(messages, len(turns) - 2 - len(middle), before, _tokens(messages))


def left_out_note(count: int) -> str:
    return LEFT_OUT.format(count=count, s="" if count == 1 else "s")


def _fit_pair(root: Message, newest: Message, room: int) -> tuple[Message, Message]:
    """Root and newest turn within `room` together, compacting the bigger one first."""
    root_tokens, newest_tokens = estimate_tokens(root.text), estimate_tokens(newest.text)
    if root_tokens + newest_tokens <= room:
        return root, newest
    if root_tokens <= room // 2:
        return root, _fit(newest, room - root_tokens)
    if newest_tokens <= room // 2:
        return _fit(root, room - newest_tokens), newest
    return _fit(root, room // 2), _fit(newest, room - room // 2)


def _fit(message: Message, budget_tokens: int) -> Message:
    if estimate_tokens(message.text) <= budget_tokens:
        return message
    return Message(message.role, compact(message.text, budget_tokens=budget_tokens).text)


def _assemble(
    root: Message, middle: Sequence[Message], newest: Message, dropped: int
) -> tuple[Message, ...]:
    after_root = [*middle, newest]
    if dropped:
        first = after_root[0]
        after_root[0] = Message(first.role, f"{left_out_note(dropped)}\n\n{first.text}")
    merged: list[Message] = []
    for message in (root, *after_root):
        if merged and merged[-1].role == message.role:
            merged[-1] = Message(message.role, f"{merged[-1].text}\n\n{message.text}")
        else:
            merged.append(message)
    return tuple(merged)


def _tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(message.text) for message in messages)


__all__ = ["LEFT_OUT", "Trimmed", "left_out_note", "trim_history"]
