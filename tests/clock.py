"""Times for tests, relative to the real now.

Redis (fakeredis and redis-server alike) expires keys by the real clock, so a test that pins
"now" to a calendar date starts failing once that date is far enough in the past. Tests take
their days from here instead: today (UTC) as the machine sees it, `faketime` included.
"""

from __future__ import annotations

import datetime

UTC = datetime.UTC


def today() -> datetime.date:
    return datetime.datetime.now(UTC).date()


def at(day: datetime.date, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=UTC)


def today_at(hour: int = 0, minute: int = 0) -> float:
    """Unix time of today's `hour:minute` UTC."""
    return at(today(), hour, minute).timestamp()


def next_midnight(day: datetime.date) -> float:
    return at(day + datetime.timedelta(days=1)).timestamp()


__all__ = ["at", "next_midnight", "today", "today_at"]
