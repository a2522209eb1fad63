"""The self-hosted instances end to end below the Slack edge: the instance controller's ticks
through the real boto3 EC2 client against moto in server mode, each instance's model server an
OpenAI-compatible emulator powered by its EC2 state, requests through the real gateway (openai
and boto3 clients) with Bedrock's emulator as the next route, and a real redis-server.

Idle and schedule decisions run on a clock the test moves; a boot takes real fractions of a
second. API calls are counted where they leave the bot: botocore's `after-call` event on the
controller's own EC2 client.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import redis

from chatops.cost_report import load_report
from chatops.settings import Settings
from gateway import keys
from gateway.backends.bedrock import BedrockBackend
from gateway.ec2_client import (
    DEFAULT_URL_TEMPLATE,
    Ec2Client,
    FleetSpec,
    InstanceUrls,
    ModelServers,
)
from gateway.ec2_fleet import Ec2Fleet, Ec2FleetBackend, FleetStatus, FleetStore
from gateway.ec2_policy import (
    EC2_STARTING,
    EC2_STOPPED,
    EC2_UNAVAILABLE,
    SCALE_OUT,
    START_TIMEOUT,
    Ec2Policy,
)
from gateway.ec2_schedule import Ec2Schedule
from gateway.gateway import Gateway
from gateway.instance_hours import InstanceHours, Interval
from gateway.report import ReportFilter
from gateway.types import Completion, LLMRequest, Message, Route
from sandbox.ec2 import Ec2Sandbox
from sandbox.openai_compat import LOADING, OFF, READY, Boot
from tests.conftest import EC2_MODEL
from workers.ec2_controller import NOT_FOUND, ControllerThread, Ec2Controller

NOVA = "amazon.nova-micro-v1:0"
MINUTE = 60.0
POLICY = Ec2Policy(
    idle_stop_s=30 * MINUTE,
    schedule=Ec2Schedule.parse("never"),
    start_timeout_s=10 * MINUTE,
    scale_out_in_flight=2,
    scale_out_after_s=MINUTE,
    max_instances=2,
    retry_after_s=5 * MINUTE,
)
BOOT = Boot(refused_s=0.4, loading_s=0.4)
REAL_TIME_LIMIT_S = 15.0


class Clock:
    """The controller's and the fleet's time: starts two hours ago, moves when told."""

    def __init__(self) -> None:
        self.now = time.time() - 2 * 3600

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    sandbox: Ec2Sandbox
    redis_url: str
    client: redis.Redis
    clock: Clock
    settings: Settings
    calls: Counter[str] = field(default_factory=Counter)
    log: list[tuple[float, str, str]] = field(default_factory=list)
    built: list[Ec2Controller | Gateway] = field(default_factory=list)

    def controller(
        self, policy: Ec2Policy = POLICY, ids: tuple[str, ...] = (), **keys_: str
    ) -> Ec2Controller:
        ec2 = self.sandbox.client(**keys_)
        ec2.meta.events.register("after-call.ec2", self._count)
        controller = Ec2Controller(
            Ec2Client(ec2, FleetSpec(ids, *self.sandbox.tag)),
            ModelServers(timeout_s=1.0),
            InstanceUrls.parse(self.sandbox.llm_urls, DEFAULT_URL_TEMPLATE),
            self.client,
            policy,
            clock=self.clock,
        )
        self.built.append(controller)
        return controller

    def tick(self, controller: Ec2Controller) -> FleetStatus:
        status = controller.tick()
        assert status is not None
        self.log += [(self.clock.now, i.instance_id, i.state) for i in status.instances]
        return status

    def gateway(self) -> Gateway:
        fleet = Ec2Fleet(FleetStore(self.client), clock=self.clock)
        backends = {
            "ec2": Ec2FleetBackend.from_settings(self.settings, fleet),
            "bedrock": BedrockBackend.from_settings(self.settings),
        }
        tiers = {"small": (Route("ec2", EC2_MODEL), Route("bedrock", NOVA))}
        gateway = Gateway(backends, tiers, availability=fleet.availability)
        self.built.append(gateway)
        return gateway

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1


@pytest.fixture
def rig(redis_url: str, settings: Settings) -> Iterator[Rig]:
    client = redis.Redis.from_url(redis_url)
    with Ec2Sandbox(2, boot=BOOT, models=(EC2_MODEL,), untagged=1) as sandbox:
        rig = Rig(sandbox, redis_url, client, Clock(), settings)
        try:
            yield rig
        finally:
            for built in rig.built:
                built.close()
    client.close()


def ask(gateway: Gateway, text: str = "How do I rotate the staging DB password?") -> Completion:
    request = LLMRequest(task="ask", messages=(Message("user", text),), tier="small")
    return gateway.complete(request)


def wait_until_ready(rig: Rig, controller: Ec2Controller, instance_id: str) -> dict[str, bool]:
    """Tick until a tick that the server spent wholly in one phase sees it healthy. For each
    phase the server stayed in for a whole tick: whether such a tick saw it healthy. (A tick
    during which the server moved on says nothing about either phase, so it is not counted.)"""
    seen: dict[str, bool] = {}
    emulator = rig.sandbox.emulators[instance_id]
    deadline = time.monotonic() + REAL_TIME_LIMIT_S
    while time.monotonic() < deadline:
        before = emulator.phase
        record = rig.tick(controller).record(instance_id)
        assert record is not None
        if emulator.phase != before:
            continue
        seen[before] = seen.get(before, False) or record.healthy
        if record.healthy:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{instance_id} never became healthy: {seen}")


def running_intervals(
    log: list[tuple[float, str, str]], instance_id: str
) -> list[tuple[float, float]]:
    """The intervals the controller observed: from a tick that saw it running to the tick that
    saw it otherwise."""
    intervals, since = [], None
    for at, iid, state in log:
        if iid != instance_id:
            continue
        if state == "running" and since is None:
            since = at
        elif state != "running" and since is not None:
            intervals.append((since, at))
            since = None
    return intervals


def test_a_request_while_stopped_starts_it_and_bedrock_answers_until_it_is_healthy(
    rig: Rig,
) -> None:
    first, second = rig.sandbox.instance_ids
    controller, gateway = rig.controller(ids=(first,)), rig.gateway()
    assert rig.tick(controller).record(first).state == "stopped"  # type: ignore[union-attr]

    answered = ask(gateway)
    assert answered.route == Route("bedrock", NOVA)
    assert [f.reason for f in answered.failovers] == [EC2_STOPPED]
    assert rig.calls["StartInstances"] == 0  # no request waits for EC2

    rig.clock.advance(5)
    rig.tick(controller)
    assert rig.calls["StartInstances"] == 1
    starting = ask(gateway)
    assert starting.route.backend == "bedrock"
    assert [f.reason for f in starting.failovers] == [EC2_STARTING]

    phases = wait_until_ready(rig, controller, first)
    # Refused connections, then 503s while the model loads: not healthy until it answers.
    assert phases == {OFF: False, LOADING: False, READY: True}

    for question in ("And for production?", "Who approves it?"):
        later = ask(gateway, question)
        assert later.route == Route("ec2", EC2_MODEL) and later.failovers == ()
        assert "[offline emulator · llama-3.1-8b-instruct]" in later.text
    assert len(rig.sandbox.emulators[first].requests_to("/v1/chat/completions")) == 2
    assert rig.calls["StartInstances"] == 1
    assert rig.sandbox.state(second) == "stopped"  # not configured: never touched


def test_idle_past_the_limit_is_one_stop_and_the_hours_are_what_the_controller_saw(
    rig: Rig,
) -> None:
    first = rig.sandbox.instance_ids[0]
    controller, gateway = rig.controller(ids=(first,)), rig.gateway()
    rig.tick(controller)
    ask(gateway)  # stopped: starts it on demand
    rig.clock.advance(3)
    rig.tick(controller)
    wait_until_ready(rig, controller, first)
    rig.clock.advance(10 * MINUTE)
    assert ask(gateway).route.backend == "ec2"

    rig.clock.advance(30 * MINUTE - 1)
    rig.tick(controller)
    assert rig.calls["StopInstances"] == 0
    rig.clock.advance(2)
    rig.tick(controller)
    rig.clock.advance(15)
    rig.tick(controller)
    assert rig.calls["StopInstances"] == 1
    assert rig.sandbox.state(first) == "stopped"
    assert [f.reason for f in ask(gateway).failovers] == [EC2_STOPPED]

    # The hours the report prices are the running intervals the controller observed.
    observed = running_intervals(rig.log, first)
    assert len(observed) == 1 and observed[0][1] - observed[0][0] == pytest.approx(40 * MINUTE + 1)
    hours = InstanceHours(rig.client).intervals([first], rig.clock.now - 86_400, time.time())
    assert [(i.start, i.end) for i in hours] == observed
    settings = rig.settings.model_copy(
        update={"redis_url": rig.redis_url, "ec2_instance_ids": first}
    )
    now = datetime.datetime.now(datetime.UTC)
    _, report = load_report(settings, "7d", ReportFilter(), now=now)
    assert report.ec2 is not None
    assert report.ec2.hours.intervals == (Interval(first, *observed[0]),)
    assert report.ec2.hours.cost_micro_usd == round(
        Decimal(report.ec2.hours.microseconds) * 1_006_000 / 3_600_000_000
    )
    assert report.ec2.idle_micro_usd == report.ec2.hours.cost_micro_usd  # no ledger rows here


def test_two_controllers_deciding_at_once_make_one_start(rig: Rig) -> None:
    first = rig.sandbox.instance_ids[0]
    controllers = [rig.controller(ids=(first,)) for _ in range(2)]
    for controller in controllers:
        rig.tick(controller)
    ask(rig.gateway())  # a request found it stopped: both now see the demand
    barrier = threading.Barrier(len(controllers))
    outcomes: list[FleetStatus | None] = []

    def decide(controller: Ec2Controller) -> None:
        barrier.wait()
        outcomes.append(controller.tick())

    threads = [threading.Thread(target=decide, args=(c,)) for c in controllers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REAL_TIME_LIMIT_S)
    for controller in controllers * 2:  # and the ticks after it see it starting
        controller.tick()

    assert rig.calls["StartInstances"] == 1
    assert rig.sandbox.state(first) == "running"


def test_two_instances_share_requests_scale_out_and_both_stop_when_idle(rig: Rig) -> None:
    first, second = rig.sandbox.instance_ids
    controller, gateway = rig.controller(), rig.gateway()
    fleet = Ec2Fleet(FleetStore(rig.client), clock=rig.clock)
    rig.sandbox.set_state(first, running=True)
    wait_until_ready(rig, controller, first)

    # Calls in flight past the threshold (2 per ready instance) for a minute: scale out.
    held = [fleet.acquire() for _ in range(3)]
    assert {a.instance_id for a in held if a} == {first}
    rig.tick(controller)
    rig.clock.advance(MINUTE - 1)
    rig.tick(controller)
    assert rig.calls["StartInstances"] == 0
    rig.clock.advance(2)
    status = rig.tick(controller)
    assert rig.calls["StartInstances"] == 1
    assert status.record(second).last_action == f"start: {SCALE_OUT}"  # type: ignore[union-attr]
    wait_until_ready(rig, controller, second)

    # Each new call goes to the ready instance with the fewest in flight.
    more = [fleet.acquire() for _ in range(4)]
    assert [a.instance_id for a in more if a] == [second, second, second, first]
    for assignment in held + more:
        assert assignment is not None
        fleet.release(assignment, served=False)
    # Streamed through the real openai client: concurrent answers land on both instances.
    for emulator in rig.sandbox.emulators.values():
        emulator.pace = dataclasses.replace(emulator.pace, ttft_ms=300)
    answers: list[Completion] = []
    threads = [
        threading.Thread(target=lambda n=n: answers.append(ask(gateway, f"question {n}")))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=REAL_TIME_LIMIT_S)
    assert [a.route.backend for a in answers] == ["ec2"] * 4
    served = {
        iid: len(e.requests_to("/v1/chat/completions")) for iid, e in rig.sandbox.emulators.items()
    }
    assert served == {first: 2, second: 2}

    rig.clock.advance(30 * MINUTE)
    rig.tick(controller)
    assert rig.calls["StopInstances"] == 2
    rig.tick(controller)
    assert {rig.sandbox.state(i) for i in (first, second)} == {"stopped"}


def test_an_instance_id_that_does_not_exist_or_lacks_the_tag_is_never_touched(rig: Rig) -> None:
    missing, untagged = "i-0000000000000dead", rig.sandbox.untagged_ids[0]
    controller, gateway = rig.controller(ids=(missing, untagged)), rig.gateway()
    status = rig.tick(controller)
    assert [(r.instance_id, r.state) for r in status.instances] == [
        (missing, NOT_FOUND),
        (untagged, NOT_FOUND),
    ]
    assert all(r.problem == "not found with the tag chatops-bot=llm" for r in status.instances)

    answered = ask(gateway)
    assert answered.route.backend == "bedrock"
    assert [f.reason for f in answered.failovers] == [EC2_UNAVAILABLE]
    rig.tick(controller)
    assert rig.calls["StartInstances"] == 0
    assert rig.sandbox.state(untagged) == "stopped"


def test_missing_iam_permission_to_start_is_said_and_not_retried_in_a_loop(rig: Rig) -> None:
    first = rig.sandbox.instance_ids[0]
    keys_ = rig.sandbox.restrict(["ec2:DescribeInstances"])
    try:
        controller, gateway = rig.controller(ids=(first,), **keys_), rig.gateway()
        rig.tick(controller)
        for _ in range(3):  # requests keep coming, each wanting an instance
            assert ask(gateway).route.backend == "bedrock"
            rig.clock.advance(10)
            status = rig.tick(controller)
        assert rig.calls["StartInstances"] == 1
        record = status.record(first)
        assert record is not None
        assert record.problem == "start failed: access denied: ec2:StartInstances"
        # After the back-off the next request's demand tries once more.
        rig.clock.advance(POLICY.retry_after_s)
        ask(gateway)
        rig.tick(controller)
        assert rig.calls["StartInstances"] == 2
        assert rig.sandbox.state(first) == "stopped"
    finally:
        rig.sandbox.unrestrict()


def test_a_stop_that_fails_is_said_and_retried_after_the_back_off(rig: Rig) -> None:
    first = rig.sandbox.instance_ids[0]
    rig.sandbox.set_state(first, running=True)
    keys_ = rig.sandbox.restrict(["ec2:DescribeInstances", "ec2:StartInstances"])
    try:
        controller = rig.controller(ids=(first,), **keys_)
        wait_until_ready(rig, controller, first)
        rig.clock.advance(30 * MINUTE)
        status = rig.tick(controller)
        record = status.record(first)
        assert (
            record is not None and record.problem == "stop failed: access denied: ec2:StopInstances"
        )
        rig.clock.advance(MINUTE)
        rig.tick(controller)
        assert rig.calls["StopInstances"] == 1
        rig.clock.advance(POLICY.retry_after_s)
        rig.tick(controller)
        assert rig.calls["StopInstances"] == 2
        assert ask(rig.gateway()).route.backend == "ec2"  # still up: it still answers
    finally:
        rig.sandbox.unrestrict()


def test_a_start_that_never_becomes_healthy_times_out_stops_and_alerts(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    first = rig.sandbox.instance_ids[0]
    rig.sandbox.emulators[first].boot = Boot(loading_s=math.inf)
    controller, gateway = rig.controller(ids=(first,)), rig.gateway()
    rig.tick(controller)
    ask(gateway)
    rig.tick(controller)
    assert rig.calls["StartInstances"] == 1
    for _ in range(3):
        rig.clock.advance(POLICY.start_timeout_s / 3 - 1)
        status = rig.tick(controller)
        assert [f.reason for f in ask(gateway).failovers] == [EC2_STARTING]
    assert rig.calls["StopInstances"] == 0
    with caplog.at_level(logging.ERROR, logger="workers.ec2_controller"):
        rig.clock.advance(3)
        status = rig.tick(controller)
    assert rig.calls["StopInstances"] == 1
    record = status.record(first)
    assert record is not None and record.last_action == f"stop: {START_TIMEOUT}"
    assert record.problem == "start timeout: no answer from the model server in 10 min; stopped"
    assert any("ec2_start_timeout" in r.getMessage() for r in caplog.records)
    assert rig.client.hget(keys.metrics(), f"ec2_start_timeouts|{first}") == b"1"
    # Requests go on to Bedrock; the demand they leave does not restart it before the back-off.
    ask(gateway)
    rig.tick(controller)
    assert rig.calls["StartInstances"] == 1


def test_the_worker_thread_starts_an_instance_as_soon_as_a_request_wants_one(rig: Rig) -> None:
    """A long interval, yet the start follows the request at once: it wakes the thread."""
    first = rig.sandbox.instance_ids[0]
    thread = ControllerThread(rig.controller(ids=(first,)), interval_s=60).start()
    try:
        gateway = rig.gateway()
        wait_for_status = time.monotonic() + REAL_TIME_LIMIT_S
        while FleetStore(rig.client).load().observed_at is None:
            assert time.monotonic() < wait_for_status
            time.sleep(0.02)
        asked = time.monotonic()
        assert ask(gateway).route.backend == "bedrock"
        while rig.calls["StartInstances"] == 0:
            assert time.monotonic() - asked < 5, "the controller thread did not wake"
            time.sleep(0.02)
    finally:
        thread.stop()
    assert rig.calls["StartInstances"] == 1
