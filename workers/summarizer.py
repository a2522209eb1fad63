"""A long document — a Jira issue, a Slack thread — summarized through the cost engine.

With the `windowing` lever (`gateway.windowing`): windows mapped concurrently on the map
template's tier, partial summaries reduced in time order, the final reduce streamed to the
caller; each map and reduce result cached by content hash, and the final summary too, so a
document that has not changed is summarized without any model call, and one that grew maps
only its new windows. Without it — the naive way, `LEVERS=none` — the whole document goes to
the model in one call.

Every call goes through `CostEngine.complete` and lands in the ledger, tagged with the
windows it belongs to (`LLMRequest.windows`) and what the naive call would have sent
(`naive_input_tokens`: 0 for a map or an intermediate reduce, the whole document's prompt for
the final call), so the windowing saving is the ledger's to compute.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from chatops import messages
from gateway.engine import CostEngine, Metered
from gateway.pricing import EC2_BACKEND
from gateway.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.types import LLMRequest, Message
from gateway.windowing import (
    Section,
    WindowCache,
    WindowedSummary,
    WindowPlan,
    summarize_windows,
)
from prompts import PromptTemplate

# The smallest context among the models a tier may run (an 8B model served with
# --max-model-len 8192 on the EC2 instance): a window and its prompt must fit it.
MIN_CONTEXT_TOKENS = 8_192
# The window cache's entry for a whole document's final summary.
FINAL_STEP = "final"
# Room a reduce's prompt needs besides its notes: the header and each part's tags.
REDUCE_ROOM_TOKENS = 200


@dataclass(frozen=True)
class Caller:
    """Who the calls are for: the ledger's who and where."""

    request_id: str
    source: str
    user: str = ""
    channel: str = ""
    workspace: str = ""
    scope: str = ""
    # The backends the channel's policy allows ("EC2 only"); empty: any.
    allowed_backends: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    text: str
    # Every model call made, in the order they finished; none when it came from the cache.
    calls: tuple[Metered, ...] = ()
    windowed: WindowedSummary | None = None
    from_cache: bool = False

    def footer(self) -> str:
        """The reply's footer: every call's tokens and cost together, and the windows."""
        if not self.calls:
            return messages.SUMMARY_NO_CALL_FOOTER
        last = self.calls[-1].record
        costs = [m.record.cost_micro_usd for m in self.calls]
        if any(m.record.backend == EC2_BACKEND for m in self.calls):
            cost = messages.COST_SELF_HOSTED
        elif any(c is None for c in costs):
            cost = messages.COST_UNPRICED
        else:
            cost = messages.usd(sum(c for c in costs if c is not None))
        text = messages.FOOTER.format(
            model=last.model,
            input_tokens=sum(m.completion.usage.total_input_tokens for m in self.calls),
            output_tokens=sum(m.completion.usage.output_tokens for m in self.calls),
            cost=cost,
        )
        w = self.windowed
        if w is None or w.single_window:
            return text
        note = messages.SUMMARY_FOOTER_WINDOWS.format(
            windows=w.windows, mapped=w.mapped, cached=w.cached
        )
        return f"{text[:-1]} · {note}_"


@dataclass
class _Calls:
    made: list[Metered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, metered: Metered) -> None:
        with self.lock:
            self.made.append(metered)


