"""The Home tab's Block Kit, from plain data: what everyone sees (what the bot is, the models
it may use, that answers are AI-generated, where text goes, their own spend) and, above it for
workspace admins, the channels with their policy and spend, an *Edit* button on each, and the
latest changes with who made them.

Slack takes at most 100 blocks in a view: the admin page lists the MAX_CHANNELS channels that
spent most (then those set by name), and says how many more there are.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatops import messages
from chatops.settings import Settings
from gateway.channel_policy import ChannelPolicy, PolicyChange
from gateway.ledger import AggregateRow
from gateway.pricing import EC2_BACKEND
from gateway.types import Route

Block = dict[str, Any]
View = dict[str, Any]

MAX_CHANNELS = 40
LOG_ENTRIES = 8
PROMPT_PREVIEW_CHARS = 60
# Action ids of the Home's buttons (`bot.listeners.actions.policy_buttons`).
EDIT_POLICY_ACTION = "policy_edit"
ADD_POLICY_ACTION = "policy_add"


@dataclass(frozen=True)
class Deployment:
    """What the Home says about this deployment, from its settings."""

    tiers: Mapping[str, tuple[Route, ...]]
    region: str
    default_allowed: bool
    admin_usergroup: str
    thread_cache_s: int
    answer_cache_s: int
    ledger_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Deployment:
        return cls(
            tiers=settings.tiers,
            region=settings.aws_region,
            default_allowed=settings.channels_allowed_by_default,
            admin_usergroup=settings.policy_admin_usergroup.strip(),
            thread_cache_s=settings.thread_cache_ttl_s,
            answer_cache_s=settings.cache_ttl_ask_s,
            ledger_days=settings.ledger_retention_days,
        )

    def models_on(self, backend: str) -> list[str]:
        seen = dict.fromkeys(
            r.model for routes in self.tiers.values() for r in routes if r.backend == backend
        )
        return list(seen)

    @property
    def ec2_tiers(self) -> frozenset[str]:
        """Tiers with a route on the self-hosted model: where an "EC2 only" channel can go."""
        return frozenset(
            t for t, routes in self.tiers.items() if any(r.backend == EC2_BACKEND for r in routes)
        )


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    policy: ChannelPolicy
    spend: AggregateRow


def member_home(deployment: Deployment, own: AggregateRow, ec2_only: Sequence[str]) -> View:
    """Everyone's Home: what the bot is and does with their text, and their own spend."""
    return {"type": "home", "blocks": _about(deployment, own, ec2_only)}


def admin_home(
    deployment: Deployment,
    rows: Sequence[ChannelRow],
    log: Sequence[PolicyChange],
    own: AggregateRow,
    ec2_only: Sequence[str],
) -> View:
    """An admin's Home: the channels and their policies above what everyone sees."""
    default = (
        messages.HOME_DEFAULT_ALLOWED
        if deployment.default_allowed
        else messages.HOME_DEFAULT_NOT_ALLOWED
    )
    intro = messages.HOME_ADMIN_INTRO.format(
        also=messages.admins_also(deployment.admin_usergroup), default=default
    )
    blocks: list[Block] = [
        _header(messages.HOME_ADMIN_HEADING),
        _section(intro),
        {
            "type": "actions",
            "block_id": "policy_actions",
            "elements": [_button(messages.HOME_ADD_BUTTON, ADD_POLICY_ACTION, "add", primary=True)],
        },
        *_channel_blocks(rows),
        *_log_blocks(log),
        {"type": "divider"},
    ]
    return {"type": "home", "blocks": blocks + _about(deployment, own, ec2_only)}


def policy_summary(policy: ChannelPolicy) -> str:
    """`tiers small–medium · EC2 only · no caching`: how a channel's line reads."""
    return " · ".join(_summary_parts(policy))


def _summary_parts(policy: ChannelPolicy) -> list[str]:
    """The tiers first, then whatever else the channel's admins set."""
    budget = policy.daily_budget_micro_usd
    extras = [
        messages.HOME_EC2_ONLY if policy.ec2_only else "",
        messages.HOME_NO_CACHE if not policy.cache_allowed else "",
        messages.HOME_THREAD_REPLIES if policy.thread_replies else "",
        messages.HOME_BUDGET.format(budget=messages.usd(budget)) if budget else "",
        messages.HOME_PROMPT.format(prompt=_preview(policy.prompt_addition))
        if policy.prompt_addition
        else "",
    ]
    return [_tiers(policy), *(extra for extra in extras if extra)]


def _channel_blocks(rows: Sequence[ChannelRow]) -> list[Block]:
    if not rows:
        return [_section(messages.HOME_NO_CHANNELS)]
    ordered = sorted(rows, key=lambda r: (-r.spend.cost_micro_usd, not r.policy.is_set, r.channel))
    blocks = [_channel_block(row) for row in ordered[:MAX_CHANNELS]]
    if len(ordered) > MAX_CHANNELS:
        blocks.append(
            _context(messages.HOME_MORE_CHANNELS.format(more=len(ordered) - MAX_CHANNELS))
        )
    return blocks


