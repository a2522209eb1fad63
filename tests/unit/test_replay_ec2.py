"""A replay with the self-hosted instance: the controller and the boot in real seconds are the
trace's minutes divided by the replay's speed, and the tier runs on the instance first."""

from __future__ import annotations

import math

import pytest

from chatops.cli import main
from chatops.replay_ec2 import Ec2Replay
from chatops.settings import load_settings
from gateway.types import Route


def test_trace_time_becomes_real_time_at_the_replays_speed() -> None:
    replay = Ec2Replay(idle_stop_min=30, speed=1200, boot_s=240)
    env = replay.env()

    # 30 trace minutes at 1,200 trace seconds a second: 1.5 real seconds.
    assert math.isclose(float(env["EC2_IDLE_STOP_MIN"]) * 60, 1.5)
    assert math.isclose(float(env["EC2_CONTROLLER_INTERVAL_S"]), 0.05)
    assert env["EC2_SCHEDULE"] == "never"
    boot = replay.boot()
    assert math.isclose(boot.refused_s + boot.loading_s, 0.2)
    assert boot.refused_s > 0 and boot.loading_s > 0

    tiers = load_settings(_env_file=None, tier_small=env["TIER_SMALL"]).tiers
    assert tiers["small"] == (
        Route("ec2", "llama-3.1-8b-instruct"),
        Route("bedrock", "amazon.nova-micro-v1:0"),
    )


def test_a_tier_without_an_instance_route_gets_one_first() -> None:
    env = Ec2Replay(idle_stop_min=30, speed=600, tier="large").env()
    routes = load_settings(_env_file=None, tier_large=env["TIER_LARGE"]).tiers["large"]
    assert routes[0] == Route("ec2", "llama-3.1-8b-instruct")
    assert [r.backend for r in routes[1:]] == ["bedrock", "bedrock"]


def test_an_idle_limit_needs_a_speed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="give a --speed"):
        Ec2Replay(idle_stop_min=30, speed=0)
    status = main(["replay", "no-such-trace.jsonl", "--ec2-idle-stop-min", "30"])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "chatops: --ec2-idle-stop-min: the idle limit and the boot are trace time; give --speed"
        " (trace seconds per real second, e.g. 1200)"
    ]
