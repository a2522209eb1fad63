"""The channel policy modal: built from a policy, read back from what Slack submits — every
field checked as if typed, each error keyed to the field it is shown under."""

from __future__ import annotations

from typing import Any

import pytest

from bot.home.policy_form import policy_modal, read_submission
from chatops import messages
from gateway.channel_policy import MAX_PROMPT_CHARS, ChannelPolicy

EC2_TIERS = frozenset({"small", "medium"})


def submitted(opened_for: str, policy: ChannelPolicy, **typed: Any) -> dict[str, Any]:
    """The modal as Slack sends it back: its initial values, with `typed` over them."""
    view = policy_modal(opened_for, policy)
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        given = typed.get(block_id, ...)
        kind = element["type"]
        if kind in ("static_select", "radio_buttons"):
            chosen = element.get("initial_option") if given is ... else _option(given)
            state = {"type": kind, "selected_option": chosen}
        elif kind == "checkboxes":
            chosen = (
                element.get("initial_options", []) if given is ... else [_option(v) for v in given]
            )
            state = {"type": kind, "selected_options": chosen}
        elif kind == "conversations_select":
            state = {"type": kind, "selected_conversation": None if given is ... else given}
        else:
            state = {"type": kind, "value": element.get("initial_value") if given is ... else given}
        values[block_id] = {element["action_id"]: state}
    return {**view, "state": {"values": values}}


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def test_an_unchanged_modal_gives_back_the_policy_it_showed() -> None:
    policy = ChannelPolicy(
        allowed=False,
        min_tier="small",
        max_tier="medium",
        prompt_addition="Name the runbook.",
        thread_replies=True,
        cache_allowed=False,
        ec2_only=True,
        daily_budget_micro_usd=2_500_000,
    )
    form = read_submission(submitted("C1", policy), EC2_TIERS)
    assert (form.channel, form.policy, form.errors) == ("C1", policy, {})


def test_a_new_channels_modal_asks_which_channel_and_reads_the_choice() -> None:
    view = submitted("", ChannelPolicy(), channel="C_NEW", max_tier="small", budget="$1,000")
    form = read_submission(view, EC2_TIERS)
    assert form.channel == "C_NEW"
    assert form.policy == ChannelPolicy(max_tier="small", daily_budget_micro_usd=1_000_000_000)


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ({"budget": "-3"}, {"budget": messages.POLICY_BAD_BUDGET}),
        ({"budget": "five"}, {"budget": messages.POLICY_BAD_BUDGET}),
        ({"budget": "0.0000001"}, {"budget": messages.POLICY_BAD_BUDGET}),
        ({"budget": "NaN"}, {"budget": messages.POLICY_BAD_BUDGET}),
        ({"min_tier": "huge"}, {"min_tier": "Choose one of: small, medium, large."}),
        (
            {"min_tier": "large", "max_tier": "small"},
            {"max_tier": messages.POLICY_TIERS_CROSSED.format(tier="large")},
        ),
        (
            {"min_tier": "large", "options": ["ec2_only"]},
            {"min_tier": messages.POLICY_EC2_NO_ROUTE.format(tier="large")},
        ),
        (
            {"prompt": "x" * (MAX_PROMPT_CHARS + 1)},
            {"prompt": f"At most 1,000 characters (this is {MAX_PROMPT_CHARS + 1:,})."},
        ),
    ],
)
def test_a_bad_field_is_refused_under_that_field(
    typed: dict[str, Any], errors: dict[str, str]
) -> None:
    form = read_submission(submitted("C1", ChannelPolicy(), **typed), EC2_TIERS)
    assert (form.policy, form.errors) == (None, errors)


def test_a_direct_message_has_no_policy_of_its_own() -> None:
    picked = read_submission(submitted("", ChannelPolicy(), channel="D_ALICE"), EC2_TIERS)
    assert picked.errors == {"channel": messages.POLICY_NO_CHANNEL}
    forged = read_submission(submitted("D_ALICE", ChannelPolicy()), EC2_TIERS)
    assert forged.errors == {"allowed": messages.POLICY_NO_CHANNEL}  # no select to show it under


def test_the_modal_fits_slacks_limits() -> None:
    view = policy_modal("C1", ChannelPolicy(ec2_only=True, daily_budget_micro_usd=1))
    assert len(view["title"]["text"]) <= 24 and view["callback_id"] == "channel_policy"
    options = next(b for b in view["blocks"] if b.get("block_id") == "options")["element"]
    assert [o["value"] for o in options["initial_options"]] == ["cache_allowed", "ec2_only"]
    budget = next(b for b in view["blocks"] if b.get("block_id") == "budget")["element"]
    assert budget["initial_value"] == "0.000001"
    off = policy_modal("C1", ChannelPolicy(cache_allowed=False))
    options = next(b for b in off["blocks"] if b.get("block_id") == "options")["element"]
    assert "initial_options" not in options  # Slack refuses an empty list
