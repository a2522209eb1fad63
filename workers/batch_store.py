"""The batch collector's state in the queue/state Redis: pending items per group, in-flight
lists under a lease, kept results and delivery marks. Every step that moves items is one Lua
script, so an item is always in exactly one list: pending, or one flush's in-flight list.

    chatops:batch:{group}:pending     LIST    items (JSON), oldest first
    chatops:batch:{group}:scheduled   STRING  set while a flush is scheduled (expires)
    chatops:batch:groups              HASH    group digest -> group (JSON), for the sweep
    chatops:batch:flight:{flight}     LIST    the items one flush took
    chatops:batch:flights             ZSET    flight id -> lease deadline (unix ms)
    chatops:batch:answer:{item}       STRING  the item's result (JSON) once known (expires)
    chatops:batch:delivered:{item}    STRING  set once the item's sink has its result (expires)
    chatops:batch:attempts            HASH    item id -> flushes of it that failed or died

A flight id is `{group digest}-{random}`: a dead flight names the group it returns to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis

from gateway import keys
from gateway.batching import BatchGroup, BatchItem
from gateway.dispatch import ItemResult

# Kept results and delivery marks outlive any retry of the flush that made them.
KEPT_TTL_S = 2 * 86_400

# KEYS: pending, scheduled, groups. ARGV: item, group digest, group JSON, mark TTL (ms).
# Returns {pending length, 1 if this item scheduled the group's flush else 0}.
_ADD = """
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
local first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4])
if first then return {length, 1} end
return {length, 0}
"""

# KEYS: scheduled, pending, flight, flights. ARGV: most items, flight id, lease deadline (ms).
# Clears the schedule mark, so an item added from now on schedules a flush of its own.
_TAKE = """
redis.call('DEL', KEYS[1])
local taken = {}
for i = 1, tonumber(ARGV[1]) do
  local item = redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT')
  if not item then break end
  taken[#taken + 1] = item
end
if #taken > 0 then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2]) end
return {redis.call('LLEN', KEYS[2]), taken}
"""

# KEYS: flights. ARGV: flight id, new deadline (ms). 0 if the flight was already given back.
_RENEW = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

# KEYS: flight, pending, flights. ARGV: flight id, lease deadline it must not exceed (ms).
# Puts the flight's items back at the head of pending, in order; -1 if the flight is gone
# or still leased.
_RELEASE = """
local deadline = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not deadline or tonumber(deadline) > tonumber(ARGV[2]) then return -1 end
local moved = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do moved = moved + 1 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return moved
"""

# KEYS: pending, groups, flights. ARGV: group digest. Returns the items pending; forgets a
# group with none pending and none in flight (a flight's items may yet come back to it).
_SWEEP = """
local pending = redis.call('LLEN', KEYS[1])
if pending > 0 then return pending end
local prefix = ARGV[1] .. '-'
for _, flight in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if string.sub(flight, 1, #prefix) == prefix then return 0 end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 0
"""

# Released whatever its deadline (a live flush giving its items back).
ANY_DEADLINE_MS = 2**62


def flight_group(flight_id: str) -> str:
    """The group digest a flight id names."""
    return flight_id.rpartition("-")[0]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class BatchStore:
    def __init__(self, redis_client: redis.Redis) -> None:
        self._redis = redis_client
        self._add = redis_client.register_script(_ADD)
        self._take = redis_client.register_script(_TAKE)
        self._renew = redis_client.register_script(_RENEW)
        self._release = redis_client.register_script(_RELEASE)
        self._sweep = redis_client.register_script(_SWEEP)

    # -- queueing ----------------------------------------------------------------------------

    def add(self, item: BatchItem, group: BatchGroup, mark_ttl_ms: int) -> tuple[int, bool]:
        """Queue the item; (items now pending, whether the group had no flush scheduled)."""
        group_keys = [
            keys.batch_pending(group.digest),
            keys.batch_scheduled(group.digest),
            keys.batch_groups(),
        ]
        args: list[str | int] = [
            item.to_json(),
            group.digest,
            json.dumps(group.to_payload()),
            mark_ttl_ms,
        ]
        length, first = self._add(keys=group_keys, args=args)
        return int(length), bool(first)

    def mark_scheduled(self, group: BatchGroup, mark_ttl_ms: int) -> bool:
        """True if no flush of the group was scheduled, and now one is to be."""
        return bool(self._redis.set(keys.batch_scheduled(group.digest), 1, nx=True, px=mark_ttl_ms))

    def groups(self) -> dict[str, BatchGroup]:
        raw = self._redis.hgetall(keys.batch_groups())
        return {
            _text(digest): BatchGroup.from_payload(json.loads(payload))
            for digest, payload in raw.items()
        }

    def sweep(self, digest: str) -> int:
        """Items pending in the group; a group with nothing pending or in flight is forgotten."""
        group_keys = [keys.batch_pending(digest), keys.batch_groups(), keys.batch_flights()]
        return int(self._sweep(keys=group_keys, args=[digest]))

    def pending(self, digest: str) -> int:
        return int(self._redis.llen(keys.batch_pending(digest)))

    # -- flights -----------------------------------------------------------------------------

    def take(
        self, group: BatchGroup, most: int, flight_id: str, deadline_ms: int
    ) -> tuple[int, list[BatchItem]]:
        """Move up to `most` items to a new flight under a lease; (still pending, items)."""
        flight_keys = [
            keys.batch_scheduled(group.digest),
            keys.batch_pending(group.digest),
            keys.batch_flight(flight_id),
            keys.batch_flights(),
        ]
        remaining, taken = self._take(keys=flight_keys, args=[most, flight_id, deadline_ms])
        return int(remaining), [BatchItem.from_json(raw) for raw in taken]

    def renew(self, flight_id: str, deadline_ms: int) -> bool:
        return bool(self._renew(keys=[keys.batch_flights()], args=[flight_id, deadline_ms]))

    def release(self, flight_id: str, before_ms: int = ANY_DEADLINE_MS) -> int:
        """Put a flight's items back at the head of its group's queue, if its lease lapsed
        before `before_ms`; how many, or -1 when it was not released."""
        flight_keys = [
            keys.batch_flight(flight_id),
            keys.batch_pending(flight_group(flight_id)),
            keys.batch_flights(),
        ]
        return int(self._release(keys=flight_keys, args=[flight_id, before_ms]))

    def flight_items(self, flight_id: str) -> list[BatchItem]:
        return [
            BatchItem.from_json(raw)
            for raw in self._redis.lrange(keys.batch_flight(flight_id), 0, -1)
        ]

    def expired_flights(self, now_ms: int) -> list[str]:
        found = self._redis.zrangebyscore(keys.batch_flights(), "-inf", now_ms)
        return [_text(flight_id) for flight_id in found if isinstance(flight_id, str | bytes)]

    def finish(self, flight_id: str, item_ids: Sequence[str]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(keys.batch_flight(flight_id))
        pipe.zrem(keys.batch_flights(), flight_id)
        if item_ids:
            pipe.hdel(keys.batch_attempts(), *item_ids)
        pipe.execute()

    # -- results, deliveries, attempts -------------------------------------------------------

    def keep(self, item_id: str, result: ItemResult) -> None:
        value = json.dumps({"text": result.text, "error": result.error, "how": result.how})
        self._redis.set(keys.batch_answer(item_id), value, ex=KEPT_TTL_S)

    def results(self, item_ids: Sequence[str]) -> dict[str, ItemResult]:
        if not item_ids:
            return {}
        raw = self._redis.mget([keys.batch_answer(item_id) for item_id in item_ids])
        return {
            item_id: ItemResult(**json.loads(value))
            for item_id, value in zip(item_ids, raw, strict=True)
            if value is not None
        }

    def mark_delivered(self, item_id: str) -> None:
        self._redis.set(keys.batch_delivered(item_id), 1, ex=KEPT_TTL_S)

    def delivered(self, item_ids: Sequence[str]) -> set[str]:
        if not item_ids:
            return set()
        raw = self._redis.mget([keys.batch_delivered(item_id) for item_id in item_ids])
        return {item_id for item_id, value in zip(item_ids, raw, strict=True) if value}

    def attempts(self, item_ids: Sequence[str]) -> dict[str, int]:
        if not item_ids:
            return {}
        raw = self._redis.hmget(keys.batch_attempts(), list(item_ids))
        return {i: int(v) for i, v in zip(item_ids, raw, strict=True) if v is not None}

    def count_attempt(self, item_ids: Sequence[str]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for item_id in item_ids:
            pipe.hincrby(keys.batch_attempts(), item_id, 1)
        pipe.execute()


__all__ = ["ANY_DEADLINE_MS", "KEPT_TTL_S", "BatchStore", "flight_group"]
