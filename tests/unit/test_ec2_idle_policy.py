"""Idle stops that would cut work short: a model that loads for longer than the idle limit, and
an answer still streaming when its request is older than the limit."""

from __future__ import annotations

import dataclasses

from gateway.ec2_policy import IDLE, Action, FleetView, InstanceView, decide
from tests.unit.test_ec2_policy import MINUTE, NOON, POLICY


def test_a_long_model_load_is_not_idle_time() -> None:
    # Up for 45 minutes, its model server answering only since 2 minutes ago, no request yet:
    # the request that started it has not been sent yet, so it must not be stopped now.
    loaded_late = InstanceView(
        "i-a", "running", healthy=True, up_since=NOON - 45 * MINUTE, ready_since=NOON - 2 * MINUTE
    )
    assert decide(POLICY, FleetView(NOON, (loaded_late,))).actions == ()
    later = NOON + 28 * MINUTE
    assert decide(POLICY, FleetView(later, (loaded_late,))).actions == (
        Action("stop", "i-a", IDLE),
    )


def test_an_instance_still_streaming_is_not_idle() -> None:
    streaming = InstanceView(
        "i-a",
        "running",
        healthy=True,
        up_since=NOON - 3600,
        ready_since=NOON - 3600,
        last_sent_at=NOON - 40 * MINUTE,
        in_flight=1,
    )
    assert decide(POLICY, FleetView(NOON, (streaming,))).actions == ()
    done = FleetView(NOON, (dataclasses.replace(streaming, in_flight=0),))
    assert decide(POLICY, done).actions == (Action("stop", "i-a", IDLE),)
