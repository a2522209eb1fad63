"""The instance controller: ticks that observe the self-hosted instances and start or stop them.

One tick, under a lock with a lease in the queue Redis, so that of all the workers only one
decides at a time:

1. DescribeInstances (the bot's tag only) and `GET /v1/models` on every running instance;
2. each state seen is recorded (`gateway.instance_hours`: the hours the instances really ran);
3. the observation is folded into what the controller remembers (`gateway.ec2_fleet`), with
   the calls in flight, when each instance was last sent a request, and any unmet demand;
4. `gateway.ec2_policy.decide` gives the starts and stops, which are made and recorded;
5. the fleet's status is saved for requests (`Ec2Fleet.availability`) and for `status`.

A refused or failed EC2 call is kept on its instance as a problem with a time to try again
(`EC2_RETRY_AFTER_S`), so nothing retries in a tight loop, and requests keep going to
Bedrock meanwhile. A start whose model server never answers is stopped, logged as an error
and counted in /metrics (`chatops_ec2_start_timeouts_total`).

`ControllerThread` runs ticks from a daemon thread in each worker every
`EC2_CONTROLLER_INTERVAL_S`, sooner when a request wants an instance; `command` serves
`/llm-ec2` and `chatops ec2` (start and stop by a person, and the status).
"""

from __future__ import annotations

import datetime
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Literal

import redis

from chatops.settings import Settings
from gateway import keys
from gateway.ec2_client import Ec2Client, Ec2Instance, FleetSpec, InstanceUrls, ModelServers
from gateway.ec2_fleet import FleetStatus, FleetStore, InstanceRecord, with_record
from gateway.ec2_policy import (
    RUNNING,
    START_TIMEOUT,
    STOPPED,
    UNHEALTHY,
    UP_STATES,
    Action,
    Ec2Policy,
    FleetView,
    decide,
)
from gateway.ec2_schedule import Ec2Schedule
from gateway.errors import ConfigError, Ec2ControlError
from gateway.instance_hours import InstanceHours
from gateway.ledger import DEFAULT_RETENTION_DAYS

log = logging.getLogger(__name__)

NOT_FOUND = "not-found"
LOCK_LEASE_S = 60.0
# How long a person's command waits for a tick in progress elsewhere to finish.
COMMAND_WAIT_S = 10.0
# Metrics counters bumped when the controller gives up on an instance (`name|instance id`).
_ALERTS = {START_TIMEOUT: "ec2_start_timeouts", UNHEALTHY: "ec2_unhealthy_stops"}
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Verb = Literal["start", "stop"]


class ControllerBusyError(Ec2ControlError):
    """Another worker's tick held the lock for longer than a command waits."""


@dataclass(frozen=True)
class CommandOutcome:
    """What a person's start or stop did: the actions made and the problems met."""

    verb: Verb
    done: tuple[Action, ...]
    failed: tuple[tuple[str, str], ...]  # (instance id, problem)
    status: FleetStatus


def policy_from_settings(settings: Settings) -> Ec2Policy:
    try:
        schedule = Ec2Schedule.parse(settings.ec2_schedule)
    except ValueError as exc:
        raise ConfigError(f"EC2_SCHEDULE: {exc}") from exc
    return Ec2Policy(
        idle_stop_s=settings.ec2_idle_stop_min * 60,
        schedule=schedule,
        start_timeout_s=settings.ec2_start_timeout_s,
        scale_out_in_flight=settings.ec2_scale_out_in_flight,
        scale_out_after_s=settings.ec2_scale_out_after_s,
        max_instances=settings.ec2_max_instances,
        retry_after_s=settings.ec2_retry_after_s,
    )


