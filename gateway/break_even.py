"""Bedrock against the self-hosted instance for one period's traffic.

The same model-call tokens are priced three ways: on each tier's Bedrock model, on the
instance kept up for the whole period (and on its schedule), and on the instance started only
for the clock hours in which a request ran. The monthly break-even volume is the instance's
monthly cost over each Bedrock model's price per token at the traffic's own input:output mix.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from gateway.ec2_schedule import Ec2Schedule
from gateway.ledger import LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.types import Route

BEDROCK_BACKEND = "bedrock"
# AWS prices a month as 730 hours (8,760 / 12): FACTS' "$734 per month" for a g5.xlarge.
HOURS_PER_MONTH = 730
# A single request decodes near 37 tokens/s on an A10G (FACTS, EC2 self-hosted); continuous
# batching serves more in total, so this is the cautious capacity of one instance.
SINGLE_STREAM_DECODE_TOKENS_PER_S = 37
# FACTS' break-even blend, used only when there is no traffic to take a mix from.
DEFAULT_INPUT_OUTPUT_MIX = (3, 1)
_ALWAYS_ON = Ec2Schedule(frozenset(range(7)), 0, 24, "always")
# The ways to run the instance that break-even compares (`InstanceOption.kind`).
ALWAYS_ON, ON_SCHEDULE, WHEN_ACTIVE = "always_on", "on_schedule", "stopped_when_idle"


@dataclass(frozen=True)
class TierOption:
    """This traffic on one tier's Bedrock model, and the volume where EC2 would cost the same."""

    tier: str
    model: str
    traffic_micro_usd: int | None  # None: the model has no price
    break_even_tokens_per_month: int | None


@dataclass(frozen=True)
class InstanceOption:
    """One way to run the instance through the period: the hours billed and their cost."""

    kind: str  # ALWAYS_ON, ON_SCHEDULE or WHEN_ACTIVE
    hours: Decimal
    cost_micro_usd: int | None  # None: the instance type has no price


@dataclass(frozen=True)
class BreakEven:
    """The period's model-call tokens priced on each Bedrock tier and on one EC2 instance.

    Assumes one instance can serve the load; `exceeds_one_instance` says when the busiest clock
    hour decoded more output tokens than one A10G does single-stream in an hour.
    """

    input_tokens: int  # billed input + cache reads + cache writes, priced at the input rate
    output_tokens: int
    mix_is_observed: bool  # False: no traffic, so DEFAULT_INPUT_OUTPUT_MIX was used
    tiers: tuple[TierOption, ...]
    instance_type: str
    schedule: str
    instance_options: tuple[InstanceOption, ...]
    monthly_always_on_micro_usd: int | None
    peak_hour: datetime.datetime | None
    peak_hour_output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def one_instance_output_tokens_per_hour(self) -> int:
        return SINGLE_STREAM_DECODE_TOKENS_PER_S * 3600

    @property
    def exceeds_one_instance(self) -> bool:
        return self.peak_hour_output_tokens > self.one_instance_output_tokens_per_hour


def clock_hour(at: float) -> datetime.datetime:
    """The UTC clock hour `at` falls in."""
    return datetime.datetime.fromtimestamp(at, datetime.UTC).replace(
        minute=0, second=0, microsecond=0
    )


