"""`Gateway.complete`: run a request on its tier's routes, streaming deltas to the caller.

Before the first token, a `FallbackError` (throttling, 5xx, refused connection) moves the
request to the tier's next route, and the result records it. After the first token a failure
is reported as `StreamInterruptedError` — never silently restarted on another model, which would
show the person two different answers glued together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from gateway.errors import (
    AllRoutesFailedError,
    ChatOpsError,
    ConfigError,
    FallbackError,
    StreamInterruptedError,
)
from gateway.stream import consume
from gateway.tokens import estimate_usage
from gateway.types import Backend, Completion, Failover, LLMRequest, Route

log = logging.getLogger(__name__)


def _ignore(_: str) -> None:
    return None


class Gateway:
    def __init__(
        self,
        backends: Mapping[str, Backend],
        tiers: Mapping[str, Sequence[Route]],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.backends = dict(backends)
        self.tiers = {name: tuple(routes) for name, routes in tiers.items()}
        self._clock = clock
        for name, routes in self.tiers.items():
            for route in routes:
                if route.backend not in self.backends:
                    raise ConfigError(
                        f"TIER_{name.upper()}: backend {route.backend!r} is not set up"
                    )

    def close(self) -> None:
        """Close every backend's connection pool."""
        for backend in self.backends.values():
            backend.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def routes(self, tier: str) -> tuple[Route, ...]:
        try:
            return self.tiers[tier]
        except KeyError:
            raise ConfigError(f"unknown tier {tier!r}") from None

    def complete(
        self, request: LLMRequest, on_delta: Callable[[str], None] = _ignore
    ) -> Completion:
        failovers: list[Failover] = []
        for route in self.routes(request.tier):
            try:
                return self._run(route, request, on_delta, tuple(failovers))
            except FallbackError as exc:
                log.warning(
                    "route_failed request_id=%s route=%s reason=%s",
                    request.request_id,
                    route,
                    exc,
                )
                failovers.append(Failover(route, type(exc).__name__))
        raise AllRoutesFailedError(
            f"all routes of tier {request.tier} failed", failovers=tuple(failovers)
        )

    def _run(
        self,
        route: Route,
        request: LLMRequest,
        on_delta: Callable[[str], None],
        failovers: tuple[Failover, ...],
    ) -> Completion:
        started = self._clock()
        first_at: float | None = None
        parts: list[str] = []

        def forward(delta: str) -> None:
            nonlocal first_at
            if first_at is None:
                first_at = self._clock()
            parts.append(delta)
            on_delta(delta)

        backend = self.backends[route.backend]
        try:
            text, usage = consume(backend.stream(request, route.model), forward)
        except ChatOpsError as exc:
            if not parts:
                raise
            partial = "".join(parts)
            raise StreamInterruptedError(
                f"{route} failed after the first token: {exc}",
                partial_text=partial,
                usage=estimate_usage(request, partial, route.model),
                route=route,
            ) from exc
        ended = self._clock()
        return Completion(
            text=text,
            usage=usage,
            route=route,
            ttft_ms=((first_at or ended) - started) * 1000,
            duration_ms=(ended - started) * 1000,
            failovers=failovers,
        )


__all__ = ["Gateway"]
