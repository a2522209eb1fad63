"""`chatops ec2` as an operator runs it: a process with its settings in the environment, moto's
EC2 API with the bot's instances, a real redis-server; what it prints and its exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ec2 import Ec2Sandbox
from tests.conftest import EC2_MODEL

OWN_PREFIXES = ("AWS_", "EC2_", "TIER_", "REDIS_", "COST_", "LEDGER_")


@pytest.fixture
def sandbox() -> Iterator[Ec2Sandbox]:
    with Ec2Sandbox(2, models=(EC2_MODEL,)) as running:
        yield running


def chatops_ec2(
    redis_url: str, cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    keys = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", "ec2", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**inherited, **keys, "REDIS_URL": redis_url, "EC2_SCHEDULE": "never", **env},
        cwd=cwd,
        check=False,
    )


def test_status_start_and_stop(redis_url: str, tmp_path: Path, sandbox: Ec2Sandbox) -> None:
    first, second = sandbox.instance_ids
    env = sandbox.env()

    status = chatops_ec2(redis_url, tmp_path, env)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith("EC2 instances · schedule never · stop after 30 min")
    assert f"{first} stopped · up 0 h today · 0 served today · 0 in flight" in lines
    assert f"{second} stopped · up 0 h today · 0 served today · 0 in flight" in lines

    started = chatops_ec2(redis_url, tmp_path, env, "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith(f"Started {first}: it answers once its model server is up")
    assert sandbox.state(first) == "running" and sandbox.state(second) == "stopped"

    stopped = chatops_ec2(redis_url, tmp_path, env, "stop", second)
    assert stopped.returncode == 1  # it was not running: nothing asked for was done
    assert stopped.stdout.startswith(f"Could not stop {second}: it is stopped.")

    everything = chatops_ec2(redis_url, tmp_path, env, "stop")
    assert everything.returncode == 0
    assert everything.stdout.startswith(f"Stopped {first}.")


def test_without_instances_configured_it_says_which_settings(
    redis_url: str, tmp_path: Path
) -> None:
    result = chatops_ec2(redis_url, tmp_path, {})
    assert result.returncode == 0
    assert result.stdout.startswith("No EC2 instance is configured: set EC2_INSTANCE_IDS or")


def test_denied_describe_is_one_line_of_status(
    redis_url: str, tmp_path: Path, sandbox: Ec2Sandbox
) -> None:
    keys = sandbox.restrict(["ec2:StartInstances"])
    try:
        env = {
            **sandbox.env(),
            "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        }
        result = chatops_ec2(redis_url, tmp_path, env)
    finally:
        sandbox.unrestrict()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "warning: I can't see the instances: access denied: ec2:DescribeInstances."
        " Requests go to Bedrock."
    )
