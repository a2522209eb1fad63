"""The self-hosted instances as requests see them: whether one is ready, and which one answers.

The instance controller (`workers.ec2_controller`) saves its view of the fleet after each tick
(`FleetStore.save`): every instance's EC2 state, whether its model server answers, its URL,
what the controller remembers between ticks (when it started it, since when it has not
answered, its last fault and when to try again) and what it last did. Requests read it:

- `Ec2Fleet.availability(route)` is the gateway's hook. None when an instance is ready;
  otherwise why not (`ec2 starting`, `ec2 stopped`, `ec2 unavailable`), and the want of an
  instance is left for the controller (a demand time and a wake-up push). The gateway then
  takes the tier's next route: no request waits for a boot.
- `Ec2FleetBackend` is the `ec2` backend. It picks the ready instance with the fewest calls in
  flight (`gateway.ec2_policy.pick_instance`), holds a lease there while it streams (so a
  killed worker's call stops counting once the lease lapses), streams from that instance's
  OpenAI-compatible server, and counts the request served and when it was sent.

Everything lives in the queue Redis (keys in `gateway.keys`): every worker shares one view.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import redis

from gateway import keys
from gateway.backends.openai_compat import OpenAICompatBackend
from gateway.ec2_client import FleetSpec
from gateway.ec2_policy import InstanceView, pick_instance, unavailable_reason
from gateway.errors import BackendUnavailableError, ConfigError
from gateway.ledger import DEFAULT_RETENTION_DAYS
from gateway.pricing import EC2_BACKEND
from gateway.types import Backend, Delta, LLMRequest, Route, Usage

log = logging.getLogger(__name__)

# A call counts in flight on its instance until it ends, or this long after it began.
IN_FLIGHT_LEASE_S = 600.0
_DAY_S = 86_400


@dataclass(frozen=True)
class InstanceRecord:
    """One instance in the saved view; times are unix seconds."""

    instance_id: str
    state: str
    url: str = ""
    healthy: bool = False
    up_since: float | None = None
    start_requested_at: float | None = None
    unhealthy_since: float | None = None
    answered_since_up: bool = False
    ready_since: float | None = None
    retry_at: float | None = None
    held_until: float | None = None
    # The last fault, in a few words, and when: shown by `status`.
    problem: str = ""
    problem_at: float | None = None
    # The controller's last start or stop of it, and why.
    last_action: str = ""
    last_action_at: float | None = None

    def view(self, in_flight: int = 0, last_sent_at: float | None = None) -> InstanceView:
        """What the policy sees of it."""
        return InstanceView(
            instance_id=self.instance_id,
            state=self.state,
            healthy=self.healthy,
            in_flight=in_flight,
            up_since=self.up_since,
            start_requested_at=self.start_requested_at,
            unhealthy_since=self.unhealthy_since,
            answered_since_up=self.answered_since_up,
            ready_since=self.ready_since,
            last_sent_at=last_sent_at,
            retry_at=self.retry_at,
            held_until=self.held_until,
        )


@dataclass(frozen=True)
class FleetStatus:
    """The controller's last view; `observed_at` None: no controller has run yet."""

    observed_at: float | None = None
    instances: tuple[InstanceRecord, ...] = ()
    overloaded_since: float | None = None
    # A fault that hides the whole fleet (DescribeInstances refused), in a few words.
    problem: str = ""

    def record(self, instance_id: str) -> InstanceRecord | None:
        return next((i for i in self.instances if i.instance_id == instance_id), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> FleetStatus:
        """Unknown fields are ignored, so a controller of an older release can still read it."""
        data = json.loads(raw)
        names = {f.name for f in fields(InstanceRecord)}
        instances = tuple(
            InstanceRecord(**{k: v for k, v in item.items() if k in names})
            for item in data.get("instances", [])
        )
        return cls(
            observed_at=data.get("observed_at"),
            instances=instances,
            overloaded_since=data.get("overloaded_since"),
            problem=data.get("problem", ""),
        )


@dataclass(frozen=True)
class Assignment:
    """A call given to one instance, holding its place in that instance's in-flight count."""

    instance_id: str
    url: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


class FleetStore:
    """The fleet's shared state in the queue Redis."""

    def __init__(self, client: redis.Redis, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._redis = client
        self._retention_s = retention_days * _DAY_S

    def load(self) -> FleetStatus:
        raw = self._redis.get(keys.ec2_fleet())
        return FleetStatus() if raw is None else FleetStatus.from_json(raw)

    def save(self, status: FleetStatus) -> None:
        self._redis.set(keys.ec2_fleet(), status.to_json())

    def in_flight(self, instance_ids: Sequence[str], now: float) -> dict[str, int]:
        pipe = self._redis.pipeline(transaction=False)
        for instance_id in instance_ids:
            pipe.zcount(keys.ec2_in_flight(instance_id), f"({now!r}", "+inf")
        return {iid: int(n) for iid, n in zip(instance_ids, pipe.execute(), strict=True)}

    def last_sent(self) -> dict[str, float]:
        raw = self._redis.hgetall(keys.ec2_last_sent())
        return {_text(k): float(v) for k, v in raw.items()}

    def begin(self, assignment: Assignment, now: float, lease_s: float) -> None:
        pipe = self._redis.pipeline(transaction=False)
        in_flight = keys.ec2_in_flight(assignment.instance_id)
        pipe.zadd(in_flight, {assignment.token: now + lease_s})
        pipe.zremrangebyscore(in_flight, "-inf", f"({now!r}")
        pipe.hset(keys.ec2_last_sent(), assignment.instance_id, repr(now))
        pipe.execute()

    def end(self, assignment: Assignment, now: float, served: bool) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(keys.ec2_in_flight(assignment.instance_id), assignment.token)
        if served:
            served_key = keys.ec2_served(_day(now))
            pipe.hincrby(served_key, assignment.instance_id, 1)
            pipe.expire(served_key, self._retention_s)
        pipe.execute()

    def served(self, day: datetime.date) -> dict[str, int]:
        raw = self._redis.hgetall(keys.ec2_served(day.isoformat()))
        return {_text(k): int(v) for k, v in raw.items()}

    def note_demand(self, now: float) -> bool:
        """Remember the first unmet request and wake a controller; True if this was it."""
        if not self._redis.set(keys.ec2_demand(), repr(now), nx=True):
            return False
        pipe = self._redis.pipeline(transaction=False)
        pipe.lpush(keys.ec2_wake(), "1")
        pipe.ltrim(keys.ec2_wake(), 0, 0)
        pipe.execute()
        return True

    def take_demand(self) -> float | None:
        raw = self._redis.getdel(keys.ec2_demand())
        return None if raw is None else float(raw)

    def wait_for_wake(self, timeout_s: float) -> bool:
        """Block until a request wants an instance, or `timeout_s` passes."""
        return self._redis.blpop([keys.ec2_wake()], timeout=timeout_s) is not None


class Ec2Fleet:
    """The request side of the fleet: the gateway's availability hook and instance picking."""

    def __init__(
        self,
        store: FleetStore,
        *,
        clock: Callable[[], float] = time.time,
        lease_s: float = IN_FLIGHT_LEASE_S,
    ) -> None:
        self.store = store
        self._clock = clock
        self._lease_s = lease_s

    @classmethod
    def from_settings(cls, settings: Any, client: redis.Redis) -> Ec2Fleet | None:
        """None when no instance is configured (`EC2_INSTANCE_IDS`, `EC2_INSTANCE_TAG`): the
        ec2 backend then talks to `EC2_LLM_BASE_URL` as before."""
        try:
            spec = FleetSpec.parse(settings.ec2_instance_ids, settings.ec2_instance_tag)
        except ValueError as exc:
            raise ConfigError(f"EC2_INSTANCE_TAG: {exc}") from exc
        if spec is None:
            return None
        return cls(FleetStore(client, settings.ledger_retention_days))

    def availability(self, route: Route) -> str | None:
        """The gateway's hook: why `route` cannot take a request now, or None."""
        if route.backend != EC2_BACKEND:
            return None
        now = self._clock()
        try:
            status = self.store.load()
        except redis.RedisError as exc:
            log.warning("ec2_fleet_unreadable: %s", exc)
            return None
        reason = unavailable_reason([i.view() for i in status.instances], now)
        if reason is not None and not any(i.view().is_up for i in status.instances):
            try:
                self.store.note_demand(now)
            except redis.RedisError as exc:
                log.warning("ec2_demand_not_noted: %s", exc)
        return reason

    def acquire(self) -> Assignment | None:
        """The ready instance with the fewest calls in flight, counted in flight there now."""
        now = self._clock()
        status = self.store.load()
        ready = [i for i in status.instances if i.view().is_ready]
        if not ready:
            return None
        counts = self.store.in_flight([i.instance_id for i in ready], now)
        chosen = pick_instance([i.view(counts[i.instance_id]) for i in ready])
        assert chosen is not None
        record = next(i for i in ready if i.instance_id == chosen.instance_id)
        assignment = Assignment(record.instance_id, record.url)
        self.store.begin(assignment, now, self._lease_s)
        return assignment

    def release(self, assignment: Assignment, *, served: bool) -> None:
        try:
            self.store.end(assignment, self._clock(), served)
        except redis.RedisError as exc:
            log.warning("ec2_in_flight_not_released instance=%s: %s", assignment.instance_id, exc)


class Ec2FleetBackend:
    """The `ec2` backend over several instances: each call streams from the one `Ec2Fleet`
    picks, through a per-URL OpenAI-compatible backend made by `backend_for_url`."""

    name = EC2_BACKEND

    def __init__(self, fleet: Ec2Fleet, backend_for_url: Callable[[str], Backend]) -> None:
        self._fleet = fleet
        self._backend_for_url = backend_for_url
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, fleet: Ec2Fleet) -> Ec2FleetBackend:
        """Per-instance clients built exactly as `OpenAICompatBackend.from_settings` builds
        its one (timeouts, API key, no SDK retries), at each instance's URL."""

        def backend_for_url(url: str) -> Backend:
            return OpenAICompatBackend.from_settings(
                settings.model_copy(update={"ec2_llm_base_url": url})
            )

        return cls(fleet, backend_for_url)

    def stream(self, request: LLMRequest, model: str) -> Iterator[Delta | Usage]:
        try:
            assignment = self._fleet.acquire()
        except redis.RedisError as exc:
            raise BackendUnavailableError(f"ec2 {model}: fleet state unreadable") from exc
        if assignment is None:
            raise BackendUnavailableError(f"ec2 {model}: no instance ready")
        served = False
        try:
            for item in self._backend(assignment.url).stream(request, model):
                served = True
                yield item
        finally:
            self._fleet.release(assignment, served=served)

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()

    def _backend(self, url: str) -> Backend:
        with self._lock:
            backend = self._backends.get(url)
            if backend is None:
                backend = self._backends[url] = self._backend_for_url(url)
            return backend


def with_record(status: FleetStatus, record: InstanceRecord) -> FleetStatus:
    """`status` with `record` in place of the instance of the same id (or added)."""
    if status.record(record.instance_id) is None:
        return replace(status, instances=(*status.instances, record))
    instances = [record if i.instance_id == record.instance_id else i for i in status.instances]
    return replace(status, instances=tuple(instances))


def _day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).date().isoformat()


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


__all__ = [
    "IN_FLIGHT_LEASE_S",
    "Assignment",
    "Ec2Fleet",
    "Ec2FleetBackend",
    "FleetStatus",
    "FleetStore",
    "InstanceRecord",
    "with_record",
]
