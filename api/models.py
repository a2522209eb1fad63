"""The names a client may put in `model`, and what each asks of the cost engine.

`chatops-auto` lets the router choose (no override: the request starts at the default tier);
`chatops-small|medium|large` asks for that tier (`override_tier`); a configured model id asks
for that model (`override_model`), in the tier it is primary of — or, fallback only, the first
tier that lists it — as `/ask --model` does (`gateway.options`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.errors import ApiError
from chatops import messages
from chatops.settings import TIER_NAMES, Settings
from gateway.types import Route

NAME_PREFIX = "chatops-"
AUTO = f"{NAME_PREFIX}auto"
OWNER = "chatops"


@dataclass(frozen=True)
class ModelChoice:
    """What a `model` name asks for: the tier the request starts from, and the overrides."""

    name: str
    tier: str
    override_tier: str = ""
    override_model: str = ""


class ModelCatalog:
    def __init__(self, tiers: Mapping[str, Sequence[Route]], default_tier: str) -> None:
        choices = {AUTO: ModelChoice(AUTO, default_tier)}
        choices |= {
            f"{NAME_PREFIX}{tier}": ModelChoice(f"{NAME_PREFIX}{tier}", tier, override_tier=tier)
            for tier in TIER_NAMES
            if tiers.get(tier)
        }
        primaries = [(tier, routes[0]) for tier, routes in tiers.items() if routes]
        listed = [(tier, route) for tier, routes in tiers.items() for route in routes]
        for tier, route in (*primaries, *listed):
            choices.setdefault(
                route.model,
                ModelChoice(route.model, tier, override_tier=tier, override_model=route.model),
            )
        self._choices = choices
        self._folded = {name.casefold(): choice for name, choice in choices.items()}

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelCatalog:
        return cls(settings.tiers, settings.default_tier)

    @property
    def names(self) -> tuple[str, ...]:
        """The tier names first (auto, then cheapest to strongest), then the model ids."""
        return tuple(self._choices)

    def resolve(self, name: str) -> ModelChoice:
        """The choice `name` makes (letter case aside); a 404 naming the valid ones if none."""
        choice = self._choices.get(name) or self._folded.get(name.casefold())
        if choice is None:
            raise ApiError(
                messages.API_UNKNOWN_MODEL.format(model=name, models=", ".join(self.names)),
                status=404,
                code="model_not_found",
                param="model",
            )
        return choice

    def listing(self, created: int) -> dict[str, object]:
        """The body of `GET /v1/models`."""
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": created, "owned_by": OWNER}
                for name in self.names
            ],
        }


__all__ = ["AUTO", "NAME_PREFIX", "ModelCatalog", "ModelChoice"]