class Ec2Controller:
    def __init__(
        self,
        ec2: Ec2Client,
        servers: ModelServers,
        urls: InstanceUrls,
        client: redis.Redis,
        policy: Ec2Policy,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], float] = time.time,
        lock_lease_s: float = LOCK_LEASE_S,
    ) -> None:
        self.ec2 = ec2
        self.servers = servers
        self.urls = urls
        self.policy = policy
        self.store = FleetStore(client, retention_days)
        self.hours = InstanceHours(client, retention_days)
        self._redis = client
        self._clock = clock
        self._lock_lease_ms = int(lock_lease_s * 1000)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_settings(
        cls, settings: Settings, client: redis.Redis, *, clock: Callable[[], float] = time.time
    ) -> Ec2Controller | None:
        """None when no instance is configured; `ConfigError` names a bad setting."""
        spec = _spec(settings)
        if spec is None:
            return None
        try:
            urls = InstanceUrls.parse(settings.ec2_llm_urls, settings.ec2_llm_url_template)
        except ValueError as exc:
            raise ConfigError(f"EC2_LLM_URLS / EC2_LLM_URL_TEMPLATE: {exc}") from exc
        return cls(
            Ec2Client.from_settings(settings, spec),
            ModelServers(settings.ec2_llm_api_key.get_secret_value()),
            urls,
            client,
            policy_from_settings(settings),
            retention_days=settings.ledger_retention_days,
            clock=clock,
        )

    def close(self) -> None:
        self.ec2.close()
        self.servers.close()

    def now(self) -> float:
        return self._clock()

    # -- ticks -------------------------------------------------------------------------------

    def tick(self, min_gap_s: float = 0.0) -> FleetStatus | None:
        """One observe-decide-act pass; None when another controller holds the lock, or when
        the last tick is under `min_gap_s` old and no request is waiting for an instance."""
        with self._leadership() as leading:
            if not leading:
                return None
            previous = self.store.load()
            now = self._clock()
            recent = previous.observed_at is not None and now - previous.observed_at < min_gap_s
            if recent and not self._redis.exists(keys.ec2_demand()):
                return None
            status = self._observe(previous, now)
            if status.problem:
                self.store.save(status)
                return status
            return self._decide_and_act(status, now)

    def _observe(self, previous: FleetStatus, now: float) -> FleetStatus:
        try:
            seen = self.ec2.describe()
        except Ec2ControlError as exc:
            log.warning("ec2_describe_failed problem=%s detail=%s", exc.problem, exc)
            return replace(previous, observed_at=now, problem=exc.problem)
        records = [self._observed(previous.record(i.instance_id), i, now) for i in seen]
        found = {i.instance_id for i in seen}
        for missing in (iid for iid in self.ec2.spec.instance_ids if iid not in found):
            problem = f"not found with the tag {self.ec2.spec.tag}"
            records.append(InstanceRecord(missing, NOT_FOUND, problem=problem, problem_at=now))
        return FleetStatus(now, tuple(records), previous.overloaded_since, "")

    def _observed(
        self, previous: InstanceRecord | None, instance: Ec2Instance, now: float
    ) -> InstanceRecord:
        """The instance as seen now, with what the controller remembers carried over."""
        self.hours.record(instance.instance_id, instance.state, now)
        url = self.urls.url(instance)
        rec = previous or InstanceRecord(instance.instance_id, instance.state)
        up = instance.state in UP_STATES
        healthy = instance.state == RUNNING and self.servers.is_healthy(url)
        started = rec.start_requested_at
        if started and not up and now - started > self.policy.start_timeout_s:
            # EC2 took the start but the instance never came up: say so, and stop waiting.
            problem = f"the start did not take: it is {instance.state}"
            rec = replace(rec, problem=problem, problem_at=now)
            started = None
        return replace(
            rec,
            state=instance.state,
            url=url,
            healthy=healthy,
            up_since=(rec.up_since or now) if up else None,
            start_requested_at=None if healthy else started,
            unhealthy_since=(rec.unhealthy_since or now) if up and not healthy else None,
            answered_since_up=up and (rec.answered_since_up or healthy),
            ready_since=(rec.ready_since or now) if healthy else None,
        )

    def _decide_and_act(self, status: FleetStatus, now: float) -> FleetStatus:
        ids = [i.instance_id for i in status.instances]
        in_flight = self.store.in_flight(ids, now)
        last_sent = self.store.last_sent()
        demand = self.store.take_demand()
        views = tuple(i.view(in_flight.get(i.instance_id, 0), last_sent.get(i.instance_id))
                      for i in status.instances)  # fmt: skip
        decision = decide(self.policy, FleetView(now, views, demand, status.overloaded_since))
        status = replace(status, overloaded_since=decision.overloaded_since)
        for action in decision.actions:
            status, _ = self._act(status, action, now)
        self.store.save(status)
        return status

    def _act(self, status: FleetStatus, action: Action, now: float) -> tuple[FleetStatus, str]:
        """Start or stop one instance; the status updated, and the problem met ("" if none)."""
        rec = status.record(action.instance_id)
        assert rec is not None
        try:
            call = self.ec2.start if action.kind == "start" else self.ec2.stop
            state = call(action.instance_id)
        except Ec2ControlError as exc:
            log.warning(
                "ec2_%s_failed instance=%s reason=%s problem=%s detail=%s",
                action.kind, action.instance_id, action.reason, exc.problem, exc,
            )  # fmt: skip
            failed = replace(
                rec,
                problem=f"{action.kind} failed: {exc.problem}",
                problem_at=now,
                retry_at=now + self.policy.retry_after_s,
            )
            return with_record(status, failed), exc.problem
        self.hours.record(action.instance_id, state, now)
        log.info("ec2_%s instance=%s reason=%s", action.kind, action.instance_id, action.reason)
        done = replace(
            rec,
            state=state,
            problem="",
            problem_at=None,
            retry_at=None,
            last_action=f"{action.kind}: {action.reason}",
            last_action_at=now,
        )
        if action.kind == "start":
            done = replace(done, start_requested_at=now, held_until=None)
        else:
            done = _stopped(done)
            if action.reason in _ALERTS:
                done = self._alert(done, action, now)
        return with_record(status, done), ""

    def _alert(self, rec: InstanceRecord, action: Action, now: float) -> InstanceRecord:
        """A start that never answered, or a server that stopped answering: the GPU was
        billing for nothing. Said loudly, counted, and the instance rested before a retry."""
        log.error(
            "ec2_%s instance=%s timeout_s=%.0f: the model server never answered GET /v1/models;"
            " stopped it",
            action.reason.replace(" ", "_"),
            action.instance_id,
            self.policy.start_timeout_s,
        )
        try:
            self._redis.hincrby(keys.metrics(), f"{_ALERTS[action.reason]}|{action.instance_id}", 1)
        except redis.RedisError as exc:
            log.warning("ec2_alert_not_counted: %s", exc)
        minutes = self.policy.start_timeout_s / 60
        return replace(
            rec,
            problem=f"{action.reason}: no answer from the model server in {minutes:g} min; stopped",
            problem_at=now,
            retry_at=now + self.policy.retry_after_s,
        )

    # -- a person's start and stop -----------------------------------------------------------

    def command(self, verb: Verb, instance_id: str | None = None) -> CommandOutcome:
        """Start (the first stopped instance, or `instance_id`) or stop (every up instance, or
        `instance_id`) now, whatever the policy would do; a person overrides any back-off.
        A stop inside a schedule window holds the instance down until the window ends."""
        with self._waiting_leadership():
            return self._command(verb, instance_id)

    def observe(self) -> FleetStatus:
        """A fresh look at the instances for `status`, saved; nothing is started or stopped."""
        with self._waiting_leadership():
            status = self._observe(self.store.load(), self._clock())
            self.store.save(status)
            return status

    def _command(self, verb: Verb, instance_id: str | None) -> CommandOutcome:
        now = self._clock()
        status = self._observe(self.store.load(), now)
        if status.problem:
            self.store.save(status)
            return CommandOutcome(verb, (), (("", status.problem),), status)
        targets = _targets(status, verb, instance_id)
        done, failed = [], []
        for target in targets:
            status, problem = self._act(status, Action(verb, target, "by hand"), now)
            if problem:
                failed.append((target, problem))
            else:
                done.append(Action(verb, target, "by hand"))
        if verb == "stop":
            status = self._hold(status, [a.instance_id for a in done], now)
        if instance_id and not targets:
            failed.append((instance_id, _why_not(status, verb, instance_id)))
        self.store.save(status)
        return CommandOutcome(verb, tuple(done), tuple(failed), status)

    def _hold(self, status: FleetStatus, stopped: list[str], now: float) -> FleetStatus:
        """Inside a window the schedule would start it again at once: it waits for the
        window's end (`always`: for a request or a person to start it)."""
        schedule = self.policy.schedule
        if not schedule.is_up(_utc(now)):
            return status
        end = schedule.window_end(_utc(now))
        until = end.timestamp() if end is not None else math.inf
        for iid in stopped:
            rec = status.record(iid)
            assert rec is not None
            status = with_record(status, replace(rec, held_until=until))
        return status

    # -- the lock ----------------------------------------------------------------------------

    @contextmanager
    def _waiting_leadership(self) -> Iterator[None]:
        """The lock for a person's command: waits out a tick in progress elsewhere."""
        deadline = time.monotonic() + COMMAND_WAIT_S
        while True:
            with self._leadership() as leading:
                if leading:
                    yield
                    return
            if time.monotonic() > deadline:
                raise ControllerBusyError("the controller lock stayed held", problem="busy")
            time.sleep(0.1)

    @contextmanager
    def _leadership(self) -> Iterator[bool]:
        token = uuid.uuid4().hex
        held = bool(
            self._redis.set(keys.ec2_controller_lock(), token, nx=True, px=self._lock_lease_ms)
        )
        try:
            yield held
        finally:
            if held:
                self._release(keys=[keys.ec2_controller_lock()], args=[token])


