"""Where to put Bedrock's `cachePoint`: only after a stable prefix that reaches the model's
minimum cacheable size, and only when it is likely to be read again within the cache's
five-minute lifetime.

A cache write costs 25% more than plain input on Claude and pays back only when read: one use
per lifetime loses money, two save ~32%. So a prefix is marked where a reuse is likely: the
earlier turns of a thread being continued (the next follow-up, usually on the same tier,
reads what this one wrote). On models that write at the plain input rate (Nova), marking costs
nothing, so a long first message is marked too. Below the minimum Bedrock silently ignores
the mark; we do not send it at all.

The prefix must be byte-identical between calls: the compaction before this step is a pure
function of the text, and the thread's turns are stored as the model saw them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from gateway.types import LLMRequest

# Minimum cacheable prefix per model family, in tokens (FACTS.md, "Prompt caching"); a model
# not listed here is not cached (Llama, Mistral on Bedrock; any EC2 model caches by itself).
MIN_CACHE_PREFIX_TOKENS = {
    "claude-haiku-4-5": 4096,
    "claude-sonnet-4-5": 1024,
    "claude-sonnet-4": 1024,
    "claude-3-5-haiku": 2048,
    "nova-micro": 1536,
    "nova-lite": 1536,
    "nova-pro": 1024,
}

Estimate = Callable[[str], int]


def min_cache_prefix(model_id: str) -> int | None:
    """The model's minimum cacheable prefix, or None when it does not cache."""
    for family, minimum in MIN_CACHE_PREFIX_TOKENS.items():
        if family in model_id:
            return minimum
    return None


def with_cache_points(
    request: LLMRequest,
    model_id: str,
    estimate: Estimate,
    *,
    write_costs_more: bool,
    follows_up: bool,
) -> LLMRequest:
    """`request` with `cache_system` / `cache_points` set where a cache point pays.

    `estimate` counts a text's tokens as `model_id` will (calibrated). `write_costs_more`:
    the model bills a cache write above plain input (Claude, +25%; Nova writes at the input
    rate, so marking there costs nothing and any read saves). `follows_up`: the request can
    be continued (a conversation, not a document step).

    Candidates: the system text alone; in a thread, the conversation so far (written for the
    next follow-up) and where the previous follow-up's mark was (two messages back: read what
    it wrote); where a write is free, a long first message. A first question is not marked
    where a write costs more: its follow-ups are often routed to another model, whose cache it
    would not fill."""
    plain = replace(request, cache_system=False, cache_points=())
    minimum = min_cache_prefix(model_id)
    if minimum is None or not request.messages:
        return plain
    system_tokens = estimate(request.system) if request.system else 0
    if system_tokens >= minimum:
        plain = replace(plain, cache_system=True)
    messages = request.messages
    sizes = [estimate(m.text) for m in messages]
    candidates = set()
    if not write_costs_more and sizes[0] * 2 >= minimum:
        candidates.add(1)
    if follows_up and len(messages) > 1:
        candidates.add(len(messages) - 1)
        if len(messages) > 3:
            candidates.add(len(messages) - 3)
    points = tuple(
        point for point in sorted(candidates) if system_tokens + sum(sizes[:point]) >= minimum
    )
    return replace(plain, cache_points=points)


__all__ = ["MIN_CACHE_PREFIX_TOKENS", "min_cache_prefix", "with_cache_points"]
