"""The cost engine: everything between a request and a model, each lever a step.

    shape (compaction, thread trim) → route (router, overrides, channel floor, escalation)
    → caches (exact, then semantic; single-flight) → budget reservation (may downgrade)
    → prompt-cache points → backend stream (failover) → ledger row + settlement

A step whose lever is off is skipped: `LEVERS=none` is the naive way — the strongest tier, the
whole context, no cache, no prompt caching. Accounting is `gateway.accounting`'s: whatever ends
a call, one row and one settlement; a request answered without a model call (a cache hit, a
follower of an identical request in flight, a message that needed no model) is a zero-cost row
with what the naive way would have spent, so every saved dollar is traceable to its lever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from gateway.accounting import NO_CALL_NAIVE_OUTPUT_TOKENS, Accountant, RowFacts
from gateway.budgets import BUDGET_DOWNGRADE_REASON, Budgets, Reservation
from gateway.caching import AnswerCache
from gateway.calibration import TokenCalibration
from gateway.call_journal import CallJournal, OpenCall
from gateway.errors import LeaderLostError, StreamInterruptedError
from gateway.gateway import Gateway
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.prompt_cache import with_cache_points
from gateway.response_cache import CachedAnswer
from gateway.router import (
    TASK_DEFAULT_REASON,
    TIERS,
    Decision,
    RouteInput,
    avoid_unavailable,
    route,
    unavailable_tiers,
)
from gateway.shaping import Shaped, ShapePolicy, shape
from gateway.single_flight import Follower, Hit, Leader
from gateway.tokens import estimate_prompt_tokens, estimate_tokens, estimate_usage
from gateway.types import CallProgress, Completion, LLMRequest, Route, Usage

log = logging.getLogger(__name__)

TIER_ORDER = TIERS  # cheapest first
# How often a running call tells the journal it is alive (and how much it has streamed).
PROGRESS_INTERVAL_S = 1.0
# Followers whose leader failed look again this many times before calling on their own.
FOLLOW_ATTEMPTS = 2
# The tasks the router sizes: a person's question (Slack, the API). Other tasks are steps
# over documents, sized by their templates.
ROUTED_TASKS = frozenset({"ask", "thread", "dm", "api"})
# Where a request that needed no model "ran", in its ledger row.
NO_MODEL = Route("none", "none")


@dataclass(frozen=True)
class Metered:
    completion: Completion
    cost_micro_usd: int | None
    record: LedgerRecord
    # The budget that made the engine downgrade the tier, if one did.
    limited_by: str = ""
    decision: Decision | None = None
    # How a cache answered (`exact`, `semantic`, `flight`), when no model ran for this request.
    cache_kind: str = ""
    cached: CachedAnswer | None = None
    route_note: str = ""
    compacted: tuple[int, int] = field(default=(0, 0))  # prompt tokens before, after

    @property
    def saved_micro_usd(self) -> int:
        return (self.record.baseline_micro_usd or 0) - (self.record.cost_micro_usd or 0)


@dataclass(frozen=True)
class _Plan:
    request: LLMRequest
    decision: Decision
    shaped: Shaped
    explicit: Route | None  # the person's `--model`, when it names a configured route


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
        shape_policy: ShapePolicy | None = None,
        answers: AnswerCache | None = None,
        calibration: TokenCalibration | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gateway = gateway
        self.catalog = catalog
        self.levers = levers
        self.budgets = budgets
        self.shape_policy = shape_policy or ShapePolicy()
        self.answers = answers if "response_cache" in levers else None
        self.calibration = calibration
        self._clock = clock
        self.strongest = gateway.routes(TIER_ORDER[-1])[0]
        self.accounts = Accountant(
            catalog,
            ledger,
            journal,
            self.strongest,
            budgets=budgets,
            unpriced_call_micro_usd=unpriced_call_micro_usd,
            clock=clock,
            sleep=sleep,
        )

    @property
    def ledger(self) -> Ledger:
        return self.accounts.ledger

    @property
    def journal(self) -> CallJournal:
        return self.accounts.journal

    def flush_pending(self) -> int:
        return self.accounts.flush_pending()

    def close_abandoned(self) -> int:
        return self.accounts.close_abandoned()

    # -- the request's way through ----------------------------------------------------------

    def complete(
        self,
        request: LLMRequest,
        on_delta: Callable[[str], None],
        on_restart: Callable[[], None] | None = None,
    ) -> Metered:
        """Answer `request`, streaming its text to `on_delta`. `on_restart` is called when
        text already shown belongs to an answer that will not finish (a followed request
        whose leader died) and the answer starts over."""
        plan = self._plan(request)
        for _ in range(FOLLOW_ATTEMPTS + 1):
            outcome = self._lookup(plan)
            if isinstance(outcome, Hit):
                note = f"similarity {outcome.match.similarity:.2f}" if outcome.match else ""
                return self._served(plan, outcome.answer, outcome.source, on_delta, note)
            if isinstance(outcome, Follower):
                try:
                    for delta in outcome.deltas():
                        on_delta(delta)
                except LeaderLostError:
                    if on_restart is not None:
                        on_restart()
                    continue
                assert outcome.answer is not None
                return self._served(plan, outcome.answer, "flight", None)
            return self._call(plan, outcome, on_delta)
        return self._call(plan, None, on_delta)

    def record_no_call(self, request: LLMRequest, reason: str) -> LedgerRecord:
        """A message that needed no model (thanks, ok, an emoji, nothing at all): a zero-cost
        row with what the naive way — the strongest model answering it — would have spent."""
        return self.record_free(
            replace(request, tier=NO_MODEL.model),
            kind="no_call",
            reason=reason,
            output_tokens=NO_CALL_NAIVE_OUTPUT_TOKENS,
            route=NO_MODEL,
        )

    def record_free(
        self,
        request: LLMRequest,
        *,
        kind: str,
        reason: str,
        output_tokens: int,
        route: Route | None = None,
    ) -> LedgerRecord:
        """A request answered with no model call — `no_call`, or a cache of its own such as
        `summary` (an unchanged issue's summary): a zero-cost row with what the naive way,
        `request` sent to the strongest model for `output_tokens` of answer, would have spent."""
        facts = RowFacts(
            tier_reason=reason,
            naive_prompt_tokens=estimate_prompt_tokens(request),
            compacted_prompt_tokens=0,
            cache_kind="" if kind == "no_call" else kind,
        )
        row = self.accounts.free_row(
            request,
            facts,
            route or self.strongest,
            output_tokens,
            no_call=kind == "no_call",
        )
        self.accounts.record_free(row)
        return row

    # -- steps ------------------------------------------------------------------------------

    def _plan(self, request: LLMRequest) -> _Plan:
        if "compaction" in self.levers:
            shaped = shape(request, self.shape_policy)
        else:
            tokens = estimate_prompt_tokens(request)
            shaped = Shaped(request, tokens, tokens)
        request = shaped.request
        # A tier with no route the request may use is left for the nearest one that has one,
        # whoever chose it (the router does so itself within the channel's maximum).
        decision = avoid_unavailable(self._route(request), self._blocked_tiers(request))
        explicit = self._explicit_route(decision.model)
        return _Plan(replace(request, tier=decision.tier), decision, shaped, explicit)

    def _route(self, request: LLMRequest) -> Decision:
        if "right_sizing" not in self.levers:
            return Decision(TIER_ORDER[-1], "levers off: strongest tier")
        if request.task not in ROUTED_TASKS:
            # A document step (a window's map, a digest item) runs on the tier its template
            # names: its text is the document, not a question to be sized.
            return Decision(request.tier, TASK_DEFAULT_REASON)
        question = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
        first = request.messages[0].text if len(request.messages) > 1 else ""
        return route(
            RouteInput(
                task=request.task,
                question=question,
                task_tier=request.tier if request.tier in TIERS else TIERS[1],
                prior_turns=len(request.messages) - 1,
                thread_root=first,
                channel_min_tier=request.channel_min_tier or None,
                channel_max_tier=request.channel_max_tier or None,
                override_tier=request.override_tier or None,
                override_model=request.override_model or None,
                escalated_tier=request.escalated_tier or None,
                escalation_reason=request.escalation_reason or None,
                unavailable=self._blocked_tiers(request),
            )
        )

    def _blocked_tiers(self, request: LLMRequest) -> frozenset[str]:
        """Tiers with no route on a backend the request may use (`allowed_backends`)."""
        if not request.allowed_backends:
            return frozenset()
        barred = set(self.gateway.backends) - set(request.allowed_backends)
        return unavailable_tiers(self.gateway.tiers, barred) & frozenset(TIERS)

    def _primary(self, request: LLMRequest) -> Route:
        """The route a request runs on first: its tier's first one it may use."""
        routes = self.gateway.routes(request.tier)
        return (self.gateway.allowed(request, routes) or routes)[0]

    def _explicit_route(self, model: str | None) -> Route | None:
        if model is None:
            return None
        for routes in self.gateway.tiers.values():
            for candidate in routes:
                if candidate.model == model:
                    return candidate
        return Route(self.strongest.backend, model)

    def _lookup(self, plan: _Plan) -> Hit | Follower | Leader | None:
        if self.answers is None or plan.explicit is not None:
            return None
        return self.answers.lookup(plan.request, self._primary(plan.request))

    def _served(
        self,
        plan: _Plan,
        answer: CachedAnswer,
        kind: str,
        on_delta: Callable[[str], None] | None,
        note: str = "",
    ) -> Metered:
        if on_delta is not None:
            on_delta(answer.text)
        facts = RowFacts(
            tier_reason=plan.decision.reason,
            naive_prompt_tokens=plan.shaped.tokens_before,
            compacted_prompt_tokens=plan.shaped.tokens_after,
            cache_kind=kind,
            extra={"cache_note": note} if note else {},
        )
        output_tokens = answer.usage.output_tokens or estimate_tokens(answer.text)
        row = self.accounts.free_row(plan.request, facts, answer.route, output_tokens)
        self.accounts.record_free(row)
        completion = Completion(
            text=answer.text,
            usage=Usage(0, 0, model=answer.route.model, stop_reason="end_turn"),
            route=answer.route,
            ttft_ms=0.0,
            duration_ms=0.0,
        )
        return Metered(
            completion,
            0,
            row,
            decision=plan.decision,
            cache_kind=kind,
            cached=answer,
            compacted=(plan.shaped.tokens_before, plan.shaped.tokens_after),
        )

    def _call(self, plan: _Plan, leader: Leader | None, on_delta: Callable[[str], None]) -> Metered:
        request, reason = plan.request, plan.decision.reason
        note = _cache_note(leader)
        reservation, request, reason, limited_by = self._reserve(request, reason)
        if leader is not None and limited_by:
            leader.fail()  # a downgraded answer must not be served for the tier's key
            leader = None
        route = plan.explicit or self._primary(request)
        if "prompt_caching" in self.levers:
            request = with_cache_points(
                request,
                route.model,
                self._estimator(route.model),
                write_costs_more=self._write_costs_more(route.model),
                follows_up=request.task in ROUTED_TASKS,
            )
        else:
            request = replace(request, cache_system=False, cache_points=())
        facts = RowFacts(
            tier_reason=reason,
            naive_prompt_tokens=plan.shaped.tokens_before,
            compacted_prompt_tokens=plan.shaped.tokens_after,
            extra={"cache_note": note} if note else {},
        )
        call = self.accounts.open(request, self.accounts.row(request, facts), reservation)
        progress = CallProgress()
        forward = self._reporting(call.call_id, on_delta, progress, leader)
        routes = (plan.explicit,) if plan.explicit else None
        try:
            completion = self.gateway.complete(request, forward, progress, routes=routes)
        except StreamInterruptedError as exc:
            self._close_cut(call, request, exc.route, exc.usage)
            _fail(leader)
            raise
        except BaseException:
            if progress.route is not None and progress.parts:
                usage = estimate_usage(request, progress.text, progress.route.model)
                self._close_cut(call, request, progress.route, usage)
            else:
                self.accounts.close(call, None, None)
            _fail(leader)
            raise
        note = ", ".join(f"{f.route}: {f.reason}" for f in completion.failovers)
        record = self.accounts.finished(
            call.row,
            request,
            completion.route,
            completion.usage,
            completion.text,
            ttft_ms=round(completion.ttft_ms),
            total_ms=round(completion.duration_ms),
            failovers=len(completion.failovers),
            route_note=note,
        )
        self.accounts.close(call, record, completion.route)
        self._learn(request, completion)
        if leader is not None:
            _finish(leader, completion, record.cost_micro_usd)
        return Metered(
            completion,
            record.cost_micro_usd,
            record,
            limited_by,
            decision=plan.decision,
            route_note=note,
            compacted=(plan.shaped.tokens_before, plan.shaped.tokens_after),
        )

    def _close_cut(self, call: OpenCall, request: LLMRequest, route: Route, usage: Usage) -> None:
        record = self.accounts.finished(call.row, request, route, usage)
        self.accounts.close(call, record, route)

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
            tier: max(self.accounts.budget_cost(r, usage) for r in routes)
            for tier, routes in self.gateway.tiers.items()
            if routes
        }

    def _reporting(
        self,
        call_id: str,
        on_delta: Callable[[str], None],
        progress: CallProgress,
        leader: Leader | None,
    ) -> Callable[[str], None]:
        """`on_delta`, then the followers, then a journal update: at the first token (which
        route answers), then at most every PROGRESS_INTERVAL_S. The person's text goes first."""
        streamed = 0
        reported_at: float | None = None

        def forward(delta: str) -> None:
            nonlocal streamed, reported_at
            streamed += len(delta)
            on_delta(delta)
            if leader is not None:
                leader.publish(delta)
            now = self._clock()
            if reported_at is not None and now - reported_at < PROGRESS_INTERVAL_S:
                return
            first = reported_at is None
            reported_at = now
            self.accounts.progress(call_id, streamed, progress.route if first else None)

        return forward

    def _write_costs_more(self, model: str) -> bool:
        price = self.catalog.price(model)
        if price is None or price.cache_write_micro_usd_per_token is None:
            return False
        return price.cache_write_micro_usd_per_token > price.input_micro_usd_per_token

    def _estimator(self, model: str) -> Callable[[str], int]:
        if self.calibration is None:
            return estimate_tokens
        calibration = self.calibration
        return lambda text: calibration.estimate(model, text)

    def _learn(self, request: LLMRequest, completion: Completion) -> None:
        if self.calibration is not None and not completion.usage.estimated:
            self.calibration.observe(
                completion.usage.model or completion.route.model,
                estimate_prompt_tokens(request),
                completion.usage.total_input_tokens,
            )


def _cache_note(leader: Leader | None) -> str:
    """Why the caches had no answer for a call they were asked about: the semantic cache's
    reason when it looked (its guards' refusals are counted from these), else what kept the
    cache from being read (`fresh`, `present:now`)."""
    if leader is None:
        return ""
    if leader.semantic_match is not None:
        return leader.semantic_match.reason
    return "" if leader.freshness.read else leader.freshness.reason


def _fail(leader: Leader | None) -> None:
    if leader is not None:
        leader.fail()


def _finish(leader: Leader, completion: Completion, cost_micro_usd: int | None) -> None:
    with leader:
        leader.finish(completion, cost_micro_usd=cost_micro_usd)


__all__ = ["NO_MODEL", "TIER_ORDER", "CostEngine", "Metered"]
