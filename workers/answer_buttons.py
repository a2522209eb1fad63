"""The buttons under an answer, and what the answer keeps so that a click can act on it later.

- *Not helpful*: the thread's next answer goes one tier up (`workers.answer_actions`).
- *Answer again with the large model*: the same question re-answered in place on the
  strongest tier, the old text replaced.
- *Answer fresh* (only under an answer a cache served): re-answered in place, the cache
  bypassed — and the new answer stored for the next person.

A button's value names the answered request; its reply state keeps an `AnswerContext` — the
job as it was asked (the text already redacted at the edge), the tier that answered and how a
cache served it — and the messages it wrote, which a re-answer updates instead of posting new
ones (`Redo`). Buttons for a tier above which there is none are not offered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from chatops import messages
from chatops.payloads import ANSWER_ACTIONS, AnswerJob
from workers.reply_state import ReplyState

log = logging.getLogger(__name__)

Block = dict[str, Any]

BLOCK_ID = "answer_actions"
# Caches whose answer was written for someone else earlier: *Answer fresh* is offered there.
STORED_CACHE_KINDS = frozenset({"exact", "semantic"})
_ACTION_ID = {action: action_id for action_id, action in ANSWER_ACTIONS.items()}
_LABELS = {
    "not_helpful": messages.ANSWER_NOT_HELPFUL_BUTTON,
    "again_large": messages.ANSWER_AGAIN_BUTTON,
    "fresh": messages.ANSWER_FRESH_BUTTON,
}


@dataclass(frozen=True)
class AnswerContext:
    """What a click on an answer's buttons needs: the request as asked, and how it went."""

    job: AnswerJob
    tier: str
    cache_kind: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"job": self.job.model_dump(mode="json"), "tier": self.tier, "cache": self.cache_kind}
        )

    @classmethod
    def from_json(cls, raw: str) -> AnswerContext | None:
        """None for a context this version cannot read (the click is then told so)."""
        try:
            data = json.loads(raw)
            return cls(AnswerJob.model_validate(data["job"]), str(data["tier"]), data["cache"])
        except (ValueError, KeyError, TypeError, ValidationError):
            log.warning("answer_context_unreadable")
            return None


@dataclass(frozen=True)
class Redo:
    """Answer a request again in place of its earlier answer: in the same thread, over the
    same messages; on `tier` when given (the person's choice, as with `--tier`), and without
    reading the caches when `fresh`."""

    root_ts: str
    message_ts: tuple[str, ...]
    tier: str = ""
    fresh: bool = False

    def seed(self, state: ReplyState) -> None:
        """Give a new request's reply state the earlier answer's thread and messages, once
        (a retried job finds them there already)."""
        if state.root_ts or state.message_ts:
            return
        if self.root_ts:
            state.set_root(self.root_ts)
        for ts in self.message_ts:
            state.add_message(ts)


def offered(context: AnswerContext, tiers: Sequence[str]) -> tuple[str, ...]:
    """The actions to offer under this answer, in the order they are shown."""
    below_top = context.tier in tiers and context.tier != tiers[-1]
    actions: tuple[str, ...] = ("not_helpful", "again_large") if below_top else ()
    if context.cache_kind in STORED_CACHE_KINDS:
        actions += ("fresh",)
    return actions


def buttons(request_id: str, context: AnswerContext, tiers: Sequence[str]) -> list[Block]:
    """One actions block with the answer's buttons, or nothing when none applies."""
    value = json.dumps({"request": request_id})
    elements = [
        {
            "type": "button",
            "action_id": _ACTION_ID[action],
            "text": {"type": "plain_text", "text": _LABELS[action]},
            "value": value,
        }
        for action in offered(context, tiers)
    ]
    return [{"type": "actions", "block_id": BLOCK_ID, "elements": elements}] if elements else []


def kept(state: ReplyState) -> AnswerContext | None:
    return AnswerContext.from_json(state.context) if state.context else None


__all__ = ["BLOCK_ID", "AnswerContext", "Redo", "buttons", "kept", "offered"]
