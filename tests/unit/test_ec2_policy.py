"""The instance controller's decisions, on a clock the test sets: idle stops, schedule windows,
start on demand, scale-out, start timeouts, back-off after a fault, and the least-loaded pick."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from gateway.ec2_policy import (
    EC2_STARTING,
    EC2_STOPPED,
    EC2_UNAVAILABLE,
    IDLE,
    ON_DEMAND,
    SCALE_OUT,
    SCHEDULE,
    START_TIMEOUT,
    UNHEALTHY,
    Action,
    Ec2Policy,
    FleetView,
    InstanceView,
    decide,
    pick_instance,
    stops_if_idle_at,
    unavailable_reason,
)
from gateway.ec2_schedule import Ec2Schedule
from tests.clock import at, today

# Last week's Monday 12:00 UTC: inside "mon-fri 07-19".
NOON = at(today() - datetime.timedelta(days=today().weekday() + 7), 12).timestamp()
MINUTE = 60.0
POLICY = Ec2Policy(
    idle_stop_s=30 * MINUTE,
    schedule=Ec2Schedule.parse("never"),
    start_timeout_s=10 * MINUTE,
    scale_out_in_flight=4,
    scale_out_after_s=2 * MINUTE,
    max_instances=2,
    retry_after_s=5 * MINUTE,
)
OFFICE = dataclasses.replace(POLICY, schedule=Ec2Schedule.parse("mon-fri 07-19"))


def ready(instance_id: str = "i-a", **fields: object) -> InstanceView:
    values: dict[str, object] = {"up_since": NOON - 3600, "last_sent_at": NOON - 60}
    values.update(fields)
    return InstanceView(instance_id, "running", healthy=True, **values)  # type: ignore[arg-type]


def stopped(instance_id: str = "i-b", **fields: object) -> InstanceView:
    return InstanceView(instance_id, "stopped", **fields)  # type: ignore[arg-type]


def actions(policy: Ec2Policy, *instances: InstanceView, now: float = NOON, **fleet: object):
    return decide(policy, FleetView(now, instances, **fleet)).actions  # type: ignore[arg-type]


def test_idle_past_the_limit_is_one_stop() -> None:
    quiet = ready(last_sent_at=NOON - 30 * MINUTE)
    assert actions(POLICY, quiet) == (Action("stop", "i-a", IDLE),)
    almost = ready(last_sent_at=NOON - 30 * MINUTE + 1)
    assert actions(POLICY, almost) == ()


def test_idleness_counts_from_the_last_request_or_the_start_whichever_is_later() -> None:
    # Started 10 minutes ago on demand, no request sent to it since: not idle yet.
    fresh = ready(up_since=NOON - 10 * MINUTE, last_sent_at=None)
    assert actions(POLICY, fresh) == ()
    assert actions(POLICY, fresh, now=NOON + 20 * MINUTE) == (Action("stop", "i-a", IDLE),)


def test_a_window_keeps_one_instance_up_and_the_most_recently_used_one_stays() -> None:
    older = ready("i-a", last_sent_at=NOON - 50 * MINUTE)
    newer = ready("i-b", last_sent_at=NOON - 40 * MINUTE)
    assert actions(OFFICE, older, newer) == (Action("stop", "i-a", IDLE),)
    assert actions(POLICY, older, newer) == (
        Action("stop", "i-b", IDLE),
        Action("stop", "i-a", IDLE),
    )
    evening = NOON + 7 * 3600 + 1  # 19:00: the window closed
    assert len(actions(OFFICE, older, newer, now=evening)) == 2


def test_a_window_starts_an_instance_unless_a_person_stopped_it() -> None:
    assert actions(OFFICE, stopped("i-a")) == (Action("start", "i-a", SCHEDULE),)
    held = stopped("i-a", held_until=NOON + 7 * 3600)
    assert actions(OFFICE, held) == ()
    # A request still wants it: demand starts it, held or not.
    assert actions(OFFICE, held, demand_at=NOON - 1) == (Action("start", "i-a", ON_DEMAND),)
    assert actions(POLICY, stopped("i-a")) == ()  # no window: nothing to keep up


def test_demand_starts_the_first_instance_that_can_start_once() -> None:
    fleet = (
        InstanceView("i-gone", "not-found"),
        stopped("i-resting", retry_at=NOON + 60),
        stopped("i-c"),
        stopped("i-d"),
    )
    assert actions(POLICY, *fleet, demand_at=NOON - 5) == (Action("start", "i-c", ON_DEMAND),)
    # Started and not yet seen up (EC2 reports a start late): no second start.
    starting = stopped("i-c", start_requested_at=NOON - 1)
    assert actions(POLICY, starting, stopped("i-d"), demand_at=NOON) == ()
    booting = InstanceView("i-c", "pending", start_requested_at=NOON - 30)
    assert actions(POLICY, booting, stopped("i-d"), demand_at=NOON) == ()


def test_a_start_that_never_answers_is_stopped_after_the_timeout() -> None:
    booting = InstanceView(
        "i-a", "running", up_since=NOON - 9 * MINUTE, start_requested_at=NOON - 10 * MINUTE
    )
    assert actions(POLICY, booting) == (Action("stop", "i-a", START_TIMEOUT),)
    assert actions(POLICY, booting, now=NOON - 1) == ()
    # One that answered once and then went quiet is unhealthy, not a failed start.
    fallen = InstanceView(
        "i-a", "running", up_since=NOON - 3600, unhealthy_since=NOON - 10 * MINUTE,
        answered_since_up=True,
    )  # fmt: skip
    assert actions(POLICY, fallen) == (Action("stop", "i-a", UNHEALTHY),)
    # A stop that failed is not retried before its back-off ends.
    assert actions(POLICY, dataclasses.replace(fallen, retry_at=NOON + 1)) == ()


def test_scale_out_after_load_stays_high_for_a_while() -> None:
    busy = ready("i-a", in_flight=9, last_sent_at=NOON)
    first = decide(POLICY, FleetView(NOON, (busy, stopped("i-b"))))
    assert first.actions == () and first.overloaded_since == NOON
    later = FleetView(NOON + 2 * MINUTE, (busy, stopped("i-b")), overloaded_since=NOON)
    second = decide(POLICY, later)
    assert second.actions == (Action("start", "i-b", SCALE_OUT),)
    assert second.overloaded_since is None  # the count starts again once it has started
    # Load that dips resets the wait; at the maximum nothing more starts.
    calm = dataclasses.replace(busy, in_flight=4)
    assert decide(POLICY, dataclasses.replace(later, instances=(calm, stopped("i-b")))) == (
        decide(POLICY, FleetView(NOON, (calm, stopped("i-b"))))
    )
    one_max = dataclasses.replace(POLICY, max_instances=1)
    assert decide(one_max, later).actions == ()


def test_scale_out_waits_for_the_instance_still_booting() -> None:
    busy = ready("i-a", in_flight=20, last_sent_at=NOON)
    booting = InstanceView("i-b", "pending", start_requested_at=NOON - 30)
    fleet = FleetView(NOON + 5 * MINUTE, (busy, booting, stopped("i-c")), overloaded_since=NOON)
    assert decide(dataclasses.replace(POLICY, max_instances=3), fleet).actions == ()


def test_requests_go_to_the_ready_instance_with_fewest_in_flight() -> None:
    a = ready("i-a", in_flight=3, up_since=NOON - 7200)
    b = ready("i-b", in_flight=1, up_since=NOON - 60)
    booting = InstanceView("i-c", "running", in_flight=0)
    assert pick_instance([a, b, booting]) == b
    # Ties go to the instance up longest, so light traffic leaves the others idle.
    assert pick_instance([dataclasses.replace(b, in_flight=3), a]) == a
    assert pick_instance([booting, stopped()]) is None


@pytest.mark.parametrize(
    ("fleet", "reason"),
    [
        ((ready(),), None),
        ((InstanceView("i-a", "pending"), stopped()), EC2_STARTING),
        ((InstanceView("i-a", "running", healthy=False), stopped()), EC2_STARTING),
        ((stopped(),), EC2_STOPPED),
        ((stopped(retry_at=NOON + 60), InstanceView("i-x", "not-found")), EC2_UNAVAILABLE),
        ((), EC2_UNAVAILABLE),
    ],
)
def test_why_a_request_cannot_use_an_instance(
    fleet: tuple[InstanceView, ...], reason: str | None
) -> None:
    assert unavailable_reason(fleet, NOON) == reason


def test_when_an_instance_stops_if_no_request_comes() -> None:
    instance = ready(last_sent_at=NOON - 10 * MINUTE)
    assert stops_if_idle_at(POLICY, instance, NOON) == NOON + 20 * MINUTE
    # Inside a window it stays up until the window ends (19:00), if that is later.
    assert stops_if_idle_at(OFFICE, instance, NOON) == NOON + 7 * 3600
    always = dataclasses.replace(POLICY, schedule=Ec2Schedule.parse("always"))
    assert stops_if_idle_at(always, instance, NOON) is None
    assert stops_if_idle_at(POLICY, stopped(), NOON) is None
