"""The cost engine around the gateway: levers → budget reservation → model call → pricing →
ledger row → budget settlement.

Accounting cannot be skipped. A call is opened in the call journal (`gateway.call_journal`)
before the model runs and closed however the call ends — a finished answer, a cut stream, an
exception raised by the caller's own `on_delta` (a Slack error), a job timeout, a cancellation:
the row is written (usage estimated, and marked so, where the provider's count was lost) and
the reservation settled, exactly once. A call that produced no token cost nothing and writes no
row; its reservation is refunded. When Redis refuses the close, it is retried, then kept and
retried by `flush_pending`; a worker killed mid-call leaves its call open, and any worker's
`close_abandoned` closes it once its lease has lapsed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import cast, get_args

import redis

from gateway.budgets import BUDGET_DOWNGRADE_REASON, Budgets, Reservation
from gateway.call_journal import CallJournal, OpenCall
from gateway.errors import RetryableError, StreamInterruptedError
from gateway.gateway import Gateway
from gateway.ledger import Ledger, LedgerRecord, Source
from gateway.pricing import EC2_BACKEND, PriceCatalog
from gateway.tokens import CHARS_PER_TOKEN, estimate_prompt_tokens, estimate_usage
from gateway.types import CallProgress, Completion, LLMRequest, Route, Usage

log = logging.getLogger(__name__)

TIER_ORDER = ("small", "medium", "large")  # cheapest first
# How often a running call tells the journal it is alive (and how much it has streamed).
PROGRESS_INTERVAL_S = 1.0
CLOSE_ATTEMPTS = 3


@dataclass(frozen=True)
class Metered:
    completion: Completion
    cost_micro_usd: int | None
    record: LedgerRecord
    # The budget that made the engine downgrade the tier, if one did.
    limited_by: str = ""


@dataclass(frozen=True)
class _Close:
    """Everything needed to close one call; kept and retried when Redis refuses it."""

    call: OpenCall
    record: LedgerRecord | None
    budget_micro_usd: int


class CostEngine:
    def __init__(
        self,
        gateway: Gateway,
        catalog: PriceCatalog,
        ledger: Ledger,
        journal: CallJournal,
        *,
        levers: frozenset[str],
        budgets: Budgets | None = None,
        unpriced_call_micro_usd: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gateway = gateway
        self.catalog = catalog
        self.ledger = ledger
        self.journal = journal
        self.levers = levers
        self.budgets = budgets
        # What a call on a model with no per-token price counts against budgets.
        self.unpriced_call_micro_usd = unpriced_call_micro_usd
        self._clock = clock
        self._sleep = sleep
        self._pending: list[_Close] = []
        self.strongest = gateway.routes(TIER_ORDER[-1])[0]

    def complete(self, request: LLMRequest, on_delta: Callable[[str], None]) -> Metered:
        request, reason = self._apply_levers(request)
        reservation, request, reason, limited_by = self._reserve(request, reason)
        call = self._open(request, reason, reservation)
        progress = CallProgress()
        forward = self._reporting(call.call_id, on_delta, progress)
        try:
            completion = self.gateway.complete(request, forward, progress)
        except StreamInterruptedError as exc:
            # The tokens were generated and billed: account for them, then report the cut.
            self._close(call, exc.route, exc.usage)
            raise
        except BaseException:
            if progress.route is not None and progress.parts:
                usage = estimate_usage(request, progress.text, progress.route.model)
                self._close(call, progress.route, usage)
            else:
                self._close(call, None, None)
            raise
        record = self._close(
            call,
            completion.route,
            completion.usage,
            ttft_ms=completion.ttft_ms,
            total_ms=completion.duration_ms,
            failovers=len(completion.failovers),
        )
        assert record is not None
        return Metered(completion, record.cost_micro_usd, record, limited_by)

    # -- before the call -------------------------------------------------------------------

    def _apply_levers(self, request: LLMRequest) -> tuple[LLMRequest, str]:
        if "right_sizing" in self.levers:
            reason = "task default"
        else:
            request, reason = replace(request, tier=TIER_ORDER[-1]), "levers off: strongest tier"
        if "prompt_caching" not in self.levers:
            request = replace(request, cache_system=False, stable_messages=0)
        return request, reason

    def _reserve(
        self, request: LLMRequest, reason: str
    ) -> tuple[Reservation | None, LLMRequest, str, str]:
        if self.budgets is None:
            return None, request, reason, ""
        grant = self.budgets.choose_tier(
            request.user,
            request.channel,
            request.workspace,
            request.tier,
            self._worst_cases(request),
            TIER_ORDER,
        )
        if grant.downgraded:
            request = replace(request, tier=grant.tier)
            return grant.reservation, request, BUDGET_DOWNGRADE_REASON, grant.limited_by
        return grant.reservation, request, reason, ""

    def _worst_cases(self, request: LLMRequest) -> Mapping[str, int]:
        """Each tier's cost if the answer used every output token it may, on the dearest of
        its routes (a fallback may run instead of the first): what to reserve."""
        usage = Usage(estimate_prompt_tokens(request), request.max_output_tokens)
        return {
            tier: max(self._budget_cost(route, usage) for route in routes)
            for tier, routes in self.gateway.tiers.items()
            if routes
        }

    def _budget_cost(self, route: Route, usage: Usage) -> int:
        """What a call counts against budgets: its price; nothing on the EC2 instance, whose
        hours are paid whether or not it answers; a configured amount when unpriced."""
        if route.backend == EC2_BACKEND:
            return 0
        cost = self._price(route, usage)
        return self.unpriced_call_micro_usd if cost is None else cost

    def _open(self, request: LLMRequest, reason: str, reservation: Reservation | None) -> OpenCall:
        call = OpenCall(
            call_id=uuid.uuid4().hex,
            row=self._row(request, reason),
            reservation=reservation,
            prompt_tokens=estimate_prompt_tokens(request),
        )
        try:
            self.journal.open(call)
        except redis.RedisError as exc:
            if reservation is not None and self.budgets is not None:
                self._best_effort_refund(reservation)
            raise RetryableError(f"cannot open the call in the journal: {exc}") from exc
        return call

    def _best_effort_refund(self, reservation: Reservation) -> None:
        try:
            assert self.budgets is not None
            self.budgets.settle(reservation, 0)
        except redis.RedisError:
            log.warning("refund_failed amount_micro_usd=%d", reservation.amount_micro_usd)

    def _reporting(
        self, call_id: str, on_delta: Callable[[str], None], progress: CallProgress
    ) -> Callable[[str], None]:
        """`on_delta`, then a journal update: at the first token (which route answers), then
        at most every PROGRESS_INTERVAL_S. The person's text goes first."""
        streamed = 0
        reported_at: float | None = None

        def forward(delta: str) -> None:
            nonlocal streamed, reported_at
            streamed += len(delta)
            on_delta(delta)
            now = self._clock()
            if reported_at is not None and now - reported_at < PROGRESS_INTERVAL_S:
                return
            route = progress.route if reported_at is None else None
            reported_at = now
            try:
                self.journal.progress(call_id, streamed, route)
            except redis.RedisError:
                log.debug("progress_not_saved call_id=%s", call_id)

        return forward

    # -- after the call --------------------------------------------------------------------

    def _row(self, request: LLMRequest, reason: str) -> LedgerRecord:
        """The call's ledger row before it runs: who, what, why; usage and cost come at close."""
        return LedgerRecord(
            request_id=request.request_id,
            at=self._clock(),
            source=_source(request.source),
            user=request.user,
            channel=request.channel,
            workspace=request.workspace,
            task=request.task,
            backend="",
            model="",
            tier=request.tier,
            tier_reason=reason,
            input_tokens=0,
            output_tokens=0,
            cache_read_tokens=0,
            cache_write_tokens=0,
            cost_micro_usd=None,
            baseline_micro_usd=None,
            baseline_model=self.strongest.model,
            ttft_ms=0,
            total_ms=0,
        )

    def _finished_row(
        self,
        call: OpenCall,
        route: Route,
        usage: Usage,
        *,
        ttft_ms: float = 0.0,
        total_ms: float = 0.0,
        failovers: int = 0,
    ) -> LedgerRecord:
        baseline = self._price(self.strongest, Usage(usage.total_input_tokens, usage.output_tokens))
        return replace(
            call.row,
            at=self._clock(),
            call_id=call.call_id,
            backend=route.backend,
            model=usage.model or route.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_micro_usd=self._price(route, usage),
            baseline_micro_usd=baseline,
            ttft_ms=round(ttft_ms),
            total_ms=round(total_ms),
            estimated_usage=usage.estimated,
            failovers=failovers,
            stop_reason=usage.stop_reason,
        )

    def _close(
        self,
        call: OpenCall,
        route: Route | None,
        usage: Usage | None,
        **timings: float,
    ) -> LedgerRecord | None:
        """Write the row (if the call produced anything) and settle, once; never raises for
        Redis: a close Redis refuses is kept for `flush_pending`."""
        if route is None or usage is None:
            close = _Close(call, None, 0)
        else:
            record = self._finished_row(call, route, usage, **timings)  # type: ignore[arg-type]
            close = _Close(call, record, self._budget_cost(route, usage))
        for attempt in range(CLOSE_ATTEMPTS):
            try:
                self._commit(close)
                return close.record
            except redis.WatchError:
                continue
            except redis.RedisError as exc:
                log.warning("close_failed call_id=%s attempt=%d: %s", call.call_id, attempt, exc)
                self._sleep(0.05 * 4**attempt)
        log.warning("close_pending call_id=%s row=%s", call.call_id, _json(close.record))
        self._pending.append(close)
        return close.record

    def _commit(self, close: _Close) -> None:
        with self.journal.closing(close.call.call_id) as pipe:
            if pipe is None:
                log.info("already_closed call_id=%s", close.call.call_id)
                return
            if close.record is not None:
                self.ledger.record(close.record, pipe)
            if close.call.reservation is not None and self.budgets is not None:
                self.budgets.settle(close.call.reservation, close.budget_micro_usd, pipe)

    def flush_pending(self) -> int:
        """Retry closes Redis refused earlier; returns how many are still pending."""
        still: list[_Close] = []
        for close in self._pending:
            try:
                self._commit(close)
            except redis.RedisError:
                still.append(close)
        self._pending = still
        return len(still)

    def close_abandoned(self) -> int:
        """Close calls whose worker died: usage estimated from what had streamed. Safe to run
        from every worker at once."""
        closed = 0
        for call in self.journal.abandoned():
            row = call.row
            if not row.model:
                # Died before the gateway reported a route: nothing to bill, only refund.
                self._close(call, None, None)
                continue
            usage = Usage(
                input_tokens=call.prompt_tokens,
                output_tokens=-(-call.output_chars // CHARS_PER_TOKEN),
                model=row.model,
                estimated=True,
            )
            if usage.output_tokens == 0:
                self._close(call, None, None)
            else:
                self._close(call, Route(row.backend, row.model), usage)
            closed += 1
        return closed

    def _price(self, route: Route, usage: Usage) -> int | None:
        if route.backend == EC2_BACKEND:
            return None
        return self.catalog.cost_micro_usd(replace(usage, model=usage.model or route.model))


def _json(record: LedgerRecord | None) -> str:
    return record.to_json() if record is not None else "-"


def _source(name: str) -> Source:
    """The ledger's name for where a request came from; anything else counts as the CLI."""
    return cast(Source, name) if name in get_args(Source) else "cli"


__all__ = ["TIER_ORDER", "CostEngine", "Metered"]
