"""Where to put Bedrock's `cachePoint`: only after a stable prefix that reaches the model's
minimum cacheable size, and only when it is likely to be read again within the cache's
five-minute lifetime.

A cache write costs 25% more than plain input (Claude) and pays back only when read: one use
per lifetime loses money, two save ~32%. So a prefix is marked when a reuse is likely —
the earlier turns of a thread being continued (a follow-up reads what the first answer wrote),
and a long pasted text asked about for the first time (follow-ups on pasted logs are the rule,
and they start with the same bytes). Below the minimum Bedrock silently ignores the mark; we
do not send it at all.

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


def with_cache_points(request: LLMRequest, model_id: str, estimate: Estimate) -> LLMRequest:
    """`request` with `cache_system` / `cache_points` set where a cache point pays.

    `estimate` counts a text's tokens as `model_id` will (calibrated). Candidates: the system
    text alone; after the first message when it is a long paste (every later turn of its
    thread repeats it first); and, in a thread, after the last message before the new one (the
    conversation so far). Marking both lets a follow-up read what the first answer wrote and
    write a longer prefix for the next one."""
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
    if sizes[0] * 2 >= minimum:
        candidates.add(1)
    if len(messages) > 1:
        candidates.add(len(messages) - 1)
    points = tuple(
        point
        for point in sorted(candidates)
        if system_tokens + sum(sizes[:point]) >= minimum
    )
    return replace(plain, cache_points=points)


__all__ = ["MIN_CACHE_PREFIX_TOKENS", "min_cache_prefix", "with_cache_points"]
