"""Open model calls, kept in the queue Redis until they are accounted for, so that whatever ends
a call — a finished stream, any exception, a job timeout, a worker killed mid-stream — writes its
ledger row and settles its budget reservation exactly once.

    chatops:call:{call_id}   HASH  row: the ledger row as JSON with empty usage;
                                   reservation: JSON or ""; prompt_tokens: the local estimate;
                                   backend, model: the route that is answering (first token);
                                   output_chars: text streamed so far (updated as it arrives)
    chatops:calls            ZSET  call_id → lease expiry (unix seconds)

The cost engine opens a call before the model runs, renews its lease as text arrives, and closes
it with the usage the provider reported: the ledger row, the budget settlement and the deletion
of the call run in one MULTI, under WATCH of the call's key — so a call is closed once, by
whoever gets there first. A worker that dies leaves its call open; once the lease has lapsed,
`abandoned()` lists it and the engine closes it with usage estimated from what had streamed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import redis

from gateway import keys
from gateway.budgets import Reservation
from gateway.ledger import LedgerRecord
from gateway.types import Route


@dataclass(frozen=True)
class OpenCall:
    call_id: str
    row: LedgerRecord
    reservation: Reservation | None
    prompt_tokens: int
    output_chars: int = 0


class CallJournal:
    def __init__(
        self,
        client: redis.Redis,
        lease_s: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self.lease_s = lease_s
        self._clock = clock

    def open(self, call: OpenCall) -> None:
        """Record the call before the model runs (one round trip)."""
        key = keys.open_call(call.call_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(
            key,
            mapping={
                "row": call.row.to_json(),
                "reservation": json.dumps(asdict(call.reservation)) if call.reservation else "",
                "prompt_tokens": call.prompt_tokens,
                "output_chars": 0,
            },
        )
        # Outlives any lease: an abandoned call is found through the index, not by expiry.
        pipe.expire(key, 7 * 86_400)
        pipe.zadd(keys.open_calls(), {call.call_id: self._clock() + self.lease_s})
        pipe.execute()

    def progress(self, call_id: str, output_chars: int, route: Route | None = None) -> None:
        """The call is alive and has streamed this much (on `route`); renews its lease."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(keys.open_call(call_id), "output_chars", output_chars)
        if route is not None:
            pipe.hset(
                keys.open_call(call_id), mapping={"backend": route.backend, "model": route.model}
            )
        pipe.zadd(keys.open_calls(), {call_id: self._clock() + self.lease_s}, xx=True)
        pipe.execute()

    @contextmanager
    def closing(self, call_id: str) -> Iterator[redis.client.Pipeline | None]:
        """A transaction that closes the call: yields a pipeline in MULTI mode for the caller to
        queue its writes on (the ledger row, the settlement), or None when the call is already
        closed. The call's deletion is queued last and everything runs on leaving the block;
        `redis.WatchError` means someone closed it meanwhile."""
        key = keys.open_call(call_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.watch(key)  # type: ignore[no-untyped-call]
            if not pipe.exists(key):
                yield None
                return
            pipe.multi()
            yield pipe
            pipe.delete(key)
            pipe.zrem(keys.open_calls(), call_id)
            pipe.execute()

    def abandoned(self, limit: int = 50) -> list[OpenCall]:
        """Calls whose lease has lapsed: their worker died, or hung past the model's timeout."""
        ids = self._redis.zrangebyscore(keys.open_calls(), 0, self._clock(), start=0, num=limit)
        calls = []
        for raw_id in ids:
            call_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            call = self.load(call_id)
            if call is None:
                self._redis.zrem(keys.open_calls(), call_id)
            else:
                calls.append(call)
        return calls

    def load(self, call_id: str) -> OpenCall | None:
        raw = self._redis.hgetall(keys.open_call(call_id))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        if "row" not in fields:
            return None
        reservation = None
        if fields.get("reservation"):
            data = json.loads(fields["reservation"])
            reservation = Reservation(**{**data, "period_keys": tuple(data["period_keys"])})
        row = LedgerRecord.from_json(fields["row"])
        if fields.get("model"):
            row = replace(row, backend=fields.get("backend", ""), model=fields["model"])
        return OpenCall(
            call_id=call_id,
            row=row,
            reservation=reservation,
            prompt_tokens=int(fields.get("prompt_tokens", 0)),
            output_chars=int(fields.get("output_chars", 0)),
        )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["CallJournal", "OpenCall"]
