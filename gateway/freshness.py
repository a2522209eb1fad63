"""How long an answer may be reused: a TTL per task, minutes at most for questions about
the present, nothing when the person asks for a fresh answer.

"Who is on call now?", "is the VPN down?", "what's the current version?" — an answer from
yesterday is wrong today. Such questions are recognised by their words and kept for
`present_ttl_s` only (0: never cached). Reading checks the answer's age against the same
limit, so an entry written under a longer TTL (before a settings change) is not served either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Words that tie a question to the moment it is asked.
_PRESENT = re.compile(
    r"\b(?:right now|now|currently|current|at the moment|today|tonight|this morning|"
    r"this afternoon|latest|newest|most recent|status of|ongoing|so far|yet|yesterday|"
    r"last night|this week)\b"
    # "is X down?", "are the runners up?", "is grafana slow right now?"
    r"|\b(?:is|are)\s+(?:[\w.@/:-]+\s+){1,4}(?:down|up|broken|working|healthy|degraded|"
    r"failing|slow|flapping|paging)\b\W*$"
    r"|\bwho(?:'s| is| are)\b[\w .-]{0,40}\bon[- ]?call\b"
    # A window that ends now: "in the last 24 hours", "past 7 days".
    r"|\b(?:last|past)\s+(?:\d+\s*)?(?:minutes?|mins?|hours?|hrs?|h|days?|d|weeks?)\b",
    re.IGNORECASE,
)


def about_the_present(question: str) -> str:
    """The words that make `question` about the present, or "" when none do."""
    match = _PRESENT.search(question)
    return " ".join(match.group(0).lower().split()) if match else ""


@dataclass(frozen=True)
class Freshness:
    """What the cache may do for one request."""

    read: bool  # may a stored answer be served
    ttl_s: int  # how long to keep this request's answer; 0: do not store it
    max_age_s: int  # the oldest answer `read` may serve
    reason: str  # task, present:<words>, fresh, off

    @property
    def write(self) -> bool:
        return self.ttl_s > 0


@dataclass(frozen=True)
class FreshnessPolicy:
    ttl_s_by_task: Mapping[str, int]
    default_ttl_s: int
    present_ttl_s: int

    @classmethod
    def from_settings(cls, settings: Any) -> FreshnessPolicy:
        return cls(
            ttl_s_by_task={
                "ask": settings.cache_ttl_ask_s,
                "thread": settings.cache_ttl_thread_s,
                "dm": settings.cache_ttl_dm_s,
                "api": settings.cache_ttl_api_s,
            },
            default_ttl_s=0,
            present_ttl_s=settings.cache_ttl_present_s,
        )

    def decide(self, task: str, question: str, *, fresh: bool = False) -> Freshness:
        """`fresh`: the person asked for a new answer (`--fresh`, the *Answer fresh* button):
        nothing is read, and the new answer replaces the old one."""
        ttl_s = self.ttl_s_by_task.get(task, self.default_ttl_s)
        reason = "task"
        present = about_the_present(question)
        if present:
            ttl_s, reason = min(ttl_s, self.present_ttl_s), f"present:{present}"
        if ttl_s <= 0:
            return Freshness(read=False, ttl_s=0, max_age_s=0, reason=reason if present else "off")
        if fresh:
            return Freshness(read=False, ttl_s=ttl_s, max_age_s=0, reason="fresh")
        return Freshness(read=True, ttl_s=ttl_s, max_age_s=ttl_s, reason=reason)


__all__ = ["Freshness", "FreshnessPolicy", "about_the_present"]
