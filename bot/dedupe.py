"""Slack delivers some events more than once: retries of an unacknowledged event (same
`event_id`), and an @mention both as `app_mention` and as `message` (same channel and ts).

A delivery first *claims* every identity it has, briefly, in one round trip; any other
delivery of the same message then loses. The claim is made lasting in the same transaction
that enqueues the job, and released when the enqueue fails — so a delivery the queue could not
take leaves nothing behind, and Slack's retry of it is taken, not dropped as a duplicate. If
even the release fails (Redis went away), the claim lapses by itself before Slack retries.
"""

from __future__ import annotations

import logging

import redis

from gateway import keys

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 24 * 3600
# Shorter than Slack's first retry (about a minute after a failed delivery).
CLAIM_TTL_S = 30

Identity = tuple[str, str]


class Deduper:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def claim(self, *identities: Identity) -> bool:
        """True when no other delivery has any of these identities; claims them briefly."""
        pipe = self._client.pipeline(transaction=False)
        for kind, identity in identities:
            pipe.set(keys.dedupe(kind, identity), 1, nx=True, ex=CLAIM_TTL_S)
        return all(pipe.execute())

    def keep(self, pipe: redis.client.Pipeline, *identities: Identity) -> None:
        """Queue, on the caller's transaction, what makes the claims last a day."""
        for kind, identity in identities:
            pipe.expire(keys.dedupe(kind, identity), DEDUPE_TTL_S)

    def release(self, *identities: Identity) -> None:
        try:
            self._client.delete(*(keys.dedupe(kind, identity) for kind, identity in identities))
        except redis.RedisError:
            log.warning("claim_not_released: it lapses in %d s", CLAIM_TTL_S)


__all__ = ["CLAIM_TTL_S", "DEDUPE_TTL_S", "Deduper", "Identity"]
