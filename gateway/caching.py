"""The response caches as a step of the engine: a request's cache key, what freshness allows,
and the single-flight lookup (`gateway.single_flight`) — exact first, then semantic.

Only what may be shared is looked up: a request with no privacy scope, a task that is not
cached (summaries have their own cache) or a person's `--fresh` reads nothing, and `--fresh`
stores the new answer for the next person.
"""

from __future__ import annotations

from gateway.freshness import FreshnessPolicy
from gateway.response_cache import CacheKey, Scope
from gateway.single_flight import Follower, Hit, Leader, SingleFlight
from gateway.types import LLMRequest, Route


class AnswerCache:
    def __init__(
        self, flight: SingleFlight, freshness: FreshnessPolicy, *, bot_user_id: str = ""
    ) -> None:
        self.flight = flight
        self.freshness = freshness
        self.bot_user_id = bot_user_id

    def lookup(self, request: LLMRequest, primary: Route) -> Hit | Follower | Leader | None:
        """None when nothing may be read or kept for this request."""
        if not request.scope:
            return None
        question = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
        freshness = self.freshness.decide(request.task, question, fresh=request.fresh)
        if not freshness.read and not freshness.write:
            return None
        key = CacheKey.for_request(
            request, route=primary, scope=Scope(request.scope), bot_user_id=self.bot_user_id
        )
        return self.flight.lookup(key, freshness)


__all__ = ["AnswerCache"]
