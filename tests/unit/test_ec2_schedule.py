"""EC2_SCHEDULE: what it accepts, what it refuses and why, and the hours it keeps an instance up."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gateway.ec2_schedule import Ec2Schedule

UTC = datetime.UTC
# Monday 2026-11-23 00:00 UTC.
MONDAY = datetime.datetime(2026, 11, 23, tzinfo=UTC)


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime.datetime:
    return MONDAY + datetime.timedelta(days=days, hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("always", {0, 1, 2, 3, 4, 5, 6}, 0, 24),
        ("  ALWAYS ", {0, 1, 2, 3, 4, 5, 6}, 0, 24),
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
        ("", "expected 'always' or days and UTC hours"),
        ("mon-fri", "expected 'always' or days and UTC hours"),
        ("07-19", "expected 'always' or days and UTC hours"),
        ("weekdays 07-19", "unknown day 'weekdays': use mon, tue, wed, thu, fri, sat, sun"),
        ("mon-fry 07-19", "unknown day 'fry'"),
        ("mon-fri 7am-7pm", "expected UTC hours as HH-HH such as 07-19"),
        ("mon-fri 07:30-19", "expected UTC hours as HH-HH such as 07-19"),
        ("mon-fri 19-07", "a window cannot cross midnight"),
        ("mon-fri 07-07", "the start must be before the end"),
        ("mon-fri 07-25", "the end at most 24"),
        ("mon-fri 07-19 extra", "expected 'always' or days and UTC hours"),
    ],
)
def test_parse_refuses_with_a_message_a_person_can_act_on(text: str, says: str) -> None:
    with pytest.raises(ValueError) as err:
        Ec2Schedule.parse(text)
    assert says in str(err.value)


def test_always_counts_every_hour_exactly() -> None:
    always = Ec2Schedule.parse("always")
    assert always.hours_up(at(), at(days=7)) == 168
    assert always.hours_up(at(hours=1, minutes=30), at(hours=2)) == Decimal("0.5")
    # One second is 1/3600 h: not a terminating decimal, but every digit Decimal can hold.
    one_second = always.hours_up(at(), at() + datetime.timedelta(seconds=1))
    assert one_second * 3600 == pytest.approx(Decimal(1), abs=Decimal("1e-30"))


def test_weekday_office_hours_over_a_week() -> None:
    office = Ec2Schedule.parse("mon-fri 07-19")
    assert office.hours_up(at(), at(days=7)) == 60
    assert office.hours_up(at(days=5), at(days=7)) == 0  # the weekend


def test_partial_hours_at_the_period_edges_count() -> None:
    office = Ec2Schedule.parse("mon-fri 07-19")
    # Monday 18:15 -> Tuesday 07:45: 45 minutes on Monday, 45 minutes on Tuesday.
    assert office.hours_up(at(hours=18, minutes=15), at(days=1, hours=7, minutes=45)) == Decimal(
        "1.5"
    )
    # Starting inside the window, ending before it opens the next day.
    assert office.hours_up(at(hours=12, minutes=30), at(days=1, hours=6)) == Decimal("6.5")


def test_weekend_window_and_a_range_across_the_week_end() -> None:
    weekend = Ec2Schedule.parse("sat,sun 10-16")
    assert weekend.hours_up(at(), at(days=14)) == 24
    long_weekend = Ec2Schedule.parse("fri-mon 08-20")
    assert long_weekend.hours_up(at(), at(days=7)) == 48


def test_empty_or_backwards_period_is_zero_hours() -> None:
    always = Ec2Schedule.parse("always")
    assert always.hours_up(at(days=1), at(days=1)) == 0
    assert always.hours_up(at(days=2), at(days=1)) == 0


def test_other_timezones_are_converted_to_utc() -> None:
    office = Ec2Schedule.parse("mon-fri 07-19")
    new_york = datetime.timezone(datetime.timedelta(hours=-5))
    # 02:00-14:00 in New York is 07:00-19:00 UTC.
    start = datetime.datetime(2026, 11, 23, 2, tzinfo=new_york)
    assert office.hours_up(start, start + datetime.timedelta(hours=12)) == 12
    assert office.is_up(start)
    assert not office.is_up(start - datetime.timedelta(minutes=1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Ec2Schedule.parse("always").hours_up(datetime.datetime(2026, 11, 23), at(days=1))
