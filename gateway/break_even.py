"""Bedrock against the self-hosted instances for one period's traffic.

The period's model-call tokens priced on each tier's Bedrock model (Bedrock alone), beside
what the instances cost as they really ran and what one instance kept up all period would
have cost — both from `gateway.instance_hours.Ec2Hours`, the one home of instance hours and
their price. The monthly break-even volume is one instance's monthly always-on cost over each
Bedrock model's price per token at the traffic's own input:output mix.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from gateway.instance_hours import Ec2Hours
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
# The ways of running instances break-even compares (`InstanceOption.kind`): as the instance
# controller really ran them, and one instance kept up all period.
AS_RUN, ALWAYS_ON = "as_run", "always_on"


@dataclass(frozen=True)
class TierOption:
    """This traffic on one tier's Bedrock model, and the volume where EC2 would cost the same."""

    tier: str
    model: str
    traffic_micro_usd: int | None  # None: the model has no price
    break_even_tokens_per_month: int | None


@dataclass(frozen=True)
class InstanceOption:
    """One way to run the instances through the period: the hours billed and their cost."""

    kind: str  # AS_RUN or ALWAYS_ON
    hours: Decimal
    cost_micro_usd: int | None  # None: the instance type has no price


@dataclass(frozen=True)
class BreakEven:
    """The period's model-call tokens priced on each Bedrock tier and on the instances.

    `exceeds_one_instance` says when the busiest clock hour decoded more output tokens than one
    A10G does single-stream in an hour: the always-on figure is for one instance.
    """

    input_tokens: int  # billed input + cache reads + cache writes, priced at the input rate
    output_tokens: int
    mix_is_observed: bool  # False: no traffic, so DEFAULT_INPUT_OUTPUT_MIX was used
    tiers: tuple[TierOption, ...]
    instance_type: str
    # AS_RUN only when instances are configured; ALWAYS_ON always, as the yardstick.
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
    hours: Ec2Hours,
) -> BreakEven:
    """Model calls only: a response-cache hit would be a hit on either backend, and free."""
    input_tokens = sum(rec.total_input_tokens for rec in calls)
    output_tokens = sum(rec.output_tokens for rec in calls)
    mix = (input_tokens, output_tokens) if calls else DEFAULT_INPUT_OUTPUT_MIX
    hourly = hours.hourly_micro_usd
    monthly = None if hourly is None else hourly * HOURS_PER_MONTH
    output_by_hour: Counter[datetime.datetime] = Counter()
    for rec in calls:
        output_by_hour[clock_hour(rec.at)] += rec.output_tokens
    peak = max(output_by_hour, key=lambda hour: (output_by_hour[hour], hour), default=None)
    options = [InstanceOption(ALWAYS_ON, hours.always_on_hours, hours.always_on_micro_usd)]
    if hours.configured:
        options.insert(0, InstanceOption(AS_RUN, hours.hours, hours.cost_micro_usd))
    return BreakEven(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        mix_is_observed=bool(calls),
        tiers=tuple(
            _tier_option(name, route, catalog, (input_tokens, output_tokens), mix, monthly)
            for name, route in bedrock_routes(tiers).items()
        ),
        instance_type=hours.instance_type,
        instance_options=tuple(options),
        monthly_always_on_micro_usd=monthly,
        peak_hour=peak,
        peak_hour_output_tokens=output_by_hour[peak] if peak else 0,
    )


def bedrock_routes(tiers: Mapping[str, Sequence[Route]]) -> dict[str, Route]:
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
    "AS_RUN",
    "BEDROCK_BACKEND",
    "DEFAULT_INPUT_OUTPUT_MIX",
    "HOURS_PER_MONTH",
    "SINGLE_STREAM_DECODE_TOKENS_PER_S",
    "BreakEven",
    "InstanceOption",
    "TierOption",
    "bedrock_routes",
    "break_even",
    "clock_hour",
]
