"""Budgets against a real redis-server: concurrent reservations never overshoot a cap."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import redis

from gateway.budgets import BudgetCaps, Budgets, Reservation
from gateway.errors import BudgetExceededError

DIME = 100_000
DOLLAR = 1_000_000
THREADS = 50


def test_fifty_concurrent_dimes_against_a_dollar_grant_exactly_ten(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, max_connections=THREADS + 5)
    budgets = Budgets(client, BudgetCaps(DOLLAR, DOLLAR, DOLLAR))
    start = Barrier(THREADS)

    def attempt(_: int) -> Reservation | None:
        start.wait()
        try:
            return budgets.reserve("U1", "C1", "T1", DIME)
        except BudgetExceededError:
            return None

    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            outcomes = list(pool.map(attempt, range(THREADS)))
        granted = [reservation for reservation in outcomes if reservation is not None]
        assert len(granted) == 10
        assert _spent_everywhere(budgets) == [DOLLAR] * 3

        # Seven calls cost 7 cents each, three failed: the counters hold what was really spent.
        for n, reservation in enumerate(granted):
            budgets.settle(reservation, 70_000 if n < 7 else 0)
        assert _spent_everywhere(budgets) == [490_000] * 3
    finally:
        client.close()


def _spent_everywhere(budgets: Budgets) -> list[int]:
    scopes = [("user", "U1"), ("channel", "C1"), ("workspace", "T1")]
    return [budgets.spent_micro_usd(scope, name) for scope, name in scopes]
