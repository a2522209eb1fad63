"""Slack delivers some events more than once: retries of an unacknowledged event (same
`event_id`), and an @mention both as `app_mention` and as `message` (same channel and ts).
The first delivery claims every identity it has in one round trip; any later one loses."""

from __future__ import annotations

import redis

from gateway import keys

DEDUPE_TTL_S = 24 * 3600


class Deduper:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def first_time(self, *identities: tuple[str, str]) -> bool:
        pipe = self._client.pipeline(transaction=False)
        for kind, identity in identities:
            pipe.set(keys.dedupe(kind, identity), 1, nx=True, ex=DEDUPE_TTL_S)
        return all(pipe.execute())


__all__ = ["DEDUPE_TTL_S", "Deduper"]
