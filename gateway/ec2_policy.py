"""What the instance controller decides, as pure functions of what it sees and the time.

One tick of the controller (`workers.ec2_controller`) observes the fleet — each instance's EC2
state, whether its model server answers, its requests in flight, and what the controller
remembers — and `decide` answers with the starts and stops to make:

- an instance up but not answering for `start_timeout_s` is stopped (`start timeout` when it
  never answered since it was started, `unhealthy` otherwise): a GPU bills while it boots;
- an instance that has had no request sent to it for `idle_stop_s` is stopped, except that
  inside a schedule window one instance is kept up;
- inside a window, with nothing up, one instance is started (`schedule`), unless a person
  stopped it there (`held_until`);
- a request routed to ec2 that found nothing up (`demand_at`) starts one (`on demand`); the
  request itself is answered by its tier's next route;
- in-flight requests per ready instance above `scale_out_in_flight` for `scale_out_after_s`
  start one more, up to `max_instances`, one at a time (`scale out`).

An instance whose last start or stop failed (`retry_at`) is left alone until then: nothing
retries in a tight loop. Requests go to the ready instance with the fewest in flight
(`pick_instance`); when none is ready, `unavailable_reason` says why in the words the ledger
and the footer use.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gateway.ec2_schedule import Ec2Schedule

PENDING, RUNNING, STOPPING, STOPPED = "pending", "running", "stopping", "stopped"
UP_STATES = frozenset({PENDING, RUNNING})

# Why an ec2 route was skipped: `Failover.reason`, the ledger row and the footer.
EC2_STARTING = "ec2 starting"
EC2_STOPPED = "ec2 stopped"
EC2_UNAVAILABLE = "ec2 unavailable"

# Why the controller acted.
ON_DEMAND = "on demand"
SCHEDULE = "schedule"
SCALE_OUT = "scale out"
IDLE = "idle"
START_TIMEOUT = "start timeout"
UNHEALTHY = "unhealthy"

ActionKind = Literal["start", "stop"]


@dataclass(frozen=True)
class Ec2Policy:
    """The controller's settings (`EC2_*`), in seconds."""

    idle_stop_s: float
    schedule: Ec2Schedule
    start_timeout_s: float
    scale_out_in_flight: float
    scale_out_after_s: float
    max_instances: int
    retry_after_s: float


@dataclass(frozen=True)
class InstanceView:
    """One instance as the controller sees it on a tick; times are unix seconds."""

    instance_id: str
    state: str
    healthy: bool = False
    in_flight: int = 0
    # When it was first seen up (pending or running) since it was last down.
    up_since: float | None = None
    # Our StartInstances, kept until the model server first answers.
    start_requested_at: float | None = None
    # Up and its model server not answering since then.
    unhealthy_since: float | None = None
    # Whether the model server answered at any time since the instance came up.
    answered_since_up: bool = False
    # Since when its model server has answered: a long boot must not count as idle time.
    ready_since: float | None = None
    last_sent_at: float | None = None
    # Its last start or stop failed: leave it alone until then.
    retry_at: float | None = None
    # A person stopped it inside a window: the schedule does not start it before then.
    held_until: float | None = None

    @property
    def is_ready(self) -> bool:
        return self.state == RUNNING and self.healthy

    @property
    def is_up(self) -> bool:
        """Up, or started by us and not yet seen up (EC2 reports a start a little late)."""
        return self.state in UP_STATES or self.start_requested_at is not None

    def is_resting(self, now: float) -> bool:
        """In back-off after a failed start or stop."""
        return self.retry_at is not None and now < self.retry_at

    def idle_since(self) -> float | None:
        """The last time it was given work, came up or became ready: idleness counts from
        there, so an instance whose model took longer to load than the idle limit still
        serves the request that started it."""
        times = [
            t
            for t in (self.last_sent_at, self.start_requested_at, self.up_since, self.ready_since)
            if t
        ]
        return max(times, default=None)


@dataclass(frozen=True)
class FleetView:
    now: float
    instances: tuple[InstanceView, ...]  # in the configured order: the first is started first
    demand_at: float | None = None
    overloaded_since: float | None = None


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    instance_id: str
    reason: str


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    # Remembered for the next tick: since when in-flight requests have been above the threshold.
    overloaded_since: float | None


def decide(policy: Ec2Policy, fleet: FleetView) -> Decision:
    """The starts and stops for this tick, at most one start."""
    now = fleet.now
    stops = [*_unanswering(policy, fleet.instances, now)]
    stopping = {action.instance_id for action in stops}
    up = [i for i in fleet.instances if i.is_up and i.instance_id not in stopping]
    in_window = policy.schedule.is_up(_utc(now))
    stops += _idle(policy, up, now, keep=1 if in_window else 0)
    stopping |= {action.instance_id for action in stops}
    up = [i for i in up if i.instance_id not in stopping]
    overloaded_since = _overloaded_since(policy, up, fleet)
    start = _start(policy, fleet, up, in_window, overloaded_since)
    if start is not None and start.reason == SCALE_OUT:
        overloaded_since = None
    return Decision((*stops, *([start] if start else [])), overloaded_since)


