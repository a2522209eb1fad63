"""Builds the clients the processes need from `Settings`: the one place that does."""

from __future__ import annotations

from chatops.settings import Settings
from gateway import Gateway, Route
from gateway.backends import BACKENDS


def build_gateway(settings: Settings, only_backend: str | None = None) -> Gateway:
    """A gateway with only the backends the tiers use (building boto3 costs ~200 ms).

    `only_backend` keeps just that backend's routes in every tier (the CLI's `--backend`).
    """
    tiers: dict[str, tuple[Route, ...]] = {
        name: tuple(r for r in routes if only_backend in (None, r.backend))
        for name, routes in settings.tiers.items()
    }
    used = {route.backend for routes in tiers.values() for route in routes}
    backends = {name: BACKENDS[name].from_settings(settings) for name in sorted(used)}
    return Gateway(backends, tiers)


__all__ = ["build_gateway"]