def _channel_block(row: ChannelRow) -> Block:
    policy = row.policy
    allowed = messages.HOME_DEFAULT_ALLOWED if policy.allowed else messages.HOME_CHANNEL_NOT_ALLOWED
    tiers, *extras = _summary_parts(policy)
    text = messages.HOME_CHANNEL_LINE.format(
        channel=row.channel,
        allowed=allowed,
        tiers=tiers,
        extras="".join(f" · {part}" for part in extras),
        spend=messages.usd(row.spend.cost_micro_usd),
    )
    block = _section(text)
    block["block_id"] = f"channel_{row.channel}"
    block["accessory"] = _button(messages.HOME_EDIT_BUTTON, EDIT_POLICY_ACTION, row.channel)
    return block


def _log_blocks(log: Sequence[PolicyChange]) -> list[Block]:
    if not log:
        return []
    lines = [_log_line(change) for change in log[:LOG_ENTRIES]]
    return [_section(messages.HOME_LOG_HEADING), _context(*lines)]


def _log_line(change: PolicyChange) -> str:
    when = datetime.datetime.fromtimestamp(change.at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if change.refused:
        return messages.HOME_LOG_REFUSED.format(
            when=when, user=change.by, channel=change.channel, reason=change.refused
        )
    changes = ", ".join(
        f"{messages.POLICY_FIELD_NAMES.get(name, name)} {_value(name, old)} → {_value(name, new)}"
        for name, (old, new) in change.changes.items()
    )
    return messages.HOME_LOG_CHANGE.format(
        when=when,
        user=change.by,
        channel=change.channel,
        changes=changes or messages.HOME_LOG_NOTHING,
    )


def _value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return messages.POLICY_YES.lower() if value else messages.POLICY_NO.lower()
    if name == "daily_budget_micro_usd":
        return messages.usd(value) if isinstance(value, int) and value else messages.POLICY_NO_LIMIT
    if name == "prompt_addition":
        return f"“{_preview(str(value))}”" if value else messages.HOME_LOG_EMPTY
    return str(value) or messages.POLICY_NO_LIMIT


def _about(deployment: Deployment, own: AggregateRow, ec2_only: Sequence[str]) -> list[Block]:
    tiers = [
        messages.HOME_MODEL_LINE.format(
            tier=tier,
            models=", ".join(
                f"{r.model} ({messages.HOME_BACKENDS.get(r.backend, r.backend)})" for r in routes
            ),
        )
        for tier, routes in deployment.tiers.items()
        if routes
    ]
    data = [messages.HOME_DATA_HEADING, messages.HOME_DATA_INTRO]
    bedrock = deployment.models_on("bedrock")
    if bedrock:
        data.append(
            messages.HOME_DATA_BEDROCK.format(region=deployment.region, models=", ".join(bedrock))
        )
    ec2 = deployment.models_on(EC2_BACKEND)
    if ec2:
        data.append(messages.HOME_DATA_EC2.format(models=", ".join(ec2)))
    if ec2_only:
        data.append(
            messages.HOME_DATA_EC2_ONLY.format(channels=", ".join(f"<#{c}>" for c in ec2_only))
        )
    kept = messages.HOME_DATA_KEPT.format(
        thread_min=max(1, deployment.thread_cache_s // 60),
        answer_h=max(1, deployment.answer_cache_s // 3600),
        days=deployment.ledger_days,
    )
    spend = messages.HOME_YOUR_SPEND.format(
        spend=messages.usd(own.cost_micro_usd), requests=own.requests
    )
    return [
        _header(messages.HOME_TITLE),
        _section(messages.HOME_ABOUT),
        _section(messages.HOME_AI_GENERATED),
        _section("\n".join([messages.HOME_MODELS_HEADING, *tiers])),
        _section("\n".join(data)),
        _context(kept),
        _section(spend),
    ]


def _tiers(policy: ChannelPolicy) -> str:
    low, high = policy.min_tier, policy.max_tier
    if low and high:
        return messages.HOME_TIER_RANGE.format(low=low, high=high)
    if low:
        return messages.HOME_TIER_AT_LEAST.format(tier=low)
    if high:
        return messages.HOME_TIER_AT_MOST.format(tier=high)
    return messages.HOME_ANY_TIER


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PROMPT_PREVIEW_CHARS else flat[: PROMPT_PREVIEW_CHARS - 1] + "…"


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts]}


def _button(text: str, action_id: str, value: str, *, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


__all__ = [
    "ADD_POLICY_ACTION",
    "EDIT_POLICY_ACTION",
    "MAX_CHANNELS",
    "ChannelRow",
    "Deployment",
    "admin_home",
    "member_home",
    "policy_summary",
]
