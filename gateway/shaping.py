"""Send fewer tokens: the request as the model should see it, before routing and caching.

- Every user turn is compacted (`gateway.compact`): markup to plain text, repeated log lines
  collapsed, framework frames folded, JSON minified, each to the same budget — so a question
  shapes to the same bytes when it is asked and when it is an earlier turn of its thread. The
  person's code stays verbatim. Assistant turns are our own answers and stay as they were.
- The thread is then cut to its budget (`gateway.history`): the root question and the newest
  turns, older ones dropped with a one-line note.

Both steps are pure functions of the text, so the same conversation shapes to the same bytes
on every call — what prompt caching and the response cache's key rely on. `Shaped` says how
many tokens the naive way would have sent, for the ledger's baseline and the compaction lever.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.compact import compact
from gateway.history import trim_history
from gateway.tokens import estimate_prompt_tokens
from gateway.types import LLMRequest, Message


@dataclass(frozen=True)
class ShapePolicy:
    """Token budgets: each message of the person's (a long paste beyond it keeps head, tail
    and error lines), and the thread as a whole."""

    question_tokens: int = 3_000
    thread_tokens: int = 6_000


@dataclass(frozen=True)
class Shaped:
    request: LLMRequest
    # The whole context, as the naive way would send it.
    tokens_before: int
    tokens_after: int
    turns_dropped: int = 0

    @property
    def tokens_removed(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)


def shape(request: LLMRequest, policy: ShapePolicy) -> Shaped:
    before = estimate_prompt_tokens(request)
    if not request.messages:
        return Shaped(request, before, before)
    turns = [_compact_turn(m, policy.question_tokens) for m in request.messages]
    trimmed = trim_history(turns, policy.thread_tokens) if len(turns) > 1 else None
    messages = tuple(trimmed.messages) if trimmed else tuple(turns)
    shaped = replace(request, messages=messages)
    return Shaped(
        shaped,
        tokens_before=before,
        tokens_after=estimate_prompt_tokens(shaped),
        turns_dropped=trimmed.dropped if trimmed else 0,
    )


def _compact_turn(message: Message, budget_tokens: int) -> Message:
    if message.role != "user":
        return message
    return Message("user", compact(message.text, budget_tokens=budget_tokens).text)


__all__ = ["ShapePolicy", "Shaped", "shape"]
