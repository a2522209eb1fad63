"""Spend in the last 7 UTC days, by channel and by person, from the ledger's daily totals
(seven small hashes per read: the Home tab never reads ledger rows)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from gateway.ledger import AggregateRow, Ledger

DAYS = 7


@dataclass(frozen=True)
class WeekSpend:
    by_channel: dict[str, AggregateRow]
    by_user: dict[str, AggregateRow]

    def channel(self, channel: str) -> AggregateRow:
        return self.by_channel.get(channel, AggregateRow())

    def user(self, user: str) -> AggregateRow:
        return self.by_user.get(user, AggregateRow())


def last_week(ledger: Ledger, now: float) -> WeekSpend:
    today = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    by_channel: dict[str, AggregateRow] = {}
    by_user: dict[str, AggregateRow] = {}
    for back in range(DAYS):
        day = ledger.aggregates(today - datetime.timedelta(days=back))
        for totals, rows in (
            (by_channel, day.by_dimension["channel"]),
            (by_user, day.by_dimension["user"]),
        ):
            for name, row in rows.items():
                totals[name] = totals.get(name, AggregateRow()) + row
    return WeekSpend(by_channel, by_user)


__all__ = ["DAYS", "WeekSpend", "last_week"]
