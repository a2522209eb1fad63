"""What one request's reply has posted so far, and who is writing it, kept in the queue Redis.

- `ReplyState`: the root message, every message posted, the finished answer, and whether the
  reply is done. A retried job (after a crash, a kill or a Slack error) updates the messages it
  already started instead of posting a second answer, and an answer the model finished is only
  delivered again — never produced (and paid for) again.
- `ReplyLease`: one worker at a time writes a request's reply. RQ can hand a job that is still
  running to a second worker (its heartbeat lapsed during a Redis blip); the second worker then
  waits for the first to finish or to die (its lease lapses), and never answers beside it.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import redis

from gateway import keys

log = logging.getLogger(__name__)

# Long enough to outlive every retry of a job; short enough not to accumulate.
REPLY_STATE_TTL_S = 24 * 3600
# A writer renews its lease every third of this; a dead writer's lease lapses within it.
REPLY_LEASE_S = 15.0
# Compare-and-set: only the owner renews or releases.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ReplyState:
    def __init__(self, client: redis.Redis, request_id: str) -> None:
        self._client = client
        self._key = keys.reply_state(request_id)
        self.refresh()

    def refresh(self) -> None:
        raw = self._client.hgetall(self._key)
        fields = {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
        self.root_ts: str | None = fields.get("root_ts")
        self.message_ts: list[str] = json.loads(fields.get("messages", "[]"))
        self.done = fields.get("done") == "1"
        # The finished answer and its footer, once the model has produced them.
        answer = json.loads(fields["answer"]) if "answer" in fields else None
        self.answer: tuple[str, str] | None = (str(answer[0]), str(answer[1])) if answer else None
        # What the request was asked with and how it was answered, for the buttons under
        # the answer (`workers.answer_buttons.AnswerContext`, as JSON).
        self.context: str | None = fields.get("context")

    def _save(self, **fields: str) -> None:
        pipe = self._client.pipeline(transaction=False)
        mapping: dict[Any, Any] = fields  # redis-py's field types are a union a dict cannot match
        pipe.hset(self._key, mapping=mapping)
        pipe.expire(self._key, REPLY_STATE_TTL_S)
        pipe.execute()

    def set_root(self, ts: str) -> None:
        self.root_ts = ts
        self._save(root_ts=ts)

    def add_message(self, ts: str) -> None:
        self.message_ts.append(ts)
        self._save(messages=json.dumps(self.message_ts))

    def keep_answer(self, text: str, footer: str) -> None:
        """The model's finished answer: a retry delivers this instead of calling the model."""
        self.answer = (text, footer)
        self._save(answer=json.dumps([text, footer]))

    def keep_context(self, context: str) -> None:
        self.context = context
        self._save(context=context)

    def mark_done(self) -> None:
        self.done = True
        self._save(done="1")


class Lease(enum.Enum):
    OWNED = "owned"  # this worker writes the reply
    DONE = "done"  # another worker finished it meanwhile
    BUSY = "busy"  # another live worker is still writing it; leave it to them


class ReplyLease:
    """`with ReplyLease(...) as outcome:` — OWNED means write the reply; the lease is renewed
    from a thread until the block ends, then released."""

    def __init__(
        self,
        client: redis.Redis,
        request_id: str,
        owner: str,
        *,
        is_done: Callable[[], bool],
        lease_s: float = REPLY_LEASE_S,
        wait_s: float = 3 * REPLY_LEASE_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._key = keys.reply_owner(request_id)
        self._owner = owner
        self._is_done = is_done
        self._lease_ms = int(lease_s * 1000)
        self._wait_s = wait_s
        self._sleep = sleep
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.outcome = Lease.BUSY

    def __enter__(self) -> Lease:
        self.outcome = self._acquire()
        if self.outcome is Lease.OWNED:
            self._renewer = threading.Thread(target=self._renew, name="reply-lease", daemon=True)
            self._renewer.start()
        return self.outcome

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._renewer is None:
            return
        self._stop.set()
        self._renewer.join()
        try:
            self._client.eval(_RELEASE_LUA, 1, self._key, self._owner)
        except redis.RedisError:
            log.warning("lease_not_released key=%s", self._key)  # it lapses by itself

    def _acquire(self) -> Lease:
        deadline = time.monotonic() + self._wait_s
        while True:
            if self._client.set(self._key, self._owner, nx=True, px=self._lease_ms):
                return Lease.OWNED
            if self._is_done():
                return Lease.DONE
            if time.monotonic() >= deadline:
                return Lease.BUSY
            self._sleep(min(0.5, self._lease_ms / 3000))

    def _renew(self) -> None:
        while not self._stop.wait(self._lease_ms / 3000):
            try:
                self._client.eval(_RENEW_LUA, 1, self._key, self._owner, self._lease_ms)
            except redis.RedisError as exc:
                log.warning("lease_not_renewed key=%s: %s", self._key, exc)


__all__ = ["REPLY_LEASE_S", "REPLY_STATE_TTL_S", "Lease", "ReplyLease", "ReplyState"]
