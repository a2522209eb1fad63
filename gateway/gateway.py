"""`Gateway.complete`: run a request on its tier's routes, streaming deltas to the caller.

Before the first token, a `FallbackError` (throttling, 5xx, refused connection, a route whose
set-up is wrong) moves the request to the tier's next route, and the result records it. After
the first token a failure is reported as `StreamInterruptedError` — never silently restarted on
another model, which would show the person two different answers glued together. When every
route failed only because of its set-up, retrying cannot help: `ModelsMisconfiguredError`.

A request's `allowed_backends`, when set, is a hard limit: a route on any other backend is never
tried, not even as a fallback, and when none of the allowed routes can answer the request is
refused (`BackendNotAllowedError`) rather than retried.

An optional `availability(route)` names a reason to skip a route before trying it (`ec2
starting`, `ec2 stopped`: `gateway.ec2_fleet.Ec2Fleet.availability`); the skip is a failover
before the first token, recorded in `Completion.failovers` with that reason.

A caller that must account for a call however it ends passes a `CallProgress`: the gateway keeps
the route it is on and the text produced so far there, and closes the backend's stream on any
exception (the caller's own callback included), so no connection is left streaming.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing

from gateway.errors import (
    AllRoutesFailedError,
    BackendNotAllowedError,
    ChatOpsError,
    ConfigError,
    FallbackError,
    ModelsMisconfiguredError,
    RouteMisconfiguredError,
    StreamInterruptedError,
)
from gateway.stream import consume
from gateway.tokens import estimate_usage
from gateway.types import Backend, CallProgress, Completion, Failover, LLMRequest, Route

log = logging.getLogger(__name__)


def _ignore(_: str) -> None:
    return None


class Gateway:
    def __init__(
        self,
        backends: Mapping[str, Backend],
        tiers: Mapping[str, Sequence[Route]],
        clock: Callable[[], float] = time.perf_counter,
        availability: Callable[[Route], str | None] | None = None,
    ) -> None:
        self.backends = dict(backends)
        self._availability = availability
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
        self,
        request: LLMRequest,
        on_delta: Callable[[str], None] = _ignore,
        progress: CallProgress | None = None,
        routes: Sequence[Route] | None = None,
    ) -> Completion:
        """`routes`, when given, replaces the tier's (a person's `--model`)."""
        progress = progress if progress is not None else CallProgress()
        failovers: list[Failover] = []
        for route in self.allowed(request, routes or self.routes(request.tier)):
            skip = self._availability(route) if self._availability is not None else None
            if skip is not None:
                log.info(
                    "route_skipped request_id=%s route=%s reason=%s",
                    request.request_id,
                    route,
                    skip,
                )
                failovers.append(Failover(route, skip))
                continue
            try:
                return self._run(route, request, on_delta, tuple(failovers), progress)
            except FallbackError as exc:
                log.warning(
                    "route_failed request_id=%s route=%s reason=%s",
                    request.request_id,
                    route,
                    exc,
                )
                failovers.append(Failover(route, type(exc).__name__))
        progress.route = None
        detail = f"all routes of tier {request.tier} failed"
        if request.allowed_backends:
            raise BackendNotAllowedError(
                f"{detail} (allowed: {', '.join(request.allowed_backends)})",
                failovers=tuple(failovers),
            )
        if failovers and all(f.reason == RouteMisconfiguredError.__name__ for f in failovers):
            raise ModelsMisconfiguredError(detail, failovers=tuple(failovers))
        raise AllRoutesFailedError(detail, failovers=tuple(failovers))

    def allowed(self, request: LLMRequest, routes: Sequence[Route]) -> tuple[Route, ...]:
        """`routes` without those on a backend the request may not use."""
        if not request.allowed_backends:
            return tuple(routes)
        return tuple(r for r in routes if r.backend in request.allowed_backends)

    def _run(
        self,
        route: Route,
        request: LLMRequest,
        on_delta: Callable[[str], None],
        failovers: tuple[Failover, ...],
        progress: CallProgress,
    ) -> Completion:
        started = self._clock()
        first_at: float | None = None
        parts: list[str] = []
        progress.route, progress.parts = route, parts

        def forward(delta: str) -> None:
            nonlocal first_at
            if first_at is None:
                first_at = self._clock()
            parts.append(delta)
            on_delta(delta)

        backend = self.backends[route.backend]
        try:
            with closing(backend.stream(request, route.model)) as stream:  # type: ignore[type-var]
                text, usage = consume(stream, forward)
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
