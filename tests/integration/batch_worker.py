"""A bulk-queue worker process for the batch tests: the real entrypoint's `HeartbeatWorker`
(its maintenance pass included) with a batch collector installed whose `digest_line` sink
appends each delivery to a Redis list — and, with BATCH_TEST_KILL_AT=N, SIGKILLs its own
process when the Nth delivery starts, as a crash between two deliveries would.

Run as `python -m tests.integration.batch_worker`; settings come from the environment.
"""

from __future__ import annotations

import json
import os
import signal

from chatops.payloads import BULK_QUEUE
from chatops.settings import load_settings
from gateway.batching import BatchItem
from gateway.dispatch import ItemResult
from workers import batch_collector, runtime
from workers.entrypoint import build_worker

DELIVERED = "test:batch:delivered"


def main() -> None:
    settings = load_settings()
    worker = build_worker(settings, BULK_QUEUE)
    rt = runtime.current()
    kill_at = int(os.environ.get("BATCH_TEST_KILL_AT", "0"))
    deliveries = 0

    def record(item: BatchItem, result: ItemResult) -> None:
        nonlocal deliveries
        deliveries += 1
        if deliveries == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        entry = {"item_id": item.item_id, "text": result.text, "error": result.error}
        rt.queue_redis.rpush(DELIVERED, json.dumps(entry))

    batch_collector.install(
        batch_collector.build_collector(
            rt.queue_redis,
            settings,
            complete=rt.engine.complete,
            prompts={t: p.batch_prompt() for t, p in rt.prompts.items() if p.batchable},
            sinks={"digest_line": record},
            tiers=rt.engine.gateway.tiers,
        )
    )
    worker.work(with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    main()
