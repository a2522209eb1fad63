"""Running one batch: packed with re-runs of what failed, concurrent and bounded, or one by one
with the lever off — every item given exactly one result."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable

import pytest

from gateway.batching import BatchItem, Strategy
from gateway.dispatch import Dispatcher, DispatchReport, ItemResult
from gateway.engine import Metered
from gateway.errors import AllRoutesFailedError, BudgetExceededError, RequestRejectedError
from gateway.types import LLMRequest
from prompts import load_prompt
from tests.batch_items import EmulatedModel, RecordingSink, code_word, digest_item

PROMPT = load_prompt("digest_item").batch_prompt()
STRATEGIES: dict[str, Strategy] = {"bedrock": "packed", "ec2": "concurrent"}


def _run(
    model: Callable[[LLMRequest, Callable[[str], None]], Metered],
    items: list[BatchItem],
    backend: str = "bedrock",
    *,
    concurrency: int = 4,
    packing: bool = True,
) -> tuple[RecordingSink, DispatchReport]:
    sink = RecordingSink()
    dispatcher = Dispatcher(model, strategies=STRATEGIES, concurrency=concurrency, packing=packing)
    report = dispatcher.run(PROMPT, items, backend=backend, batch_id="b-1", on_result=sink)
    return sink, report


def _each_answered_once_with_its_own_text(sink: RecordingSink, items: list[BatchItem]) -> None:
    assert sorted(sink.got) == sorted(item.item_id for item in items)
    for n, item in enumerate(items):
        [result] = sink.got[item.item_id]
        assert result.ok and code_word(n) in result.text
        others = [code_word(k) for k in range(len(items)) if k != n]
        assert not any(word in result.text for word in others)


def test_a_packed_batch_is_one_call() -> None:
    model, items = EmulatedModel(), [digest_item(n) for n in range(6)]
    sink, report = _run(model, items)
    assert len(model.requests) == 1 and report.calls == 1
    _each_answered_once_with_its_own_text(sink, items)
    assert {r.how for rs in sink.got.values() for r in rs} == {"packed"}


@pytest.mark.parametrize(
    ("fault", "again"),
    [
        ("reply_shuffled", []),
        ("reply_short", [5]),
        ("reply_duplicated", [0, 1]),
        ("reply_garbled", [0]),
        ("reply_malformed", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_items_whose_packed_answer_failed_run_again_alone(fault: str, again: list[int]) -> None:
    model, items = EmulatedModel(), [digest_item(n) for n in range(6)]
    model.reply_faults = [fault]
    sink, report = _run(model, items)

    _each_answered_once_with_its_own_text(sink, items)
    assert report.reruns == tuple(items[n].item_id for n in again)
    assert len(model.requests) == 1 + len(again)
    reruns = model.requests[1:]
    assert all(r.batch is not None and r.batch.rerun and r.batch.items == 1 for r in reruns)
    assert sorted(r.request_id for r in reruns) == sorted(items[n].request_id for n in again)
    for n in again:
        assert sink.got[items[n].item_id][0].how == "rerun"


def test_a_refused_packed_request_runs_every_item_alone() -> None:
    model, items = EmulatedModel(), [digest_item(n) for n in range(3)]
    model.errors = [RequestRejectedError("too long")]
    sink, report = _run(model, items)
    _each_answered_once_with_its_own_text(sink, items)
    assert report.calls == 4


def test_an_item_the_model_refuses_gets_the_reason() -> None:
    model, items = EmulatedModel(), [digest_item(n) for n in range(3)]
    refusal = BudgetExceededError(
        scope="user",
        budget_name="your daily budget",
        remaining_micro_usd=1_000,
        resets_at=datetime.datetime.now(datetime.UTC),
    )
    model.errors = [refusal]
    sink, _ = _run(model, items, backend="ec2", concurrency=1)
    results = [sink.got[item.item_id] for item in items]
    assert [len(r) for r in results] == [1, 1, 1]
    assert results[0][0] == ItemResult(error=refusal.public_message, how="concurrent")
    assert results[1][0].ok and results[2][0].ok


def test_a_retryable_failure_propagates_after_the_others_reported() -> None:
    model, items = EmulatedModel(), [digest_item(n) for n in range(4)]
    model.errors = [AllRoutesFailedError("down", failovers=())]
    sink = RecordingSink()
    dispatcher = Dispatcher(model, strategies={"ec2": "concurrent"}, concurrency=2)
    with pytest.raises(AllRoutesFailedError):
        dispatcher.run(PROMPT, items, backend="ec2", batch_id="b-1", on_result=sink)
    assert len(sink.got) == 3


class _SlowModel(EmulatedModel):
    """Counts the calls in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = self.peak = 0
        self._count = threading.Lock()

    def __call__(self, request: LLMRequest, on_delta: Callable[[str], None]) -> Metered:
        with self._count:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.03)
        try:
            return super().__call__(request, on_delta)
        finally:
            with self._count:
                self.in_flight -= 1


def test_concurrent_dispatch_sends_each_item_alone_at_most_n_at_a_time() -> None:
    model, items = _SlowModel(), [digest_item(n) for n in range(9)]
    sink, report = _run(model, items, backend="ec2", concurrency=3)
    _each_answered_once_with_its_own_text(sink, items)
    assert len(model.requests) == 9 and report.strategy == "concurrent"
    assert all(r.batch is not None and r.batch.items == 1 for r in model.requests)
    assert 1 < model.peak <= 3


def test_with_the_lever_off_items_run_one_by_one() -> None:
    model, items = _SlowModel(), [digest_item(n) for n in range(4)]
    sink, report = _run(model, items, packing=False)
    _each_answered_once_with_its_own_text(sink, items)
    assert (len(model.requests), model.peak, report.strategy) == (4, 1, "single")


def test_a_backend_without_a_setting_is_packed() -> None:
    dispatcher = Dispatcher(EmulatedModel(), strategies={}, concurrency=2)
    assert dispatcher.strategy_for("bedrock") == "packed"
