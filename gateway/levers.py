"""The cost levers that exist, and which of them are switched on.

`LEVERS=none` runs the naive way — every message answered by the strongest tier, the whole
context uncompacted, no cache, no prompt caching, one call per request and per document — which
is how a replay measures the baseline instead of only computing it. A lever is listed here
only once it is real; savings by lever (`gateway.savings`) reports the same names.
"""

from __future__ import annotations

LEVER_NAMES = (
    "no_call",
    "response_cache",
    "windowing",
    "compaction",
    "batching",
    "right_sizing",
    "prompt_caching",
)


def parse_levers(spec: str) -> frozenset[str]:
    """`all`, `none`, or a comma-separated list of lever names."""
    text = spec.strip().lower()
    if text == "all":
        return frozenset(LEVER_NAMES)
    if text in ("none", ""):
        return frozenset()
    names = frozenset(part.strip() for part in text.split(","))
    unknown = sorted(names - set(LEVER_NAMES))
    if unknown:
        raise ValueError(
            f"unknown lever(s) {', '.join(unknown)}; expected all, none or some of "
            f"{', '.join(LEVER_NAMES)}"
        )
    return names


__all__ = ["LEVER_NAMES", "parse_levers"]
