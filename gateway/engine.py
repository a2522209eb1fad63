"""The cost engine around the gateway: levers → budget reservation → model call → pricing →
ledger row → budget settlement. Every call it makes, finished or cut, lands in the ledger with
its cost and the naive baseline's, so each saved dollar is traceable to a lever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import cast, get_args

from gateway.budgets import BUDGET_DOWNGRADE_REASON, Budgets, Reservation
from gateway.errors import ChatOpsError, StreamInterruptedError
from gateway.gateway import Gateway
from gateway.ledger import Ledger, LedgerRecord, Source
from gateway.pricing import EC2_BACKEND, PriceCatalog
from gateway.tokens import estimate_prompt_tokens
from gateway.types import Completion, LLMRequest, Route, Usage

log = logging.getLogger(__name__)

TIER_ORDER = ("small", "medium", "large")  # cheapest first


@dataclass(frozen=True)
class Metered:
    completion: Completion
    cost_micro_usd: int | None
    record: LedgerRecord
    # The budget that made the engine downgrade the tier, if one did.
    limited_by: str = ""


class CostEngine:
    def __init__(
        self,
        gateway: Gateway,
        catalog: PriceCatalog,
        ledger: Ledger,
        *,
        levers: frozenset[str],
        budgets: Budgets | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway = gateway
        self.catalog = catalog
        self.ledger = ledger
        self.levers = levers
        self.budgets = budgets
        self._clock = clock
        self.strongest = gateway.routes(TIER_ORDER[-1])[0]

    def complete(self, request: LLMRequest, on_delta: Callable[[str], None]) -> Metered:
        request, reason = self._apply_levers(request)
        reservation: Reservation | None = None
        limited_by = ""
        if self.budgets is not None:
            grant = self.budgets.choose_tier(
                request.user,
                request.channel,
                request.workspace,
                request.tier,
                self._worst_cases(request),
                TIER_ORDER,
            )
            reservation = grant.reservation
            if grant.downgraded:
                request, reason = replace(request, tier=grant.tier), BUDGET_DOWNGRADE_REASON
                limited_by = grant.limited_by
        try:
            completion = self.gateway.complete(request, on_delta)
        except StreamInterruptedError as exc:
            # The tokens were generated and billed: account for them, then report the cut.
            self._account(request, reason, exc.route, exc.usage, 0.0, 0.0, 0, reservation)
            raise
        except ChatOpsError:
            self._settle(reservation, 0)
            raise
        record = self._account(
            request,
            reason,
            completion.route,
            completion.usage,
            completion.ttft_ms,
            completion.duration_ms,
            len(completion.failovers),
            reservation,
        )
        return Metered(completion, record.cost_micro_usd, record, limited_by)

    def _apply_levers(self, request: LLMRequest) -> tuple[LLMRequest, str]:
        if "right_sizing" in self.levers:
            reason = "task default"
        else:
            request, reason = replace(request, tier=TIER_ORDER[-1]), "levers off: strongest tier"
        if "prompt_caching" not in self.levers:
            request = replace(request, cache_system=False, stable_messages=0)
        return request, reason

    def _worst_cases(self, request: LLMRequest) -> Mapping[str, int]:
        """Each tier's cost if the answer used every output token it may: what to reserve."""
        prompt_tokens = estimate_prompt_tokens(request)
        return {
            tier: self._price(routes[0], Usage(prompt_tokens, request.max_output_tokens)) or 0
            for tier, routes in self.gateway.tiers.items()
            if routes
        }

    def _price(self, route: Route, usage: Usage) -> int | None:
        if route.backend == EC2_BACKEND:
            return None
        return self.catalog.cost_micro_usd(replace(usage, model=usage.model or route.model))

    def _account(
        self,
        request: LLMRequest,
        reason: str,
        route: Route,
        usage: Usage,
        ttft_ms: float,
        total_ms: float,
        failovers: int,
        reservation: Reservation | None,
    ) -> LedgerRecord:
        cost = self._price(route, usage)
        baseline = self._price(self.strongest, Usage(usage.total_input_tokens, usage.output_tokens))
        record = LedgerRecord(
            request_id=request.request_id,
            at=self._clock(),
            source=_source(request.source),
            user=request.user,
            channel=request.channel,
            workspace=request.workspace,
            task=request.task,
            backend=route.backend,
            model=usage.model or route.model,
            tier=request.tier,
            tier_reason=reason,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_micro_usd=cost,
            baseline_micro_usd=baseline,
            baseline_model=self.strongest.model,
            ttft_ms=round(ttft_ms),
            total_ms=round(total_ms),
            estimated_usage=usage.estimated,
            failovers=failovers,
        )
        self.ledger.record(record)
        self._settle(reservation, cost or 0)
        return record

    def _settle(self, reservation: Reservation | None, actual_micro_usd: int) -> None:
        if self.budgets is not None and reservation is not None:
            self.budgets.settle(reservation, actual_micro_usd)


def _source(name: str) -> Source:
    """The ledger's name for where a request came from; anything else counts as the CLI."""
    return cast(Source, name) if name in get_args(Source) else "cli"


__all__ = ["TIER_ORDER", "CostEngine", "Metered"]