def _unanswering(policy: Ec2Policy, instances: Sequence[InstanceView], now: float) -> list[Action]:
    """Up, but its model server has not answered for `start_timeout_s`."""
    actions = []
    for instance in instances:
        # A boot counts from our start; an instance found up counts from when it was seen.
        since = instance.start_requested_at or instance.unhealthy_since
        if instance.state not in UP_STATES or instance.healthy or since is None:
            continue
        if now - since >= policy.start_timeout_s and not instance.is_resting(now):
            reason = UNHEALTHY if instance.answered_since_up else START_TIMEOUT
            actions.append(Action("stop", instance.instance_id, reason))
    return actions


def _idle(policy: Ec2Policy, up: Sequence[InstanceView], now: float, *, keep: int) -> list[Action]:
    """Stop what has been idle for `idle_stop_s`; `keep` instances stay up (a window).

    An instance still booting after our start is left to the start timeout, and one still
    streaming an answer is not idle, however long ago that request was sent.
    """
    idle = [
        i
        for i in up
        if i.start_requested_at is None
        and i.state == RUNNING
        and i.in_flight == 0
        and (since := i.idle_since()) is not None
        and now - since >= policy.idle_stop_s
        and not i.is_resting(now)
    ]
    busy = len(up) - len(idle)
    # Inside a window the instance kept up is the one most recently given work.
    idle.sort(key=lambda i: (i.is_ready, i.idle_since() or 0.0), reverse=True)
    spared = max(keep - busy, 0)
    return [Action("stop", i.instance_id, IDLE) for i in idle[spared:]]


def _overloaded_since(
    policy: Ec2Policy, up: Sequence[InstanceView], fleet: FleetView
) -> float | None:
    ready = [i for i in up if i.is_ready]
    if not ready:
        return None
    per_instance = sum(i.in_flight for i in ready) / len(ready)
    if per_instance <= policy.scale_out_in_flight:
        return None
    return fleet.overloaded_since if fleet.overloaded_since is not None else fleet.now


def _start(
    policy: Ec2Policy,
    fleet: FleetView,
    up: Sequence[InstanceView],
    in_window: bool,
    overloaded_since: float | None,
) -> Action | None:
    if len(up) >= policy.max_instances:
        return None
    if not up and fleet.demand_at is not None:
        reason = ON_DEMAND
    elif not up and in_window:
        reason = SCHEDULE
    elif (
        up
        and all(i.is_ready for i in up)
        and overloaded_since is not None
        and fleet.now - overloaded_since >= policy.scale_out_after_s
    ):
        reason = SCALE_OUT
    else:
        return None
    for instance in fleet.instances:
        if instance.state != STOPPED or instance.is_up or instance.is_resting(fleet.now):
            continue
        if reason == SCHEDULE and instance.held_until and fleet.now < instance.held_until:
            continue
        return Action("start", instance.instance_id, reason)
    return None


def pick_instance(instances: Sequence[InstanceView]) -> InstanceView | None:
    """The ready instance with the fewest requests in flight; ties go to the one up longest
    (then by id), so light traffic stays on one instance and the others can go idle."""
    ready = [i for i in instances if i.is_ready]
    return min(
        ready,
        key=lambda i: (i.in_flight, i.up_since if i.up_since is not None else 0.0, i.instance_id),
        default=None,
    )


def unavailable_reason(instances: Sequence[InstanceView], now: float) -> str | None:
    """None when an instance is ready; otherwise why an ec2 route cannot take a request now."""
    if any(i.is_ready for i in instances):
        return None
    if any(i.is_up for i in instances):
        return EC2_STARTING
    if any(i.state == STOPPED and not i.is_resting(now) for i in instances):
        return EC2_STOPPED
    return EC2_UNAVAILABLE


def stops_if_idle_at(policy: Ec2Policy, instance: InstanceView, now: float) -> float | None:
    """When an up instance will stop if no request comes: idle time, or the window's end."""
    since = instance.idle_since()
    if policy.schedule.is_always or not instance.is_up or since is None:
        return None
    at = since + policy.idle_stop_s
    window_end = policy.schedule.window_end(_utc(now))
    return max(at, window_end.timestamp()) if window_end is not None else at


def _utc(at: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(at, datetime.UTC)


__all__ = [
    "EC2_STARTING",
    "EC2_STOPPED",
    "EC2_UNAVAILABLE",
    "IDLE",
    "ON_DEMAND",
    "PENDING",
    "RUNNING",
    "SCALE_OUT",
    "SCHEDULE",
    "START_TIMEOUT",
    "STOPPED",
    "STOPPING",
    "UNHEALTHY",
    "UP_STATES",
    "Action",
    "Decision",
    "Ec2Policy",
    "FleetView",
    "InstanceView",
    "decide",
    "pick_instance",
    "stops_if_idle_at",
    "unavailable_reason",
]
