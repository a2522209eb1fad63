"""EC2_SCHEDULE: what it accepts, what it refuses and why, and when it keeps an instance up."""

from __future__ import annotations

import datetime

import pytest

from gateway.ec2_schedule import Ec2Schedule
from tests.clock import at as day_at
from tests.clock import today

# This week's Monday, 00:00 UTC.
MONDAY = day_at(today() - datetime.timedelta(days=today().weekday()))


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime.datetime:
    return MONDAY + datetime.timedelta(days=days, hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("always", {0, 1, 2, 3, 4, 5, 6}, 0, 24),
        ("  ALWAYS ", {0, 1, 2, 3, 4, 5, 6}, 0, 24),
        ("never", set(), 0, 24),
        ("mon-fri 07-19", {0, 1, 2, 3, 4}, 7, 19),
        ("mon-sun 00-24", {0, 1, 2, 3, 4, 5, 6}, 0, 24),
        ("sat,sun 10-16", {5, 6}, 10, 16),
        ("sat, sun 10 - 16", {5, 6}, 10, 16),
        ("fri-mon 8-20", {4, 5, 6, 0}, 8, 20),
        ("mon,wed-thu 09-17", {0, 2, 3}, 9, 17),
        ("tue 23-24", {1}, 23, 24),
    ],
)
def test_parse_accepts(text: str, days: set[int], start: int, end: int) -> None:
    schedule = Ec2Schedule.parse(text)
    assert (schedule.days, schedule.start_hour, schedule.end_hour) == (days, start, end)


def test_whole_week_whole_days_is_always() -> None:
    assert Ec2Schedule.parse("mon-sun 00-24").is_always
    assert Ec2Schedule.parse("always").is_always
    assert not Ec2Schedule.parse("mon-fri 00-24").is_always
    assert str(Ec2Schedule.parse("Sat, Sun 10-16")) == "sat,sun 10-16"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "expected 'always', 'never' or days and UTC hours"),
        ("mon-fri", "expected 'always', 'never' or days and UTC hours"),
        ("07-19", "expected 'always', 'never' or days and UTC hours"),
        ("weekdays 07-19", "unknown day 'weekdays': use mon, tue, wed, thu, fri, sat, sun"),
        ("mon-fry 07-19", "unknown day 'fry'"),
        ("mon-fri 7am-7pm", "expected UTC hours as HH-HH such as 07-19"),
        ("mon-fri 07:30-19", "expected UTC hours as HH-HH such as 07-19"),
        ("mon-fri 19-07", "a window cannot cross midnight"),
        ("mon-fri 07-07", "the start must be before the end"),
        ("mon-fri 07-25", "the end at most 24"),
        ("mon-fri 07-19 extra", "expected 'always', 'never' or days and UTC hours"),
    ],
)
def test_parse_refuses_with_a_message_a_person_can_act_on(text: str, says: str) -> None:
    with pytest.raises(ValueError) as err:
        Ec2Schedule.parse(text)
    assert says in str(err.value)


def test_is_up_inside_windows_only() -> None:
    office = Ec2Schedule.parse("mon-fri 07-19")
    assert office.is_up(at(hours=7))
    assert office.is_up(at(days=4, hours=18, minutes=59))
    assert not office.is_up(at(hours=19))  # the end hour is not in the window
    assert not office.is_up(at(hours=6, minutes=59))
    assert not office.is_up(at(days=5, hours=12))  # Saturday
    assert not Ec2Schedule.parse("never").is_up(at(hours=12))
    assert all(Ec2Schedule.parse("always").is_up(at(hours=h)) for h in range(0, 168, 5))


def test_window_end_is_when_the_window_closes() -> None:
    office = Ec2Schedule.parse("mon-fri 07-19")
    assert office.window_end(at(hours=8)) == at(hours=19)
    assert office.window_end(at(hours=20)) is None  # outside every window
    # Whole days run together: Saturday and Sunday 00-24 close on Monday at 00:00.
    weekend = Ec2Schedule.parse("sat,sun 00-24")
    assert weekend.window_end(at(days=5, hours=3)) == at(days=7)
    # Always has no end; never has no window.
    assert Ec2Schedule.parse("always").window_end(at(hours=3)) is None
    assert Ec2Schedule.parse("never").window_end(at(hours=3)) is None


def test_other_timezones_are_converted_to_utc() -> None:
    office = Ec2Schedule.parse("mon-fri 07-19")
    new_york = datetime.timezone(datetime.timedelta(hours=-5))
    # 02:00 in New York is 07:00 UTC.
    start = at(hours=7).astimezone(new_york)
    assert office.is_up(start)
    assert not office.is_up(start - datetime.timedelta(minutes=1))
    assert office.window_end(start) == at(hours=19)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Ec2Schedule.parse("always").is_up(at().replace(tzinfo=None))
