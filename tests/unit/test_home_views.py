"""The Home tab's views: what a member is told about the bot and their text, what an admin
sees of each channel — and that Slack (the emulator's Block Kit limits) takes them, however
many channels there are."""

from __future__ import annotations

import json
from typing import Any

from bot.home.views import (
    MAX_CHANNELS,
    ChannelRow,
    Deployment,
    admin_home,
    member_home,
    policy_summary,
)
from chatops import messages
from chatops.settings import load_settings
from gateway.channel_policy import ChannelPolicy, PolicyChange
from gateway.ledger import AggregateRow
from sandbox.slack_views import SlackViews

DEPLOYMENT = Deployment.from_settings(load_settings(_env_file=None, aws_region="eu-west-1"))
OWN = AggregateRow(requests=3, cost_micro_usd=12_300)


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_a_member_is_told_what_the_bot_does_with_their_text() -> None:
    view = member_home(DEPLOYMENT, OWN, ["C_SECRET"])
    text = shown(view)

    assert messages.HOME_AI_GENERATED in text
    assert "Amazon Bedrock, AWS region eu-west-1: amazon.nova-micro-v1:0" in text
    assert "our own model server on EC2, inside our AWS account: llama-3.1-8b-instruct" in text
    assert messages.HOME_DATA_EC2_ONLY.format(channels="<#C_SECRET>") in text
    assert "*Your spend in the last 7 days:* $0.0123 over 3 request(s)." in text
    assert '"button"' not in text and messages.HOME_ADMIN_HEADING not in text
    assert SlackViews().publish("T1", "U1", view)["type"] == "home"


def test_an_admin_sees_each_channel_with_its_policy_spend_and_an_edit_button() -> None:
    rows = [
        ChannelRow("C_CHEAP", ChannelPolicy(), AggregateRow(cost_micro_usd=10)),
        ChannelRow(
            "C_PAY",
            ChannelPolicy(max_tier="small", ec2_only=True, daily_budget_micro_usd=5_000_000),
            AggregateRow(cost_micro_usd=2_500_000),
        ),
    ]
    log = [
        PolicyChange(0.0, "U_CAROL", "C_PAY", refused="not an admin"),
        PolicyChange(
            0.0, "U_ALICE", "C_PAY", {"max_tier": ("", "small"), "ec2_only": (False, True)}
        ),
    ]
    view = admin_home(DEPLOYMENT, rows, log, OWN, ["C_PAY"])
    lines = [b for b in view["blocks"] if b.get("block_id", "").startswith("channel_")]

    assert [b["accessory"]["value"] for b in lines] == ["C_PAY", "C_CHEAP"]  # dearest first
    assert lines[0]["text"]["text"] == (
        "*<#C_PAY>* · allowed · small tier or below · EC2 only · $5.00 a day\n"
        "$2.50 in the last 7 days"
    )
    text = shown(view)
    assert (
        "1970-01-01 00:00 UTC · <@U_CAROL> tried to change <#C_PAY>: refused (not an admin)" in text
    )
    assert "<@U_ALICE> set <#C_PAY>: most capable tier no limit → small, EC2 only no → yes" in text
    assert messages.HOME_AI_GENERATED in text  # admins see what everyone sees, below
    assert SlackViews().publish("T1", "U1", view)["type"] == "home"


def test_a_workspace_with_hundreds_of_channels_still_fits_in_one_view() -> None:
    rows = [
        ChannelRow(f"C{n:04d}", ChannelPolicy(), AggregateRow(cost_micro_usd=n)) for n in range(300)
    ]
    view = admin_home(DEPLOYMENT, rows, [], OWN, [])

    edits = [b for b in view["blocks"] if b.get("block_id", "").startswith("channel_")]
    assert len(edits) == MAX_CHANNELS and edits[0]["accessory"]["value"] == "C0299"
    assert messages.HOME_MORE_CHANNELS.format(more=300 - MAX_CHANNELS) in shown(view)
    assert SlackViews().publish("T1", "U1", view)["type"] == "home"  # at most 100 blocks


def test_a_policy_reads_as_its_limits_and_options() -> None:
    assert policy_summary(ChannelPolicy()) == "any tier"
    assert policy_summary(ChannelPolicy(min_tier="medium")) == "medium tier or above"
    assert policy_summary(
        ChannelPolicy(
            min_tier="small",
            max_tier="medium",
            cache_allowed=False,
            thread_replies=True,
            prompt_addition="Always  name\nthe runbook and the owning team,"
            " for every step you give.",
        )
    ) == (
        "tiers small–medium · no caching · answers thread replies without a mention"
        " · prompt: “Always name the runbook and the owning team, for every step…”"
    )
