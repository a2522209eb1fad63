"""Single-flight over the response caches: N identical requests arriving together make one
model call, and every one of them sees the answer as it is written.

    flight = SingleFlight(cache, semantic=semantic_or_none)
    outcome = flight.lookup(key, freshness)
    match outcome:
        case Hit():       show outcome.answer (exact, or semantic with its match)
        case Follower():  for delta in outcome.deltas(): show delta   # then outcome.answer
        case Leader():    with outcome:  call the model, outcome.publish(delta) per delta,
                                          then outcome.finish(completion, cost_micro_usd=…)

The leader holds `SET lock NX PX` (a random token; renewed by a background thread while it
lives; released by compare-and-delete) and appends each delta to a Redis stream named by its
token, ending it with a `done` entry carrying the answer, or `fail`. Followers `XREAD BLOCK`
that stream. If the leader fails, or dies and its lease lapses, `Follower.deltas()` raises
`LeaderLostError`: look the key up again — one follower becomes the new leader, the others
follow it. Deltas a follower has shown by then belong to an answer that will not finish.

With the cache Redis down, `lookup` returns a detached `Leader` (every call makes its own
model call, nothing is shared); nothing here raises a Redis error.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis

from gateway import keys
from gateway.errors import LeaderLostError
from gateway.freshness import Freshness
from gateway.response_cache import CachedAnswer, CacheKey, PutOutcome, ResponseCache
from gateway.semantic_cache import SemanticCache, SemanticMatch
from gateway.types import Completion

log = logging.getLogger(__name__)

DEFAULT_LEASE_MS = 10_000
DEFAULT_STREAM_TTL_MS = 60_000
# Each XREAD blocks this long at most; keep it below the client's socket timeout.
DEFAULT_BLOCK_MS = 100
# The leader writes what it has for its followers at most this often.
PUBLISH_INTERVAL_S = 0.05
# A follower that hears nothing from a live leader for this long takes over anyway.
DEFAULT_IDLE_S = 60.0

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Hit:
    answer: CachedAnswer
    source: Literal["exact", "semantic"]
    # For a semantic hit: the stored question that matched, and how closely.
    match: SemanticMatch | None = None


class SingleFlight:
    def __init__(
        self,
        cache: ResponseCache,
        *,
        semantic: SemanticCache | None = None,
        lease_ms: int = DEFAULT_LEASE_MS,
        stream_ttl_ms: int = DEFAULT_STREAM_TTL_MS,
        block_ms: int = DEFAULT_BLOCK_MS,
        idle_s: float = DEFAULT_IDLE_S,
    ) -> None:
        self.cache = cache
        self.semantic = semantic
        self.lease_ms = lease_ms
        self.stream_ttl_ms = stream_ttl_ms
        self.block_ms = block_ms
        self.idle_s = idle_s
        self.client = cache.client
        self.release_script = self.client.register_script(_RELEASE)
        self.renew_script = self.client.register_script(_RENEW)

    def lookup(self, key: CacheKey, freshness: Freshness) -> Hit | Follower | Leader:
        """A stored answer, the identical request in flight to follow, or the lead."""
        if self.cache.breaker.is_open:
            return Leader(self, key, freshness, token=None)
        for _ in range(3):
            if freshness.read:
                answer = self.cache.get(key, max_age_s=freshness.max_age_s)
                if answer is not None:
                    return Hit(answer, "exact")
            token = uuid.uuid4().hex
            try:
                if self.client.set(keys.flight_lock(key.digest), token, nx=True, px=self.lease_ms):
                    return self._lead(key, freshness, token)
                holder = self.client.get(keys.flight_lock(key.digest))
            except redis.RedisError as exc:
                self.cache.breaker.trip("flight_lookup", exc)
                return Leader(self, key, freshness, token=None)
            if holder is not None:
                return Follower(self, key, holder.decode() if isinstance(holder, bytes) else holder)
            # The leader let go between our two commands: it has just finished; look again.
        return Leader(self, key, freshness, token=None)

    def _lead(self, key: CacheKey, freshness: Freshness, token: str) -> Hit | Leader:
        leader = Leader(self, key, freshness, token=token)
        if freshness.read:
            # A leader that finished just before we took the lock stored its answer.
            answer = self.cache.get(key, max_age_s=freshness.max_age_s)
            if answer is not None:
                leader.serve(answer)
                return Hit(answer, "exact")
        if self.semantic is not None and freshness.read and not key.is_follow_up:
            match = self.semantic.lookup(key, max_age_s=freshness.max_age_s)
            leader.semantic_match = match
            if match.answer is not None:
                leader.serve(match.answer)
                return Hit(match.answer, "semantic", match)
        return leader


class _Lease(threading.Thread):
    """Keeps the leader's lock (and its stream) alive while the leader's process lives."""

    def __init__(self, flight: SingleFlight, lock: str, stream: str, token: str) -> None:
        super().__init__(name="flight-lease", daemon=True)
        self._flight = flight
        self._keys = [lock, stream]
        self._token = token
        self.stopped = threading.Event()

    def run(self) -> None:
        flight = self._flight
        while not self.stopped.wait(flight.lease_ms / 3000):
            try:
                held = flight.renew_script(
                    keys=self._keys, args=[self._token, flight.lease_ms, flight.stream_ttl_ms]
                )
            except redis.RedisError:
                continue  # the lease may still lapse; followers then take over
            if not held:
                log.warning("flight_lease_lost lock=%s", self._keys[0])
                return


class Leader:
    """The request that makes the model call; followers read what it publishes."""

    def __init__(
        self, flight: SingleFlight, key: CacheKey, freshness: Freshness, *, token: str | None
    ) -> None:
        self.flight = flight
        self.key = key
        self.freshness = freshness
        self.token = token
        # Why the semantic cache had no answer (its guards' refusals are counted from here).
        self.semantic_match: SemanticMatch | None = None
        self._lock = keys.flight_lock(key.digest)
        self._stream = keys.flight_stream(key.digest, token or "")
        self._publishing = token is not None
        self._unsent: list[str] = []
        self._sent_at = float("-inf")
        self._ended = token is None
        self._lease: _Lease | None = None
        if token is not None:
            self._lease = _Lease(flight, self._lock, self._stream, token)
            self._lease.start()

    @property
    def is_shared(self) -> bool:
        """False when the cache Redis was unavailable: nobody follows this call."""
        return self.token is not None

    def publish(self, delta: str) -> None:
        """Hand text to the followers (never raises; stops sharing on an error). Deltas are
        gathered and written at most every PUBLISH_INTERVAL_S: one Redis write per token
        would cost the leader's own stream more than it gives the followers."""
        if not self._publishing or not delta:
            return
        self._unsent.append(delta)
        now = time.monotonic()
        if now - self._sent_at >= PUBLISH_INTERVAL_S:
            self._sent_at = now
            self._send_unsent()

    def _send_unsent(self) -> None:
        if not self._unsent or not self._publishing:
            return
        text, self._unsent = "".join(self._unsent), []
        try:
            self._add({"k": "d", "t": text})
        except redis.RedisError as exc:
            self._publishing = False
            self.flight.cache.breaker.trip("flight_publish", exc)

    def finish(self, completion: Completion, *, cost_micro_usd: int | None) -> PutOutcome:
        """Store the answer (if `storable` and fresh enough to keep), index it for the
        semantic cache, and give it to the followers. Returns what the cache did."""
        cache, key = self.flight.cache, self.key
        outcome = cache.put(
            key, completion, cost_micro_usd=cost_micro_usd, ttl_s=self.freshness.ttl_s
        )
        semantic = self.flight.semantic
        if outcome == "stored" and semantic is not None and not key.is_follow_up:
            vector = self.semantic_match.vector if self.semantic_match else None
            semantic.remember(key, self.freshness.ttl_s, vector=vector)
        answer = CachedAnswer.of(key, completion, cost_micro_usd=cost_micro_usd, now=cache.clock())
        self._end({"k": "done", "a": answer.to_json()})
        return outcome

    def fail(self) -> None:
        """The call failed: followers stop waiting and take over."""
        self._end({"k": "fail"})

    def serve(self, answer: CachedAnswer) -> None:
        """End the flight with an answer found in a cache (no model call)."""
        self.publish(answer.text)
        self._end({"k": "done", "a": answer.to_json()})

    def __enter__(self) -> Leader:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._ended:
            self.fail()

    def _add(self, fields: dict[str, str]) -> None:
        pipe = self.flight.client.pipeline(transaction=False)
        pipe.xadd(self._stream, fields)  # type: ignore[arg-type]
        pipe.pexpire(self._stream, self.flight.stream_ttl_ms)
        pipe.execute()

    def _end(self, fields: dict[str, str]) -> None:
        if self._ended:
            return
        self._ended = True
        if self._lease is not None:
            self._lease.stopped.set()
        if fields.get("k") == "done":
            self._send_unsent()
        try:
            # The end marker goes first: a follower that sees the lock gone reads it next.
            self._add(fields)
            self.flight.release_script(keys=[self._lock], args=[self.token or ""])
        except redis.RedisError as exc:
            self.flight.cache.breaker.trip("flight_end", exc)