def break_even(
    calls: list[LedgerRecord],
    catalog: PriceCatalog,
    tiers: Mapping[str, Sequence[Route]],
    instance_type: str,
    schedule: Ec2Schedule,
    period: tuple[datetime.datetime, datetime.datetime],
) -> BreakEven:
    """Model calls only: a response-cache hit would be a hit on either backend, and free."""
    input_tokens = sum(rec.total_input_tokens for rec in calls)
    output_tokens = sum(rec.output_tokens for rec in calls)
    mix = (input_tokens, output_tokens) if calls else DEFAULT_INPUT_OUTPUT_MIX
    hourly = catalog.instance_hourly_micro_usd(instance_type)
    monthly = None if hourly is None else hourly * HOURS_PER_MONTH
    output_by_hour: Counter[datetime.datetime] = Counter()
    for rec in calls:
        output_by_hour[clock_hour(rec.at)] += rec.output_tokens
    peak = max(output_by_hour, key=lambda hour: (output_by_hour[hour], hour), default=None)
    hours = {
        ALWAYS_ON: _ALWAYS_ON.hours_up(*period),
        ON_SCHEDULE: schedule.hours_up(*period),
        WHEN_ACTIVE: sum(
            (_ALWAYS_ON.hours_up(*_clip(hour, period)) for hour in output_by_hour), Decimal(0)
        ),
    }
    if schedule.is_always:
        del hours[ON_SCHEDULE]
    return BreakEven(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        mix_is_observed=bool(calls),
        tiers=tuple(
            _tier_option(name, route, catalog, (input_tokens, output_tokens), mix, monthly)
            for name, route in _bedrock_routes(tiers).items()
        ),
        instance_type=instance_type,
        schedule=str(schedule),
        instance_options=tuple(
            InstanceOption(kind, hours_billed, _instance_cost(catalog, instance_type, hours_billed))
            for kind, hours_billed in hours.items()
        ),
        monthly_always_on_micro_usd=monthly,
        peak_hour=peak,
        peak_hour_output_tokens=output_by_hour[peak] if peak else 0,
    )


def _clip(
    hour: datetime.datetime, period: tuple[datetime.datetime, datetime.datetime]
) -> tuple[datetime.datetime, datetime.datetime]:
    """A clock hour cut to the period: an instance started for the last half hour of a period
    bills that half hour here, so stopped-when-idle never exceeds always-on."""
    start, end = period
    return max(hour, start), min(hour + datetime.timedelta(hours=1), end)


def _instance_cost(catalog: PriceCatalog, instance_type: str, hours: Decimal) -> int | None:
    period_cost = catalog.ec2_cost_for_period(instance_type, hours, tokens_served=0)
    return None if period_cost is None else period_cost.cost_micro_usd


def _bedrock_routes(tiers: Mapping[str, Sequence[Route]]) -> dict[str, Route]:
    """Each tier's first Bedrock route: its primary, or its Bedrock fallback if ec2 is first."""
    firsts = {
        name: next((r for r in routes if r.backend == BEDROCK_BACKEND), None)
        for name, routes in tiers.items()
    }
    return {name: route for name, route in firsts.items() if route is not None}


def _tier_option(
    tier: str,
    route: Route,
    catalog: PriceCatalog,
    traffic: tuple[int, int],
    mix: tuple[int, int],
    monthly_micro_usd: int | None,
) -> TierOption:
    """`traffic` and `mix` are (input, output) tokens. Priced uncached: prompt-cache discounts
    hinge on per-model minimum prefixes that do not carry over from the model that ran, and an
    EC2 token gets no such discount either. Break-even: the instance's monthly cost over the
    model's price per token blended at the traffic's own input:output mix."""
    traffic_micro_usd = catalog.uncached_cost_micro_usd(route.model, *traffic)
    price = catalog.price(route.model)
    break_even = None
    if price is not None and monthly_micro_usd is not None:
        mix_in, mix_out = mix
        blended = (
            mix_in * price.input_micro_usd_per_token + mix_out * price.output_micro_usd_per_token
        ) / (mix_in + mix_out)
        if blended > 0:
            break_even = int((monthly_micro_usd / blended).to_integral_value(ROUND_HALF_UP))
    return TierOption(tier, route.model, traffic_micro_usd, break_even)


__all__ = [
    "ALWAYS_ON",
    "BEDROCK_BACKEND",
    "DEFAULT_INPUT_OUTPUT_MIX",
    "HOURS_PER_MONTH",
    "ON_SCHEDULE",
    "SINGLE_STREAM_DECODE_TOKENS_PER_S",
    "WHEN_ACTIVE",
    "BreakEven",
    "InstanceOption",
    "TierOption",
    "break_even",
    "clock_hour",
]
