"""A channel's policy (`gateway.channel_policy`) as it shapes the requests made for it: the
admins' line added to the system prompt, the tier limits, the backends its text may reach
("EC2 only"), and whether what it produces may be cached and shared.

Answers (`workers.answer`) and summaries made in the channel (`workers.summarize`,
`workers.thread_summary`) read it here, so every model call a channel's message leads to keeps
to the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.channel_policy import ChannelPolicy
from workers.runtime import Runtime

# How the admins' addition reaches the model: marked as theirs, after the task's own prompt.
CHANNEL_INSTRUCTIONS = (
    "The admins of the channel you are answering in ask this of every answer there:\n"
    "<channel_instructions>\n{text}\n</channel_instructions>"
)


@dataclass(frozen=True)
class ChannelRules:
    policy: ChannelPolicy
    # CHANNEL_MIN_TIERS's floor for the channel, when its admins set none.
    floor: str = ""

    @property
    def allowed(self) -> bool:
        return self.policy.allowed

    def system(self, base: str) -> str:
        addition = self.policy.prompt_addition.strip()
        return f"{base}\n\n{CHANNEL_INSTRUCTIONS.format(text=addition)}" if addition else base

    def scope(self, scope: str) -> str:
        """The privacy scope of what the request produces: none (never cached or shared)
        where the channel turned caching off."""
        return scope if self.policy.cache_allowed else ""

    def request_fields(self) -> dict[str, Any]:
        """`LLMRequest` fields: the tier limits and the backends the channel allows."""
        return {
            "channel_min_tier": self.policy.min_tier or self.floor,
            "channel_max_tier": self.policy.max_tier,
            "allowed_backends": self.policy.allowed_backends,
        }


def rules_for(rt: Runtime, team_id: str, channel: str) -> ChannelRules:
    """The rules of a channel; a request with no channel (a Jira webhook's) has none."""
    if not channel:
        return ChannelRules(ChannelPolicy())
    return ChannelRules(
        rt.policies.get(team_id, channel), rt.settings.channel_floors.get(channel, "")
    )


__all__ = ["CHANNEL_INSTRUCTIONS", "ChannelRules", "rules_for"]
