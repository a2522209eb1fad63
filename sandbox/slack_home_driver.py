"""A person at Slack's App Home, its modals and the install page, driving a bot through a
`SlackDriver`: what Slack sends when someone opens the Home tab, presses a button there, or
submits a modal — and the browser's walk through the OAuth install.

A submitted modal carries the values its inputs show: those the person typed (`values`, by
block id), else the initial ones the app set, in the shape Slack's `view.state.values` has for
each kind of element. Whatever the bot answers (`response_action: errors` keeps the modal open
with them) is handed back to the emulator, as Slack would show it.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sandbox.slack_driver import DriverResponse, SlackDriver
from sandbox.slack_views import StoredView

_LINK = re.compile(r'<a href="([^"]+)"')


@dataclass(frozen=True)
class InstallResult:
    """The page the browser ends on after Slack's redirect back to the bot."""

    status: int
    body: str


def open_home(driver: SlackDriver, user: str) -> DriverResponse:
    """`app_home_opened` on the Home tab, as Slack sends it when a person opens it."""
    now = f"{time.time():.6f}"
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": driver.emulator.dm_channel(user),
        "tab": "home",
        "event_ts": now,
        "ts": now,
    }
    return driver.deliver(event)


def home(driver: SlackDriver, user: str) -> StoredView | None:
    """The Home tab the bot last published for `user` in the driver's workspace."""
    team = driver.enterprise_id if driver.org_install and driver.enterprise_id else driver.team_id
    return driver.emulator.views.home(team, user)


def press(
    driver: SlackDriver, user: str, action_id: str, value: str | None = None
) -> DriverResponse:
    """Press the button `action_id` on `user`'s Home tab (the one whose value is `value`, when
    several share the id): a `block_actions` interaction with a fresh trigger id."""
    shown = home(driver, user)
    if shown is None:
        raise AssertionError(f"{user} has no Home tab to press {action_id} on")
    block, button = _button(shown.view, action_id, value)
    payload = {
        "type": "block_actions",
        "user": {
            "id": user,
            "username": driver.emulator.user(user).name,
            "team_id": driver.team_id,
        },
        "api_app_id": driver.emulator.app_id,
        "token": "sandbox-verification-token",
        "container": {"type": "view", "view_id": shown.id},
        "trigger_id": driver.next_trigger(user),
        **driver.where(),
        "view": shown.to_api(),
        "actions": [
            {
                "action_id": action_id,
                "block_id": block.get("block_id", ""),
                "type": button.get("type", "button"),
                "value": button.get("value", ""),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return driver.send_interaction(payload)


def submit(
    driver: SlackDriver, user: str, modal: StoredView, values: dict[str, Any] | None = None
) -> DriverResponse:
    """Submit `modal` as `user`, with `values` typed or chosen (by block id) over its initial
    ones. A select given a value that is none of its options sends it anyway, as a forged
    request could."""
    view = modal.to_api()
    state = {
        block["block_id"]: {
            block["element"]["action_id"]: _state(block["element"], block["block_id"], values or {})
        }
        for block in view.get("blocks", [])
        if block.get("type") == "input"
    }
    payload = {
        "type": "view_submission",
        "user": {
            "id": user,
            "username": driver.emulator.user(user).name,
            "team_id": driver.team_id,
        },
        "api_app_id": driver.emulator.app_id,
        "token": "sandbox-verification-token",
        "trigger_id": driver.next_trigger(user),
        **driver.where(),
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
    }
    response = driver.send_interaction(payload)
    driver.emulator.views.answered(modal.id, response.json() if response.status == 200 else None)
    return response


def install(driver: SlackDriver, team: str | None = None) -> InstallResult:
    """Walk the install as a browser: the bot's install page, Slack's authorize page (which
    approves at once as the workspace's installer), and the redirect back with the state
    cookie the install page set. `team` names the workspace, or an org (`E…`) for an
    org-wide install."""
    query = f"?team={team}" if team else ""
    page = _get(f"{driver.bot_url}/slack/install{query}")
    match = _LINK.search(page.body)
    if page.status != 200 or match is None:
        return InstallResult(page.status, page.body)
    approved = _get(html.unescape(match.group(1)))
    back = approved.headers.get("Location", "")
    if approved.status != 302 or not back:
        return InstallResult(approved.status, approved.body)
    cookie = page.headers.get("Set-Cookie", "").split(";", 1)[0]
    done = _get(back, {"Cookie": cookie} if cookie else {})
    return InstallResult(done.status, done.body)


def _button(
    view: dict[str, Any], action_id: str, value: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in view.get("blocks", []):
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id and value in (None, element.get("value")):
                return block, element
    raise AssertionError(f"no button {action_id} (value {value!r}) on the view")


def _state(element: dict[str, Any], block_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """One input's entry in `view.state.values`, as Slack shapes it per element type."""
    kind = element["type"]
    given = block_id in values
    value: Any = values.get(block_id)
    if kind in ("static_select", "radio_buttons"):
        chosen = _option(element, value) if given else element.get("initial_option")
        return {"type": kind, "selected_option": chosen}
    if kind == "checkboxes":
        picked = [_option(element, v) for v in value or ()]
        return {
            "type": kind,
            "selected_options": picked if given else element.get("initial_options", []),
        }
    if kind == "conversations_select":
        chosen = value if given else element.get("initial_conversation")
        return {"type": kind, "selected_conversation": chosen}
    return {"type": kind, "value": value if given else element.get("initial_value")}


def _option(element: dict[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    known = next((o for o in element.get("options", []) if o["value"] == value), None)
    return known or {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}


@dataclass(frozen=True)
class _Page:
    status: int
    body: str
    headers: Any


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _get(url: str, headers: dict[str, str] | None = None) -> _Page:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=10) as reply:
            return _Page(reply.status, reply.read().decode(errors="replace"), reply.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return _Page(exc.code, exc.read().decode(errors="replace"), exc.headers)


__all__ = ["InstallResult", "home", "install", "open_home", "press", "submit"]
