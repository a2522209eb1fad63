"""What one request's reply has posted so far, kept in the queue Redis so a retried job (after
a crash or a kill) updates the messages it already started instead of posting a second answer."""

from __future__ import annotations

import json

import redis

from gateway import keys

# Long enough to outlive every retry of a job; short enough not to accumulate.
REPLY_STATE_TTL_S = 24 * 3600


class ReplyState:
    def __init__(self, client: redis.Redis, request_id: str) -> None:
        self._client = client
        self._key = keys.reply_state(request_id)
        raw = client.hgetall(self._key)
        fields = {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
        self.root_ts: str | None = fields.get("root_ts")
        self.message_ts: list[str] = json.loads(fields.get("messages", "[]"))
        self.done = fields.get("done") == "1"

    def _save(self, **fields: str) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.hset(self._key, mapping=fields)
        pipe.expire(self._key, REPLY_STATE_TTL_S)
        pipe.execute()

    def set_root(self, ts: str) -> None:
        self.root_ts = ts
        self._save(root_ts=ts)

    def add_message(self, ts: str) -> None:
        self.message_ts.append(ts)
        self._save(messages=json.dumps(self.message_ts))

    def mark_done(self) -> None:
        self.done = True
        self._save(done="1")


__all__ = ["REPLY_STATE_TTL_S", "ReplyState"]
