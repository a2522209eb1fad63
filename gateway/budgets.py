"""Daily spend caps per user, channel and workspace, checked and reserved atomically.

A job reserves its worst-case cost before any model runs and settles the actual cost after, so
concurrent jobs cannot all squeeze under a cap that only one of them fits (50 threads reserving
$0.10 against $1.00 get exactly 10 grants). Check and increment of all three scopes happen in
one Lua script, registered once and run by EVALSHA; settling runs the same script with no caps.

Layout (builder in `gateway.keys`), in the queue/state Redis (noeviction: an evicted counter
would silently reset a budget):

    chatops:budget:{YYYY-MM-DD}:{scope}:{name}   STRING  micro-USD reserved or spent that day

A period is a UTC day; it resets at midnight UTC and its keys expire a day after it ends. A
reservation remembers its period's keys, so a call that runs across midnight settles against
the day it reserved on.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import redis

from gateway import keys
from gateway.errors import BudgetExceededError

SCOPES = ("user", "channel", "workspace")
BUDGET_NAMES = {
    "user": "your daily budget",
    "channel": "this channel's daily budget",
    "workspace": "this workspace's daily budget",
}
# What the caller records as `tier_reason` when `choose_tier` had to downgrade.
BUDGET_DOWNGRADE_REASON = "budget downgrade"

_DAY_S = 86_400

# KEYS: the user, channel and workspace counters of one period.
# ARGV: amount (negative to give back), the three caps (0 = no cap), the unix expiry time.
# Every capped scope is checked before anything is written, so a refusal changes nothing.
# Returns {0, 0} when granted, else {index of the first scope that does not fit, its room left}.
_RESERVE_LUA = """
local amount = tonumber(ARGV[1])
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i + 1])
  if cap > 0 then
    local spent = tonumber(redis.call('GET', KEYS[i]) or '0')
    if spent + amount > cap then
      return {i, cap - spent}
    end
  end
end
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[1])
  redis.call('EXPIREAT', KEYS[i], ARGV[5])
