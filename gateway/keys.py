"""Every Redis key the project uses, built here and nowhere else. All start with `chatops:`."""

from __future__ import annotations

PREFIX = "chatops"


def key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def ledger_records(day: str) -> str:
    """Sorted set of one UTC day's ledger rows (JSON), scored by unix time."""
    return key("ledger", "records", day)


def ledger_aggregate(day: str, dimension: str) -> str:
    """Hash of one UTC day's totals for one dimension; fields are `metric:value`."""
    return key("ledger", "agg", day, dimension)


def budget_spent(day: str, scope: str, name: str) -> str:
    """Integer micro-USD reserved or spent in one budget period by one user/channel/workspace."""
    return key("budget", day, scope, name)


__all__ = ["PREFIX", "budget_spent", "key", "ledger_aggregate", "ledger_records"]
