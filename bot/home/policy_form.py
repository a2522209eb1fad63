"""The channel policy modal: built from a channel's policy, and read back from a submission
into a policy or the errors to show under its fields (Slack's `response_action: errors`).

Slack lets a person choose only the options a select offers, but a submission is a request
anyone holding the signing secret's signature could shape: every value is checked here as if
typed. A budget is dollars ("5", "2.50", "$1,000"), kept as integer micro-USD.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from chatops import messages
from gateway.channel_policy import MAX_PROMPT_CHARS, ChannelPolicy
from gateway.router import TIERS, tier_rank

CALLBACK_ID = "channel_policy"
NO_LIMIT = "none"
# Blocks (and their single element's action id) of the modal's inputs.
CHANNEL, ALLOWED, MIN_TIER, MAX_TIER = "channel", "allowed", "min_tier", "max_tier"
PROMPT, OPTIONS, BUDGET = "prompt", "options", "budget"
THREAD_REPLIES, CACHE_ALLOWED, EC2_ONLY = "thread_replies", "cache_allowed", "ec2_only"
MAX_BUDGET_USD = Decimal(1_000_000)

Block = dict[str, Any]
View = dict[str, Any]


@dataclass(frozen=True)
class PolicyForm:
    """A submission read back: the channel and its new policy, or what is wrong with it."""

    channel: str
    policy: ChannelPolicy | None
    errors: dict[str, str] = field(default_factory=dict)


def policy_modal(channel: str, policy: ChannelPolicy) -> View:
    """The modal for one channel's policy; `channel` "" asks which channel first."""
    if channel:
        where: Block = _section(messages.POLICY_EDITING.format(channel=channel))
    else:
        where = _input(
            CHANNEL,
            messages.POLICY_CHANNEL,
            {"type": "conversations_select", "filter": {"include": ["public", "private"]}},
        )
    yes_no = [_option(messages.POLICY_YES, "yes"), _option(messages.POLICY_NO, "no")]
    blocks = [
        where,
        _input(
            ALLOWED,
            messages.POLICY_ALLOWED,
            {
                "type": "radio_buttons",
                "options": yes_no,
                "initial_option": yes_no[0 if policy.allowed else 1],
            },
        ),
        _input(MIN_TIER, messages.POLICY_MIN_TIER, _tier_select(policy.min_tier)),
        _input(MAX_TIER, messages.POLICY_MAX_TIER, _tier_select(policy.max_tier)),
        _input(PROMPT, messages.POLICY_PROMPT, _prompt_input(policy), optional=True),
        _input(OPTIONS, messages.POLICY_OPTIONS, _checkboxes(policy), optional=True),
        _input(BUDGET, messages.POLICY_BUDGET, _budget_input(policy), optional=True),
    ]
    blocks[-1]["hint"] = _plain(messages.POLICY_BUDGET_HINT)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"channel": channel}),
        "title": _plain(messages.POLICY_MODAL_TITLE),
        "submit": _plain(messages.POLICY_SAVE),
        "close": _plain(messages.POLICY_CANCEL),
        "blocks": blocks,
    }


def read_submission(view: View, ec2_tiers: frozenset[str]) -> PolicyForm:
    """The policy a submitted modal asks for. `ec2_tiers`: tiers with a self-hosted route,
    the only ones an "EC2 only" channel can be held to at least."""
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    channel = _channel(view, values)
    if channel[:1] not in ("C", "G"):
        # Under the channel select; a modal opened for a channel has none to show it under.
        errors[ALLOWED if channel_of(view) else CHANNEL] = messages.POLICY_NO_CHANNEL
    low, high = _tier(values, MIN_TIER, errors), _tier(values, MAX_TIER, errors)
    if low and high and MIN_TIER not in errors and tier_rank(low) > tier_rank(high):
        errors[MAX_TIER] = messages.POLICY_TIERS_CROSSED.format(tier=low)
    options = {o.get("value") for o in _element(values, OPTIONS).get("selected_options") or []}
    if EC2_ONLY in options and low and low not in ec2_tiers and MIN_TIER not in errors:
        errors[MIN_TIER] = messages.POLICY_EC2_NO_ROUTE.format(tier=low)
    prompt = (_element(values, PROMPT).get("value") or "").strip()
    if len(prompt) > MAX_PROMPT_CHARS:
        errors[PROMPT] = messages.POLICY_PROMPT_TOO_LONG.format(
            limit=MAX_PROMPT_CHARS, length=len(prompt)
        )
    budget = _budget(_element(values, BUDGET).get("value") or "")
    if budget is None:
        errors[BUDGET] = messages.POLICY_BAD_BUDGET
    if errors:
        return PolicyForm(channel, None, errors)
    allowed = (
        (_element(values, ALLOWED).get("selected_option") or {}).get("value") or "yes"
    ) == "yes"
    policy = ChannelPolicy(
        allowed=allowed,
        min_tier=low,
        max_tier=high,
        prompt_addition=prompt,
        thread_replies=THREAD_REPLIES in options,
        cache_allowed=CACHE_ALLOWED in options,
        ec2_only=EC2_ONLY in options,
        daily_budget_micro_usd=budget or 0,
    )
    return PolicyForm(channel, policy)