def _targets(status: FleetStatus, verb: Verb, instance_id: str | None) -> list[str]:
    wanted = STOPPED if verb == "start" else None
    candidates = [
        i.instance_id
        for i in status.instances
        if (i.state == wanted if wanted else i.state in UP_STATES)
        and instance_id in (None, i.instance_id)
    ]
    return candidates[:1] if verb == "start" and instance_id is None else candidates


def _why_not(status: FleetStatus, verb: Verb, instance_id: str) -> str:
    rec = status.record(instance_id)
    if rec is None:
        return "not one of the bot's instances"
    return rec.problem if rec.state == NOT_FOUND else f"it is {rec.state}"


def _stopped(rec: InstanceRecord) -> InstanceRecord:
    return replace(
        rec,
        healthy=False,
        up_since=None,
        start_requested_at=None,
        unhealthy_since=None,
        answered_since_up=False,
        ready_since=None,
    )


def _spec(settings: Settings) -> FleetSpec | None:
    try:
        return FleetSpec.parse(settings.ec2_instance_ids, settings.ec2_instance_tag)
    except ValueError as exc:
        raise ConfigError(f"EC2_INSTANCE_TAG: {exc}") from exc


def _utc(at: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(at, datetime.UTC)


class ControllerThread:
    """Ticks in a daemon thread: every `interval_s`, and at once when a request wants an
    instance (a push the controllers block on). Every worker runs one; the lock lets one act."""

    def __init__(self, controller: Ec2Controller, interval_s: float) -> None:
        self.controller = controller
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ec2-controller", daemon=True)

    def start(self) -> ControllerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self.controller.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.controller.tick(min_gap_s=self._interval_s / 2)
                self.controller.store.wait_for_wake(self._interval_s)
            except redis.RedisError as exc:
                log.warning("ec2_controller_redis_error: %s", exc)
                self._stop.wait(self._interval_s)
            except Exception:
                log.exception("ec2_controller_tick_failed")
                self._stop.wait(self._interval_s)


def start_controller_thread(settings: Settings, client: redis.Redis) -> ControllerThread | None:
    """The worker's controller thread, started; None when no EC2 instance is configured."""
    controller = Ec2Controller.from_settings(settings, client)
    if controller is None:
        return None
    return ControllerThread(controller, settings.ec2_controller_interval_s).start()


__all__ = [
    "NOT_FOUND",
    "CommandOutcome",
    "ControllerBusyError",
    "ControllerThread",
    "Ec2Controller",
    "policy_from_settings",
    "start_controller_thread",
]
