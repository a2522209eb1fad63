"""When the self-hosted instances are kept up whatever the traffic: `EC2_SCHEDULE`, parsed.

The instance controller (`gateway.ec2_policy`) keeps one instance up inside the schedule's
windows; outside them an instance runs only on demand and stops when idle. The schedule is
`always`, `never`, or days and one window of UTC hours:

    always                 every hour of every day
    never                  no window: instances run only on demand
    mon-fri 07-19          weekdays, 07:00 to 19:00 UTC
    mon-sun 00-24          the same as always
    sat,sun 10-16          weekends only
    fri-mon 08-20          a day range may wrap around the week's end

A window runs from its start hour up to (not including) its end hour and stays within one
UTC day; `00-24` is the whole day. Days are English three-letter names, as lists or ranges.
What the instances cost is not derived from here: the hours they really ran are recorded by
`gateway.instance_hours`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NUMBER = {name: number for number, name in enumerate(DAY_NAMES)}
_ALWAYS = "always"
_NEVER = "never"
_SEPARATOR_SPACE = re.compile(r" ?([,-]) ?")
_HOURS = re.compile(r"^(\d{1,2})-(\d{1,2})$")

_EXAMPLES = "e.g. 'always', 'never', 'mon-fri 07-19', 'sat,sun 10-16'"


@dataclass(frozen=True)
class Ec2Schedule:
    """Days of the week (0 = Monday) and one window of UTC hours, start inclusive, end not."""

    days: frozenset[int]
    start_hour: int
    end_hour: int
    text: str

    @classmethod
    def parse(cls, text: str) -> Ec2Schedule:
        """Read a schedule; a `ValueError` says what was wrong and shows valid examples."""
        # "sat, sun 10 - 16" reads as "sat,sun 10-16": spaces around separators are noise.
        cleaned = _SEPARATOR_SPACE.sub(r"\1", " ".join(text.lower().split()))
        if cleaned == _ALWAYS:
            return cls(frozenset(range(7)), 0, 24, _ALWAYS)
        if cleaned == _NEVER:
            return cls(frozenset(), 0, 24, _NEVER)
        days_text, _, hours_text = cleaned.partition(" ")
        if not days_text or not hours_text or " " in hours_text:
            raise ValueError(
                f"expected 'always', 'never' or days and UTC hours, {_EXAMPLES} (got {text!r})"
            )
        days = _parse_days(days_text)
        start_hour, end_hour = _parse_hours(hours_text)
        return cls(days, start_hour, end_hour, cleaned)

    @property
    def is_always(self) -> bool:
        return len(self.days) == 7 and (self.start_hour, self.end_hour) == (0, 24)

    def is_up(self, at: datetime.datetime) -> bool:
        """Whether the schedule keeps an instance up at `at` (an aware datetime)."""
        at = _utc(at)
        return at.weekday() in self.days and self.start_hour <= at.hour < self.end_hour

    def window_end(self, at: datetime.datetime) -> datetime.datetime | None:
        """When the window `at` falls in closes (days that follow one another with `00-24`
        run together); None when `at` is outside every window or the schedule is `always`."""
        at = _utc(at)
        if self.is_always or not self.is_up(at):
            return None
        day = at.date()
        while True:
            midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
            end = midnight + datetime.timedelta(hours=self.end_hour)
            if self.end_hour < 24 or not self.is_up(end):
                return end
            day += datetime.timedelta(days=1)

    def __str__(self) -> str:
        return self.text


def _parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `mon,wed-fri`, `fri-mon` (wrapping) -> day numbers."""
    days: set[int] = set()
    for item in text.split(","):
        first, dash, last = item.partition("-")
        names = (first, last) if dash else (first,)
        unknown = [name for name in names if name not in _DAY_NUMBER]
        if unknown:
            raise ValueError(
                f"unknown day {unknown[0]!r}: use {', '.join(DAY_NAMES)}, "
                f"as a list or a range, {_EXAMPLES}"
            )
        start = _DAY_NUMBER[first]
        span = (_DAY_NUMBER[last] - start) % 7 if dash else 0
        days.update((start + offset) % 7 for offset in range(span + 1))
    return frozenset(days)


def _parse_hours(text: str) -> tuple[int, int]:
    """`07-19` -> (7, 19): UTC hours, start before end, end at most 24."""
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"expected UTC hours as HH-HH such as 07-19, {_EXAMPLES} (got {text!r})")
    start_hour, end_hour = int(match[1]), int(match[2])
    if end_hour > 24 or start_hour >= end_hour:
        raise ValueError(
            f"hours {text!r}: the start must be before the end and the end at most 24 "
            "(UTC; a window cannot cross midnight — use 00-24 for whole days)"
        )
    return start_hour, end_hour


def _utc(at: datetime.datetime) -> datetime.datetime:
    """Naive datetimes are refused: a schedule in UTC hours needs to know what time it is."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime (got naive {at.isoformat()})")
    return at.astimezone(datetime.UTC)


__all__ = ["DAY_NAMES", "Ec2Schedule"]
