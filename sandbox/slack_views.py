"""The Slack emulator's surfaces: each person's App Home tab (`views.publish`) and the modals
an app opens (`views.open`, `views.update`), with the limits Slack enforces on them.

A modal opens only with a `trigger_id` from an interaction less than 3 seconds old, used once
(`expired_trigger_id` otherwise), as on Slack. The driver issues one per click or command it
sends (`issue_trigger`). A view breaking Block Kit's limits is refused with `invalid_blocks`,
as Slack refuses it: more than 100 blocks, a section's text over 3,000 characters, a header
over 150, a button's text over 75, more than 100 options in a select, a text object that is
not `plain_text` where Slack requires it, or two blocks with the same `block_id`.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack_store import SlackMethodError

TRIGGER_TTL_S = 3.0
MAX_BLOCKS = 100
_TEXT_LIMITS = {"section": 3000, "header": 150, "context": 2000}
_PLAIN_ONLY = ("header",)

View = dict[str, Any]


@dataclass
class StoredView:
    id: str
    team_id: str
    user: str
    view: View
    # A modal's field errors, from the app's `response_action: errors`, shown under the fields.
    errors: dict[str, str] = field(default_factory=dict)
    open: bool = True

    def to_api(self) -> View:
        return {
            "id": self.id,
            "team_id": self.team_id,
            "app_id": "A_CHATOPS",
            "hash": f"{self.id}-{len(str(self.view))}",
            "private_metadata": self.view.get("private_metadata", ""),
            "callback_id": self.view.get("callback_id", ""),
            **self.view,
        }


class SlackViews:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._homes: dict[tuple[str, str], StoredView] = {}
        self._modals: dict[str, StoredView] = {}
        self._triggers: dict[str, tuple[str, float]] = {}

    # -- what tests and the driver call ------------------------------------------------------

    def issue_trigger(self, user: str) -> str:
        with self._lock:
            trigger = f"{next(self._seq)}.{int(time.time())}.trigger"
            self._triggers[trigger] = (user, time.monotonic())
            return trigger

    def home(self, team_id: str, user: str) -> StoredView | None:
        with self._lock:
            return self._homes.get((team_id, user))

    def modal(self, view_id: str) -> StoredView:
        with self._lock:
            return self._modals[view_id]

    def open_modals(self, user: str) -> list[StoredView]:
        with self._lock:
            return [m for m in self._modals.values() if m.user == user and m.open]

    def answered(self, view_id: str, response: Any) -> None:
        """What the app answered a submission with: `errors` keeps the modal open with them,
        `update` replaces it, anything else closes it."""
        action = response.get("response_action") if isinstance(response, dict) else None
        with self._lock:
            modal = self._modals.get(view_id)
            if modal is None:
                return  # a forged submission of a modal Slack never showed
            if action == "errors":
                modal.errors = dict(response.get("errors") or {})
            elif action == "update":
                modal.view, modal.errors = _checked(response.get("view") or {}, "modal"), {}
            else:
                modal.open = False

    # -- Web API methods ---------------------------------------------------------------------

    def publish(self, team_id: str, user: str, view: View) -> View:
        checked = _checked(view, "home")
        with self._lock:
            stored = self._homes.get((team_id, user))
            if stored is None:
                stored = StoredView(f"V{next(self._seq):08d}", team_id, user, checked)
                self._homes[(team_id, user)] = stored
            stored.view = checked
            return stored.to_api()

    def open(self, team_id: str, trigger_id: str, view: View) -> View:
        checked = _checked(view, "modal")
        with self._lock:
            issued = self._triggers.pop(trigger_id, None)
            if issued is None:
                raise SlackMethodError("invalid_trigger_id")
            user, at = issued
            if time.monotonic() - at > TRIGGER_TTL_S:
                raise SlackMethodError("expired_trigger_id")
            stored = StoredView(f"V{next(self._seq):08d}", team_id, user, checked)
            self._modals[stored.id] = stored
            return stored.to_api()

    def update(self, view_id: str, view: View) -> View:
        with self._lock:
            stored = self._modals.get(view_id) or next(
                (h for h in self._homes.values() if h.id == view_id), None
            )
            if stored is None:
                raise SlackMethodError("not_found")
            stored.view = _checked(view, str(stored.view.get("type")))
            return stored.to_api()


def _checked(view: View, kind: str) -> View:
    """The view if Slack would take it for a surface of `kind`."""
    if view.get("type") != kind:
        raise SlackMethodError("invalid_arguments")
    blocks = view.get("blocks") or []
    if kind == "modal" and not _is_plain(view.get("title")):
        raise SlackMethodError("invalid_arguments")
    if len(blocks) > MAX_BLOCKS:
        raise SlackMethodError("invalid_blocks")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        raise SlackMethodError("invalid_blocks")
    for block in blocks:
        _check_block(block)
    return view


def _check_block(block: dict[str, Any]) -> None:
    kind = block.get("type")
    limit = _TEXT_LIMITS.get(str(kind))
    text = block.get("text")
    if kind in _PLAIN_ONLY and not _is_plain(text):
        raise SlackMethodError("invalid_blocks")
    if limit and isinstance(text, dict) and len(str(text.get("text", ""))) > limit:
        raise SlackMethodError("invalid_blocks")
    for element in [
        *block.get("elements", []),
        block.get("accessory") or {},
        block.get("element") or {},
    ]:
        if element.get("type") == "button" and (
            not _is_plain(element.get("text")) or len(element["text"]["text"]) > 75
        ):
            raise SlackMethodError("invalid_blocks")
        if len(element.get("options") or []) > 100:
            raise SlackMethodError("invalid_blocks")
    if kind == "input" and (not _is_plain(block.get("label")) or not block.get("element")):
        raise SlackMethodError("invalid_blocks")


def _is_plain(text: Any) -> bool:
    return isinstance(text, dict) and text.get("type") == "plain_text" and bool(text.get("text"))


__all__ = ["TRIGGER_TTL_S", "SlackViews", "StoredView"]
