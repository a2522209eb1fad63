"""A replay with the self-hosted instance: what stopping it when idle costs and saves on a
team's own traffic, from the hours the instance controller recorded.

The replayed stack gets one instance in moto's EC2 (stopped at first, booting like a real one:
connections refused, then 503s while the model loads), the trace's `tier` routed to it first
and to its Bedrock model while it is down, and a controller that starts it on demand and stops
it after `idle_stop_min` without a request (EC2_SCHEDULE=never: only demand starts it).

Time runs `speed` times faster than the trace's (`chatops replay --speed`), so a week replays
in minutes: the controller's idle limit, its tick, its start timeout and back-off, and the
instance's boot are divided by the speed — in trace time they are what was asked for — and the
running time the controller recorded is multiplied back. What cannot be scaled is the bot's
own latency: a call that takes 0.2 s runs `0.2 × speed` s of trace time on the instance (a call
in flight is never idle-stopped), so the hours measured lean high, not low.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis

from chatops.settings import Settings, parse_routes
from chatops.stack import EC2_MODEL, Stack
from gateway.ec2_policy import EC2_STARTING, EC2_STOPPED, STOPPED
from gateway.instance_hours import InstanceHours
from gateway.ledger import LedgerRecord
from gateway.pricing import EC2_BACKEND, PriceCatalog
from sandbox.openai_compat import Boot

# From StartInstances to the model answering on a g5.xlarge: ~1.5 min to boot, ~2.5 min to
# load an 8B model's weights (trace seconds).
DEFAULT_BOOT_S = 240.0
# How often the controller looks, in trace seconds: well under the idle limit.
TICK_S = 60.0
# The real ticks cannot get shorter than this without the controller's own work (a describe,
# a health check) filling them.
MIN_REAL_TICK_S = 0.05
_HOUR_S = 3600


@dataclass(frozen=True)
class Ec2Replay:
    idle_stop_min: float  # trace minutes
    speed: float  # trace seconds per real second
    boot_s: float = DEFAULT_BOOT_S  # trace seconds
    tier: str = "small"

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("an instance's idle limit and boot are trace time: give a --speed")

    def env(self) -> dict[str, str]:
        """The stack's settings: the tier on the instance first, the controller in real time."""
        real = 1 / self.speed
        return {
            f"TIER_{self.tier.upper()}": _ec2_first(self.tier),
            "EC2_SCHEDULE": "never",
            "EC2_IDLE_STOP_MIN": repr(self.idle_stop_min * real),
            "EC2_CONTROLLER_INTERVAL_S": repr(max(TICK_S * real, MIN_REAL_TICK_S)),
            "EC2_START_TIMEOUT_S": repr(max(3 * self.boot_s, 600.0) * real),
            "EC2_RETRY_AFTER_S": repr(300.0 * real),
        }

    def boot(self) -> Boot:
        """The instance's boot, in real seconds: refused while it boots, 503 while it loads."""
        return Boot(
            refused_s=0.4 * self.boot_s / self.speed, loading_s=0.6 * self.boot_s / self.speed
        )

    def settle(self, stack: Stack, timeout_s: float = 30.0) -> None:
        """After the last event: wait for the idle stop, as the week would have ended."""
        assert stack.ec2_api is not None
        deadline = time.monotonic() + self.idle_stop_min * 60 / self.speed + timeout_s
        while time.monotonic() < deadline:
            if all(stack.ec2_api.state(i) == STOPPED for i in stack.ec2_api.instance_ids):
                return
            time.sleep(0.05)

    def measure(
        self,
        stack: Stack,
        started_at: float,
        records: list[LedgerRecord],
        span_s: float,
        settings: Settings,
        catalog: PriceCatalog,
    ) -> dict[str, Any]:
        """The instance's hours in trace time, priced, against one kept up for the trace's span,
        and what happened to the requests routed to it."""
        assert stack.ec2_api is not None
        client = redis.Redis.from_url(stack.redis_url)
        try:
            intervals = InstanceHours(client).intervals(
                stack.ec2_api.instance_ids, started_at, time.time()
            )
        finally:
            client.close()
        real_s = sum(i.end - i.start for i in intervals)
        hours = Decimal(repr(real_s * self.speed)) / _HOUR_S
        span_h = Decimal(repr(max(span_s, _HOUR_S))) / _HOUR_S
        hourly = catalog.instance_hourly_micro_usd(settings.ec2_instance_type)
        skipped = Counter(_skip_reason(rec) for rec in records)
        return {
            "tier": self.tier,
            "idle_stop_min": self.idle_stop_min,
            "boot_s": self.boot_s,
            "speed": self.speed,
            "instance_type": settings.ec2_instance_type,
            "starts": len(intervals),
            "instance_hours": round(float(hours), 2),
            "instance_cost_usd": _usd(hours, hourly),
            "always_on_hours": round(float(span_h), 2),
            "always_on_cost_usd": _usd(span_h, hourly),
            "served_on_instance": sum(
                rec.backend == EC2_BACKEND and not rec.cache_hit for rec in records
            ),
            "bedrock_meanwhile": {
                reason: skipped[reason] for reason in (EC2_STOPPED, EC2_STARTING) if skipped[reason]
            },
        }


def _ec2_first(tier: str) -> str:
    """The tier's default routes with the instance's model first (added if it had none)."""
    default = Settings.model_fields[f"tier_{tier}"].default
    routes = parse_routes(str(default))
    ec2 = [r for r in routes if r.backend == EC2_BACKEND] or list(
        parse_routes(f"{EC2_BACKEND}:{EC2_MODEL}")
    )
    rest = [r for r in routes if r.backend != EC2_BACKEND]
    return ", ".join(f"{r.backend}:{r.model}" for r in (*ec2, *rest))


def _skip_reason(rec: LedgerRecord) -> str:
    """`ec2 stopped` / `ec2 starting` when the row's ec2 route was skipped for it."""
    return next((reason for reason in (EC2_STOPPED, EC2_STARTING) if reason in rec.route_note), "")


def _usd(hours: Decimal, hourly_micro_usd: int | None) -> float | None:
    if hourly_micro_usd is None:
        return None
    return round(float(hours * hourly_micro_usd) / 1e6, 6)


__all__ = ["DEFAULT_BOOT_S", "Ec2Replay"]