end
return {0, 0}
"""


@dataclass(frozen=True)
class BudgetCaps:
    """Daily caps in micro-USD; 0 means no cap for that scope."""

    user_micro_usd: int = 0
    channel_micro_usd: int = 0
    workspace_micro_usd: int = 0

    def in_scope_order(self) -> tuple[int, int, int]:
        return (self.user_micro_usd, self.channel_micro_usd, self.workspace_micro_usd)


@dataclass(frozen=True)
class Reservation:
    """Money set aside for one call; settle it exactly once with what the call cost."""

    user: str
    channel: str
    workspace: str
    amount_micro_usd: int
    period_keys: tuple[str, ...]
    expire_at: int


@dataclass(frozen=True)
class TierGrant:
    """The tier a request may run on. When it is a downgrade (record
    `BUDGET_DOWNGRADE_REASON`), `limited_by` names the budget that refused the requested tier."""

    tier: str
    reservation: Reservation
    downgraded: bool
    limited_by: str = ""


# The caps of one (user, channel, workspace): for caps that differ by who asks.
CapsLookup = Callable[[str, str, str], BudgetCaps]


class Budgets:
    def __init__(
        self,
        redis_client: redis.Redis,
        caps: BudgetCaps,
        *,
        clock: Callable[[], float] = time.time,
        caps_for: CapsLookup | None = None,
    ) -> None:
        _check_caps(caps)
        self._redis = redis_client
        self._caps = caps
        # The API's tokens each carry their own daily cap: `caps_for` replaces `caps` then.
        self._caps_for = caps_for
        self._clock = clock
        self._script = redis_client.register_script(_RESERVE_LUA)

    def reserve(
        self, user: str, channel: str, workspace: str, amount_micro_usd: int
    ) -> Reservation:
        """Set `amount_micro_usd` aside in all three scopes, or raise `BudgetExceededError`."""
        if amount_micro_usd < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount_micro_usd})")
        day, resets_at = _period(self._clock())
        period_keys = tuple(
            keys.budget_spent(day, scope, name)
            for scope, name in zip(SCOPES, (user, channel, workspace), strict=True)
        )
        expire_at = int(resets_at.timestamp()) + _DAY_S
        caps = self._caps if self._caps_for is None else self._caps_for(user, channel, workspace)
        _check_caps(caps)
        refused, room = self._run(period_keys, amount_micro_usd, caps.in_scope_order(), expire_at)
        if refused:
            scope = SCOPES[refused - 1]
            raise BudgetExceededError(
                scope=scope,
                budget_name=BUDGET_NAMES[scope],
                remaining_micro_usd=room,
                resets_at=resets_at,
            )
        return Reservation(user, channel, workspace, amount_micro_usd, period_keys, expire_at)

    def settle(
        self,
        reservation: Reservation,
        actual_micro_usd: int,
        pipe: redis.client.Pipeline | None = None,
    ) -> None:
        """Replace the reserved amount by the actual cost; 0 refunds a call that failed.

        Never refused: the money is already spent, even if the call cost more than reserved.
        With `pipe`, the settlement is queued there, to run in the caller's transaction.
        """
        if actual_micro_usd < 0:
            raise ValueError(f"an actual cost cannot be negative ({actual_micro_usd})")
        difference = actual_micro_usd - reservation.amount_micro_usd
        if difference:
            self._script(
                keys=list(reservation.period_keys),
                args=[difference, 0, 0, 0, reservation.expire_at],
                client=pipe,
            )

    def choose_tier(
        self,
        user: str,
        channel: str,
        workspace: str,
        requested: str,
        worst_case_by_tier: Mapping[str, int],
        order: Sequence[str],
    ) -> TierGrant:
        """Reserve for `requested`, else for the most capable cheaper tier that fits.

        `order` runs from cheapest to most capable. When even the cheapest tier does not fit,
        its refusal is raised: it names the budget and what is left.
        """
        if requested not in order:
            raise ValueError(f"tier {requested!r} is not in the order {list(order)}")
        *better, cheapest = reversed(order[: order.index(requested) + 1])
        missing = [tier for tier in (*better, cheapest) if tier not in worst_case_by_tier]
        if missing:
            raise ValueError(f"no worst-case cost for tier(s) {', '.join(missing)}")

        refusals: list[BudgetExceededError] = []

        def attempt(tier: str) -> TierGrant:
            reservation = self.reserve(user, channel, workspace, worst_case_by_tier[tier])
            limited_by = refusals[0].budget_name if refusals else ""
            return TierGrant(tier, reservation, tier != requested, limited_by)

        for tier in better:
            try:
                return attempt(tier)
            except BudgetExceededError as refusal:
                refusals.append(refusal)
        return attempt(cheapest)

    def spent_micro_usd(self, scope: str, name: str) -> int:
        """Reserved or spent so far in the current period by one user, channel or workspace."""
        if scope not in BUDGET_NAMES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)} (got {scope!r})")
        day, _ = _period(self._clock())
        return int(self._redis.get(keys.budget_spent(day, scope, name)) or 0)

    def _run(
        self, period_keys: Sequence[str], amount: int, caps: Sequence[int], expire_at: int
    ) -> tuple[int, int]:
        refused, room = self._script(keys=list(period_keys), args=[amount, *caps, expire_at])
        return int(refused), int(room)


def _check_caps(caps: BudgetCaps) -> None:
    if min(caps.in_scope_order()) < 0:
        raise ValueError(f"budget caps must be 0 (no cap) or positive (got {caps})")


def _period(now: float) -> tuple[str, datetime.datetime]:
    """The UTC day `now` falls in, and the midnight that ends it."""
    day = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    resets_at = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
    )
    return day.isoformat(), resets_at


__all__ = [
    "BUDGET_DOWNGRADE_REASON",
    "BUDGET_NAMES",
    "SCOPES",
    "BudgetCaps",
    "Budgets",
    "CapsLookup",
    "Reservation",
    "TierGrant",
]
