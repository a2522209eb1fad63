"""Running one batch of items through the cost engine: packed into one call, or sent as
bounded concurrent requests.

Which way depends on the backend that serves the batch's model (a setting per backend):
- `packed` (Bedrock's default): one call whose prompt numbers the items and whose answer is a
  JSON array (`gateway.batching`); the shared instruction is paid once instead of per item.
  Items whose answers come back missing, garbled or duplicated — or all of them, when the
  packed request itself is refused — run again alone, each recorded as a re-run.
- `concurrent` (the EC2 server's default): each item its own request, at most `concurrency`
  at a time. A vLLM-style server batches concurrent requests on the GPU (continuous batching),
  so throughput grows with concurrency while each item keeps its own short prompt.
With the `batching` lever off, items run one by one: the naive baseline.

Every item gets exactly one result through `on_result`, as soon as it is known: an answer, or
— when a model refuses that item (`UserFacingError`) — the refusal's public message. Any other
failure propagates once the calls in flight have finished; results already reported stand, so
a retry only runs what is left. Model calls go through the injected `complete` (the engine's
`CostEngine.complete`), so every one lands in the ledger with its batch tag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from gateway.batching import BatchItem, BatchPrompt, Strategy, Unpacked, pack, single, unpack
from gateway.engine import Metered
from gateway.errors import UserFacingError
from gateway.types import LLMRequest

log = logging.getLogger(__name__)

Complete = Callable[[LLMRequest, Callable[[str], None]], Metered]
# How an item got its result; `given_up` is the collector's, after too many failed flushes.
How = Literal["packed", "rerun", "concurrent", "single", "given_up"]


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: its answer, or the public reason it could not be answered."""

    text: str = ""
    error: str = ""
    how: How = "single"

    @property
    def ok(self) -> bool:
        return not self.error


OnResult = Callable[[BatchItem, ItemResult], None]


@dataclass(frozen=True)
class DispatchReport:
    batch_id: str
    strategy: str
    calls: int
    # Items run again alone after their packed answer failed (item ids).
    reruns: tuple[str, ...] = ()
    unpacked: Unpacked | None = None


def _ignore(_: str) -> None:
    pass


class Dispatcher:
    def __init__(
        self,
        complete: Complete,
        *,
        strategies: Mapping[str, Strategy],
        concurrency: int,
        packing: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        self._complete = complete
        self._strategies = dict(strategies)
        self._concurrency = concurrency
        self._packing = packing

    def strategy_for(self, backend: str) -> Strategy:
        """A backend with no setting is packed: one call is never dearer than several."""
        return self._strategies.get(backend, "packed")

    def run(
        self,
        prompt: BatchPrompt,
        items: Sequence[BatchItem],
        *,
        backend: str,
        batch_id: str,
        on_result: OnResult,
    ) -> DispatchReport:
        if not items:
            return DispatchReport(batch_id, "none", 0)
        if not self._packing:
            calls = self._alone(prompt, items, batch_id, on_result, "single", limit=1)
            return DispatchReport(batch_id, "single", calls)
        strategy = self.strategy_for(backend)
        if strategy == "concurrent":
            calls = self._alone(prompt, items, batch_id, on_result, "concurrent")
            return DispatchReport(batch_id, strategy, calls)
        if len(items) == 1:
            calls = self._alone(prompt, items, batch_id, on_result, "single")
            return DispatchReport(batch_id, strategy, calls)
        return self._packed(prompt, items, batch_id, on_result)

    def _packed(
        self,
        prompt: BatchPrompt,
        items: Sequence[BatchItem],
        batch_id: str,
        on_result: OnResult,
    ) -> DispatchReport:
        try:
            metered = self._complete(pack(prompt, items, batch_id), _ignore)
        except UserFacingError as exc:
            # The packed request was refused (too large, rejected): each item may still pass.
            log.warning("batch_refused batch_id=%s items=%d: %s", batch_id, len(items), exc)
            unpacked = Unpacked({}, missing=tuple(range(1, len(items) + 1)))
        else:
            unpacked = unpack(metered.completion.text, len(items))
        for number, answer in unpacked.answers.items():
            on_result(items[number - 1], ItemResult(answer, how="packed"))
        again = [items[number - 1] for number in unpacked.rerun]
        if again:
            log.warning(
                "batch_rerun batch_id=%s missing=%s garbled=%s duplicated=%s strays=%d",
                batch_id,
                list(unpacked.missing),
                list(unpacked.garbled),
                list(unpacked.duplicated),
                unpacked.strays,
            )
        calls = 1 + self._alone(prompt, again, batch_id, on_result, "rerun")
        return DispatchReport(
            batch_id, "packed", calls, tuple(item.item_id for item in again), unpacked
        )

    def _alone(
        self,
        prompt: BatchPrompt,
        items: Sequence[BatchItem],
        batch_id: str,
        on_result: OnResult,
        how: How,
        limit: int | None = None,
    ) -> int:
        """Each item its own call, at most `limit` (default: the concurrency) at a time."""
        if not items:
            return 0
        workers = min(limit or self._concurrency, len(items))
        rerun = how == "rerun"

        def one(item: BatchItem) -> None:
            request = single(prompt, item, batch_id, rerun=rerun)
            try:
                text = self._complete(request, _ignore).completion.text
            except UserFacingError as exc:
                on_result(item, ItemResult(error=exc.public_message, how=how))
                return
            on_result(item, ItemResult(text, how=how))

        if workers == 1:
            for item in items:
                one(item)
            return len(items)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
            futures = [pool.submit(one, item) for item in items]
        failures = [exc for exc in (f.exception() for f in futures) if exc is not None]
        if failures:
            raise failures[0]
        return len(items)


__all__ = [
    "Complete",
    "DispatchReport",
    "Dispatcher",
    "How",
    "ItemResult",
    "OnResult",
    "Strategy",
]
