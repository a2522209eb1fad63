"""Accounting that cannot be skipped: every model call, cache hit and call avoided is one
ledger row, written once, and every budget reservation is settled once.

A model call is opened in the call journal (`gateway.call_journal`) before the model runs and
closed however it ends — a finished answer, a cut stream, an exception raised by the caller's
own `on_delta` (a Slack error), a job timeout, a cancellation: the row is written (usage
estimated, and marked so, where the provider's count was lost) and the reservation settled. A
call that produced no token cost nothing and writes no row; its reservation is refunded. When
Redis refuses the close it is retried, then kept and retried by `flush_pending`; a worker killed
mid-call leaves its call open, and any worker's `close_abandoned` closes it once its lease has
lapsed.

Every row carries what the naive way would have cost (`baseline_micro_usd`): the strongest
tier's model, uncached, on the whole uncompacted context with the same output — or, for a
windowed document's calls, the whole document in one call, carried by the final step.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast, get_args

import redis

from gateway.batching import batch_fields
from gateway.budgets import Budgets, Reservation
from gateway.call_journal import CallJournal, OpenCall
from gateway.errors import RetryableError
from gateway.ledger import Ledger, LedgerRecord, Source
from gateway.pricing import EC2_BACKEND, PriceCatalog
from gateway.tokens import CHARS_PER_TOKEN, estimate_prompt_tokens
from gateway.types import LLMRequest, Route, Usage

log = logging.getLogger(__name__)

CLOSE_ATTEMPTS = 3
# What the naive way's answer to a message that needs none ("thanks!") would have been.
NO_CALL_NAIVE_OUTPUT_TOKENS = 40


@dataclass(frozen=True)
class RowFacts:
    """What the levers did to one call, for its ledger row (set before the call runs)."""

    tier_reason: str = ""
    # The whole context as the naive way would send it (before compaction and trimming).
    naive_prompt_tokens: int = 0
    compacted_prompt_tokens: int = 0
    route_note: str = ""
    cache_kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Close:
    """Everything needed to close one call; kept and retried when Redis refuses it."""

    call: OpenCall
    record: LedgerRecord | None
    budget_micro_usd: int


class Accountant:
    def __init__(
        self,
        catalog: PriceCatalog,
        ledger: Ledger,
        journal: CallJournal,
        strongest: Route,
        *,
        budgets: Budgets | None = None,
        unpriced_call_micro_usd: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.catalog = catalog
        self.ledger = ledger
        self.journal = journal
        self.strongest = strongest
        self.budgets = budgets
        # What a call on a model with no per-token price counts against budgets.
        self.unpriced_call_micro_usd = unpriced_call_micro_usd
        self._clock = clock
        self._sleep = sleep
        self._pending: list[_Close] = []

    # -- rows -------------------------------------------------------------------------------

    def row(self, request: LLMRequest, facts: RowFacts) -> LedgerRecord:
        """A row for `request` before anything ran: who, what, why; usage and cost come later."""
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
            tier_reason=facts.tier_reason,
            input_tokens=0,
            output_tokens=0,
            cache_read_tokens=0,
            cache_write_tokens=0,
            cost_micro_usd=None,
            baseline_micro_usd=None,
            baseline_model=self.strongest.model,
            ttft_ms=0,
            total_ms=0,
            compaction_removed_tokens=max(
                0, facts.naive_prompt_tokens - facts.compacted_prompt_tokens
            ),
            uncompacted_input_tokens=facts.naive_prompt_tokens,
            windows=request.windows,
            redactions=request.redactions,
            route_note=facts.route_note,
            cache_kind=facts.cache_kind,
            **batch_fields(request.batch, Usage(0, 0), prompt_tokens=0, output_text=None),
            **facts.extra,
        )

    def finished(
        self,
        row: LedgerRecord,
        request: LLMRequest,
        route: Route,
        usage: Usage,
        output_text: str | None = None,
        **fields: Any,
    ) -> LedgerRecord:
        """The row with the usage the provider reported, its cost and its naive baseline.

        `output_text`: the whole answer, for a packed call's counterfactual (None: cut)."""
        naive_input = self._naive_input_tokens(row, request, usage)
        batched = batch_fields(
            request.batch,
            usage,
            prompt_tokens=estimate_prompt_tokens(request),
            output_text=output_text,
        )
        done = replace(
            row,
            at=self._clock(),
            backend=route.backend,
            model=usage.model or route.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_micro_usd=self.price(route, usage),
            estimated_usage=usage.estimated,
            stop_reason=usage.stop_reason,
            uncompacted_input_tokens=naive_input,
            compaction_removed_tokens=max(0, naive_input - usage.total_input_tokens),
            **batched,
            **fields,
        )
        return replace(done, baseline_micro_usd=self._baseline(done, request))

    def free_row(
        self, request: LLMRequest, facts: RowFacts, route: Route, output_tokens: int, **fields: Any
    ) -> LedgerRecord:
        """A request answered without a model call (a cache hit, no call needed): cost 0."""
        row = self.row(request, facts)
        done = replace(
            row,
            call_id=uuid.uuid4().hex,
            backend=route.backend,
            model=route.model,
            cost_micro_usd=0,
            output_tokens=0,
            cache_hit=bool(facts.cache_kind),
            **fields,
        )
        naive = replace(done, output_tokens=output_tokens)
        return replace(done, baseline_micro_usd=self._baseline(naive, request))

    def _naive_input_tokens(self, row: LedgerRecord, request: LLMRequest, usage: Usage) -> int:
        """The naive way's input in the provider's own tokens: our estimate of the whole
        context scaled by how the provider counted what was actually sent."""
        naive = row.uncompacted_input_tokens or estimate_prompt_tokens(request)
        sent_estimate = estimate_prompt_tokens(request)
        if usage.estimated or not sent_estimate:
            return max(naive, usage.total_input_tokens)
        scaled = round(naive * usage.total_input_tokens / sent_estimate)
        return max(scaled, usage.total_input_tokens)

    def _baseline(self, row: LedgerRecord, request: LLMRequest) -> int | None:
        if request.naive_input_tokens == 0:
            return 0  # a windowed map step: the naive way makes no such call
        if row.is_packed:
            # The naive way asks each item alone: the singles' tokens, on the strongest model.
            usage = Usage(
                row.single_input_tokens, row.single_output_tokens, model=self.strongest.model
            )
            return self.catalog.cost_micro_usd(usage)
        naive_input = (
            row.uncompacted_input_tokens
            if request.naive_input_tokens is None
            else request.naive_input_tokens
        )
        usage = Usage(naive_input, row.output_tokens, model=self.strongest.model)
        return self.catalog.cost_micro_usd(usage)

    def price(self, route: Route, usage: Usage) -> int | None:
        if route.backend == EC2_BACKEND:
            return None
        return self.catalog.cost_micro_usd(replace(usage, model=usage.model or route.model))

    def budget_cost(self, route: Route, usage: Usage) -> int:
        """What a call counts against budgets: its price; nothing on the EC2 instance, whose
        hours are paid whether or not it answers; a configured amount when unpriced."""
        if route.backend == EC2_BACKEND:
            return 0
        cost = self.price(route, usage)
        return self.unpriced_call_micro_usd if cost is None else cost

    # -- one call's life --------------------------------------------------------------------

    def open(
        self,
        request: LLMRequest,
        row: LedgerRecord,
        reservation: Reservation | None,
    ) -> OpenCall:
        call_id = uuid.uuid4().hex
        call = OpenCall(
            call_id=call_id,
            row=replace(row, call_id=call_id),
            reservation=reservation,
            prompt_tokens=estimate_prompt_tokens(request),
        )
        try:
            self.journal.open(call)
        except redis.RedisError as exc:
            if reservation is not None:
                self._best_effort_refund(reservation)
            raise RetryableError(f"cannot open the call in the journal: {exc}") from exc
        return call

    def progress(self, call_id: str, streamed_chars: int, route: Route | None) -> None:
        try:
            self.journal.progress(call_id, streamed_chars, route)
        except redis.RedisError:
            log.debug("progress_not_saved call_id=%s", call_id)

    def close(self, call: OpenCall, record: LedgerRecord | None, route: Route | None) -> None:
        """Write the row (None: the call produced nothing) and settle, once; never raises for
        Redis: a close Redis refuses is kept for `flush_pending`."""
        if record is None or route is None:
            close = _Close(call, None, 0)
        else:
            usage = Usage(
                record.input_tokens,
                record.output_tokens,
                record.cache_read_tokens,
                record.cache_write_tokens,
                model=record.model,
            )
            close = _Close(
                call, replace(record, call_id=call.call_id), self.budget_cost(route, usage)
            )
        for attempt in range(CLOSE_ATTEMPTS):
            try:
                self._commit(close)
                return
            except redis.WatchError:
                continue
            except redis.RedisError as exc:
                log.warning("close_failed call_id=%s attempt=%d: %s", call.call_id, attempt, exc)
                self._sleep(0.05 * 4**attempt)
        log.warning("close_pending call_id=%s row=%s", call.call_id, _json(close.record))
        self._pending.append(close)

    def record_free(self, record: LedgerRecord) -> None:
        """A row for a request that made no model call (idempotent by its call id)."""
        for attempt in range(CLOSE_ATTEMPTS):
            try:
                self.ledger.record(record)
                return
            except redis.RedisError as exc:
                log.warning("free_row_failed attempt=%d: %s", attempt, exc)
                self._sleep(0.05 * 4**attempt)
        log.warning("free_row_lost row=%s", record.to_json())

    def _commit(self, close: _Close) -> None:
        with self.journal.closing(close.call.call_id) as pipe:
            if pipe is None:
                log.info("already_closed call_id=%s", close.call.call_id)
                return
            if close.record is not None:
                self.ledger.record(close.record, pipe)
            if close.call.reservation is not None and self.budgets is not None:
                self.budgets.settle(close.call.reservation, close.budget_micro_usd, pipe)

    def _best_effort_refund(self, reservation: Reservation) -> None:
        try:
            assert self.budgets is not None
            self.budgets.settle(reservation, 0)
        except redis.RedisError:
            log.warning("refund_failed amount_micro_usd=%d", reservation.amount_micro_usd)

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
            output_tokens = -(-call.output_chars // CHARS_PER_TOKEN)
            if not row.model or not output_tokens:
                # Died before its first token: nothing to bill, only the reservation to refund.
                self.close(call, None, None)
                continue
            route = Route(row.backend, row.model)
            usage = Usage(call.prompt_tokens, output_tokens, model=row.model, estimated=True)
            record = replace(
                row,
                at=self._clock(),
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_micro_usd=self.price(route, usage),
                estimated_usage=True,
            )
            naive = record.uncompacted_input_tokens or usage.input_tokens
            record = replace(
                record,
                uncompacted_input_tokens=naive,
                baseline_micro_usd=self.catalog.cost_micro_usd(
                    Usage(naive, output_tokens, model=self.strongest.model)
                ),
            )
            self.close(call, record, route)
            closed += 1
        return closed


def _json(record: LedgerRecord | None) -> str:
    return record.to_json() if record is not None else "-"


def _source(name: str) -> Source:
    """The ledger's name for where a request came from; anything else counts as the CLI."""
    return cast(Source, name) if name in get_args(Source) else "cli"


__all__ = ["NO_CALL_NAIVE_OUTPUT_TOKENS", "Accountant", "RowFacts"]
