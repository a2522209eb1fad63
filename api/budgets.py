"""Daily caps for API requests, on the engine's own budgets (`gateway.budgets`).

The engine reserves against three scopes; for an API request they are the token (the user
scope: its id), nothing (the channel scope, never capped) and the team (the workspace scope).
A token's cap is its own `--daily-budget-usd`, else API_TOKEN_DAILY_MICRO_USD; a team's is
API_TEAM_DAILY_MICRO_USD. Tokens are remembered here as they authenticate, so a reservation
costs no extra Redis round trip.
"""

from __future__ import annotations

import threading

from api.tokens import ApiToken
from chatops import messages
from chatops.settings import Settings
from gateway.budgets import BudgetCaps
from gateway.errors import BudgetExceededError


class ApiCaps:
    """A `gateway.budgets.CapsLookup` for API requests."""

    def __init__(self, default_token_micro_usd: int, team_micro_usd: int) -> None:
        self.default_token_micro_usd = default_token_micro_usd
        self.team_micro_usd = team_micro_usd
        self._token_caps: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiCaps:
        return cls(settings.api_token_daily_micro_usd, settings.api_team_daily_micro_usd)

    def token_cap(self, token: ApiToken) -> int:
        own = token.daily_budget_micro_usd
        return self.default_token_micro_usd if own is None else own

    def remember(self, token: ApiToken) -> None:
        with self._lock:
            self._token_caps[token.token_id] = self.token_cap(token)

    def __call__(self, user: str, channel: str, workspace: str) -> BudgetCaps:
        with self._lock:
            token_cap = self._token_caps.get(user, self.default_token_micro_usd)
        return BudgetCaps(user_micro_usd=token_cap, workspace_micro_usd=self.team_micro_usd)

    def explain(self, exc: BudgetExceededError, token: ApiToken) -> str:
        """The refusal in the API's words: the token's or the team's budget, its cap, what is
        left and when it resets."""
        if exc.scope == "workspace":
            budget, cap = messages.API_TEAM_BUDGET.format(team=token.team), self.team_micro_usd
        else:
            budget, cap = messages.API_TOKEN_BUDGET, self.token_cap(token)
        return messages.API_BUDGET.format(
            budget=budget,
            cap=messages.usd(cap),
            left=messages.usd(exc.remaining_micro_usd),
            at=exc.resets_at,
        )


__all__ = ["ApiCaps"]