class Follower:
    """An identical request in flight: its deltas as the leader writes them."""

    def __init__(self, flight: SingleFlight, key: CacheKey, token: str) -> None:
        self.flight = flight
        self.key = key
        self.token = token
        self.answer: CachedAnswer | None = None
        self._lock = keys.flight_lock(key.digest)
        self._stream = keys.flight_stream(key.digest, token)

    def deltas(self) -> Iterator[str]:
        """Yields the leader's deltas as they arrive; afterwards `answer` holds the whole
        answer. Raises `LeaderLostError` if the leader fails or its lease lapses."""
        last_id, shown, idle_since = "0-0", "", time.monotonic()
        final_look = False
        while True:
            entries = self._read(last_id, block=not final_look)
            for entry_id, fields in entries:
                last_id = entry_id.decode()
                kind = fields.get(b"k")
                if kind == b"d":
                    text = fields.get(b"t", b"").decode()
                    shown += text
                    yield text
                elif kind == b"done":
                    yield from self._finish(fields, shown)
                    return
                else:
                    raise LeaderLostError("the leader's call failed")
            if entries:
                idle_since = time.monotonic()
                continue
            if final_look:
                raise LeaderLostError("the leader's lease lapsed before it finished")
            if time.monotonic() - idle_since > self.flight.idle_s or not self._leader_alive():
                # One last read: a leader that just finished wrote `done` before letting go.
                final_look = True

    def _read(self, last_id: str, *, block: bool) -> list[tuple[bytes, dict[bytes, bytes]]]:
        try:
            reply = self.flight.client.xread(
                {self._stream: last_id},
                count=256,
                block=self.flight.block_ms if block else None,
            )
        except redis.RedisError as exc:
            raise LeaderLostError(f"cache unavailable while following: {exc}") from exc
        # redis-py types XREAD loosely: [[stream, [(id, {field: value}), …]], …]
        streams: list[Any] = list(reply or [])
        return [entry for _, stream_entries in streams for entry in stream_entries]

    def _leader_alive(self) -> bool:
        try:
            holder = self.flight.client.get(self._lock)
        except redis.RedisError:
            return False
        return (
            holder is not None
            and (holder.decode() if isinstance(holder, bytes) else holder) == self.token
        )

    def _finish(self, fields: dict[bytes, bytes], shown: str) -> Iterator[str]:
        try:
            self.answer = CachedAnswer.from_json(fields.get(b"a", b""))
        except (ValueError, KeyError, TypeError) as exc:
            raise LeaderLostError("the leader's answer was unreadable") from exc
        # Deltas the leader could not publish (its Redis blipped) arrive with the answer.
        if self.answer.text.startswith(shown) and len(self.answer.text) > len(shown):
            yield self.answer.text[len(shown) :]


__all__ = ["Follower", "Hit", "Leader", "SingleFlight"]