def channel_of(view: View) -> str:
    """The channel a modal was opened for ("" when the person picks it)."""
    try:
        return str(json.loads(view.get("private_metadata") or "{}").get("channel") or "")
    except (ValueError, AttributeError):
        return ""


def _channel(view: View, values: dict[str, Any]) -> str:
    return channel_of(view) or str(_element(values, CHANNEL).get("selected_conversation") or "")


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return (values.get(block_id) or {}).get(block_id) or {}


def _tier(values: dict[str, Any], block_id: str, errors: dict[str, str]) -> str:
    chosen = (_element(values, block_id).get("selected_option") or {}).get("value") or NO_LIMIT
    if chosen == NO_LIMIT:
        return ""
    if chosen not in TIERS:
        errors[block_id] = messages.POLICY_BAD_TIER.format(tiers=", ".join(TIERS))
        return ""
    return str(chosen)


def _budget(typed: str) -> int | None:
    """Micro-USD for "5", "2.50", "$1,000"; 0 for nothing; None for anything else."""
    text = typed.strip().removeprefix("$").replace(",", "").strip()
    if not text:
        return 0
    try:
        dollars = Decimal(text)
    except InvalidOperation:
        return None
    if not dollars.is_finite() or dollars < 0 or dollars > MAX_BUDGET_USD:
        return None
    micro = dollars * 1_000_000
    return int(micro) if micro == micro.to_integral_value() else None


def _tier_select(current: str) -> Block:
    options = [_option(messages.POLICY_NO_LIMIT, NO_LIMIT), *(_option(t, t) for t in TIERS)]
    chosen = next(o for o in options if o["value"] == (current or NO_LIMIT))
    return {"type": "static_select", "options": options, "initial_option": chosen}


def _prompt_input(policy: ChannelPolicy) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "multiline": True,
        "max_length": MAX_PROMPT_CHARS,
        "placeholder": _plain(messages.POLICY_PROMPT_HINT[:150]),
    }
    if policy.prompt_addition:
        element["initial_value"] = policy.prompt_addition
    return element


def _checkboxes(policy: ChannelPolicy) -> Block:
    options = [
        _option(messages.POLICY_THREAD_OPTION, THREAD_REPLIES),
        _option(messages.POLICY_CACHE_OPTION, CACHE_ALLOWED),
        _option(messages.POLICY_EC2_OPTION, EC2_ONLY),
    ]
    on = {
        THREAD_REPLIES: policy.thread_replies,
        CACHE_ALLOWED: policy.cache_allowed,
        EC2_ONLY: policy.ec2_only,
    }
    element: Block = {"type": "checkboxes", "options": options}
    initial = [o for o in options if on[o["value"]]]
    if initial:  # Slack refuses an empty list of initial options
        element["initial_options"] = initial
    return element


def _budget_input(policy: ChannelPolicy) -> Block:
    element: Block = {"type": "plain_text_input"}
    if policy.daily_budget_micro_usd:
        element["initial_value"] = f"{Decimal(policy.daily_budget_micro_usd) / 1_000_000:f}"
    return element


def _input(block_id: str, label: str, element: Block, *, optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }


def _option(text: str, value: str) -> Block:
    return {"text": _plain(text), "value": value}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


__all__ = ["CALLBACK_ID", "PolicyForm", "channel_of", "policy_modal", "read_submission"]