class Summarizer:
    def __init__(
        self,
        engine: CostEngine,
        prompts: Mapping[str, PromptTemplate],
        plan: WindowPlan,
        cache: WindowCache | None,
        *,
        windowing: bool,
    ) -> None:
        self.engine = engine
        self.prompts = prompts
        self.plan = plan
        self.cache = cache
        self.windowing = windowing

    def cached(self, header: str, sections: Sequence[Section]) -> str | None:
        """The final summary of exactly this document, if one was made (windowing only)."""
        if not self.windowing or self.cache is None:
            return None
        return self.cache.get_many(FINAL_STEP, [_document_key(header, sections)])[0]

    def naive(self, header: str, sections: Sequence[Section], caller: Caller) -> LLMRequest:
        """The whole document in one call: the naive way, and the one-window path."""
        return self.request("summarize", caller, document=_join(sections), header=header)

    def record_unchanged(self, naive: LLMRequest, summary: str) -> None:
        """An unchanged document's summary, shown again: no call, and a zero-cost ledger row
        with what summarizing it the naive way would have cost."""
        self.engine.record_free(
            naive,
            kind="summary",
            reason="unchanged since the last summary",
            output_tokens=estimate_tokens(summary),
        )

    def summarize(
        self,
        header: str,
        sections: Sequence[Section],
        caller: Caller,
        on_delta: Callable[[str], None],
    ) -> Summary:
        """The document's summary, its final call streamed to `on_delta`."""
        known = self.cached(header, sections)
        naive = self.naive(header, sections, caller)
        if known is not None:
            self.record_unchanged(naive, known)
            on_delta(known)
            return Summary(known, from_cache=True)
        if not self.windowing:
            metered = self.engine.complete(naive, on_delta)
            return Summary(metered.completion.text, (metered,))
        calls = _Calls()
        windowed = summarize_windows(
            sections,
            self.plan,
            map_fn=lambda window: self._map(window, caller, calls),
            reduce_fn=lambda parts: self._merge(parts, header, caller, calls),
            cache=self.cache,
        )
        final = self._final(windowed, naive, header, caller)
        metered = self.engine.complete(final, on_delta)
        calls.add(metered)
        text = metered.completion.text
        if self.cache is not None:
            self.cache.put(FINAL_STEP, _document_key(header, sections), text)
        return Summary(text, tuple(calls.made), windowed)

    def _final(
        self, windowed: WindowedSummary, naive: LLMRequest, header: str, caller: Caller
    ) -> LLMRequest:
        if windowed.single_window:
            return naive  # one window is the whole document: the naive call, right-sized
        return self.request(
            "summarize_reduce",
            caller,
            windows=windowed.windows,
            naive_input_tokens=estimate_prompt_tokens(naive),
            parts=list(windowed.reduce_parts),
            header=header,
            final=True,
        )

    def _map(self, window: str, caller: Caller, calls: _Calls) -> str:
        request = self.request(
            "summarize_map", caller, windows=1, naive_input_tokens=0, window=window
        )
        metered = self.engine.complete(request, _ignore)
        calls.add(metered)
        return metered.completion.text

    def _merge(self, parts: Sequence[str], header: str, caller: Caller, calls: _Calls) -> str:
        request = self.request(
            "summarize_reduce",
            caller,
            windows=1,
            naive_input_tokens=0,
            parts=list(parts),
            header=header,
            final=False,
        )
        metered = self.engine.complete(request, _ignore)
        calls.add(metered)
        return metered.completion.text

    def request(
        self,
        task: str,
        caller: Caller,
        *,
        windows: int = 0,
        naive_input_tokens: int | None = None,
        **values: object,
    ) -> LLMRequest:
        """A request for `task`'s template filled with `values`, for `caller`."""
        prompt = self.prompts[task]
        return LLMRequest(
            task=task,
            system=prompt.system(),
            messages=(Message("user", prompt.user(**values)),),
            tier=prompt.tier,
            max_output_tokens=prompt.max_output_tokens,
            cache_system=True,
            request_id=caller.request_id,
            user=caller.user,
            channel=caller.channel,
            workspace=caller.workspace,
            source=caller.source,
            scope=caller.scope,
            allowed_backends=caller.allowed_backends,
            windows=windows,
            naive_input_tokens=naive_input_tokens,
        )


def plan_for(
    prompts: Mapping[str, PromptTemplate],
    *,
    window_tokens: int,
    overlap: float,
    concurrency: int,
    fan_in: int,
    max_input_tokens: int | None = None,
) -> WindowPlan:
    """Windows as large as WINDOW_TOKENS allows, and small enough that a map call — its
    instruction, the window and its answer — fits the smallest model a tier may run, and
    that the engine sends a window whole: its compaction cuts a message longer than
    `max_input_tokens` (keeping head, tail and error lines), which would drop entries — a
    reversal among them — from the middle of a window."""
    mapper = prompts["summarize_map"]
    reserved = estimate_prompt_tokens(
        LLMRequest("summarize_map", (Message("user", mapper.user(window="")),), mapper.system())
    )
    if max_input_tokens is not None:
        window_tokens = min(window_tokens, max_input_tokens - REDUCE_ROOM_TOKENS)
    return WindowPlan.for_model(
        MIN_CONTEXT_TOKENS,
        max_window_tokens=window_tokens,
        overlap=overlap,
        reserved_tokens=reserved + mapper.max_output_tokens,
        concurrency=concurrency,
        fan_in=fan_in,
    )


def _join(sections: Sequence[Section]) -> str:
    return "\n\n".join(section.text for section in sections)


def _document_key(header: str, sections: Sequence[Section]) -> str:
    digest = hashlib.sha256(header.encode())
    for section in sections:
        digest.update(b"\0" + section.text.encode())
    return digest.hexdigest()


def _ignore(_: str) -> None:
    pass


__all__ = ["FINAL_STEP", "MIN_CONTEXT_TOKENS", "Caller", "Summarizer", "Summary", "plan_for"]
