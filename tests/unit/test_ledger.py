"""The cost ledger on fakeredis, and savings by lever derived from its rows."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest

from gateway import keys
from gateway.ledger import AggregateRow, Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.savings import LEVERS, Lever, record_savings, savings_by_lever
from tests.clock import next_midnight, today, today_at
from tests.ledger_rows import HAIKU, SONNET, ledger_row

NOVA = "amazon.nova-micro-v1:0"
EC2_MODEL = "llama-3.1-8b-instruct"
# Today 10:00 UTC: retention is checked against Redis's real clock.
DAY = today()
T0 = today_at(10)


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    server = fakeredis.FakeServer()
    redis_client = fakeredis.FakeRedis(server=server)
    yield redis_client
    redis_client.close()


def make_record(catalog: PriceCatalog, **overrides: Any) -> LedgerRecord:
    """A priced Bedrock row; cost and baseline computed from its tokens unless overridden."""
    values = {"input_tokens": 1_200, "output_tokens": 300, "ttft_ms": 420, "total_ms": 2_100}
    return ledger_row(catalog, overrides.pop("at", T0), **{**values, **overrides})


def test_row_round_trips_through_json(catalog: PriceCatalog) -> None:
    rec = make_record(catalog, cache_hit=True, batch_id="b-7", windows=3, estimated_usage=True)
    assert LedgerRecord.from_json(rec.to_json()) == rec
    assert LedgerRecord.from_json(rec.to_json().replace("{", '{"future_field":1,', 1)) == rec


def test_record_then_read_back_by_time_range(
    client: fakeredis.FakeRedis, catalog: PriceCatalog
) -> None:
    ledger = Ledger(client)
    first = make_record(catalog, request_id="a", at=T0)
    later = make_record(catalog, request_id="b", at=T0 + 3_600)
    next_day = make_record(catalog, request_id="c", at=T0 + 86_400)
    for rec in (next_day, first, later):
        ledger.record(rec)
    assert ledger.records(T0, T0 + 2 * 86_400) == [first, later, next_day]
    assert ledger.records(T0 + 1, T0 + 3_600) == [later]
    assert ledger.records(T0 - 86_400, T0 - 1) == []


def test_daily_aggregates_by_dimension(client: fakeredis.FakeRedis, catalog: PriceCatalog) -> None:
    ledger = Ledger(client)
    priced = make_record(catalog, request_id="a")
    hit = make_record(
        catalog, request_id="b", user="U2", cache_hit=True, cost_micro_usd=0, output_tokens=0
    )
    ec2 = make_record(catalog, request_id="c", backend="ec2", model=EC2_MODEL, cost_micro_usd=None)
    for rec in (priced, hit, ec2):
        ledger.record(rec)
    agg = ledger.aggregates(DAY)
    assert priced.cost_micro_usd is not None and priced.baseline_micro_usd is not None
    assert agg.by_dimension["model"][HAIKU] == AggregateRow(
        requests=2,
        input_tokens=2_400,
        output_tokens=300,
        cost_micro_usd=priced.cost_micro_usd,
        baseline_micro_usd=priced.baseline_micro_usd + (hit.baseline_micro_usd or 0),
        cache_hits=1,
    )
    assert agg.by_dimension["backend"]["ec2"].unpriced == 1
    assert agg.by_dimension["backend"]["ec2"].cost_micro_usd == 0
    assert set(agg.by_dimension["user"]) == {"U1", "U2"}
    assert agg.by_dimension["channel"]["C1"].requests == 3
    assert agg.total.requests == 3 and agg.total.unpriced == 1
    assert ledger.aggregates(DAY + datetime.timedelta(days=1)).total == AggregateRow()


def test_model_ids_with_colons_survive_the_field_encoding(
    client: fakeredis.FakeRedis, catalog: PriceCatalog
) -> None:
    ledger = Ledger(client)
    ledger.record(make_record(catalog, model=NOVA))
    assert NOVA in ledger.aggregates(DAY).by_dimension["model"]


def test_every_daily_key_expires_after_the_retention(
    client: fakeredis.FakeRedis, catalog: PriceCatalog
) -> None:
    Ledger(client, retention_days=30).record(make_record(catalog))
    written = sorted(k.decode() for k in client.keys("*"))
    daily = sorted(
        [keys.ledger_records(DAY.isoformat())]
        + [
            keys.ledger_aggregate(DAY.isoformat(), d)
            for d in ("user", "channel", "model", "backend")
        ]
    )
    assert written == sorted([*daily, keys.ledger_totals()])
    day_end = next_midnight(DAY)
    for key in daily:
        assert client.expiretime(key) == int(day_end) + 30 * 86_400
    assert client.ttl(keys.ledger_totals()) == -1  # monotonic counters for /metrics


def test_lifetime_totals_add_up_by_backend_and_model(
    client: fakeredis.FakeRedis, catalog: PriceCatalog
) -> None:
    ledger = Ledger(client)
    first = make_record(catalog)
    ledger.record(first)
    ledger.record(first)
    [(label, row)] = ledger.totals().items()
    assert label == (first.backend, first.model)
    assert row.requests == 2
    assert row.output_tokens == 2 * first.output_tokens
    assert row.cost_micro_usd == 2 * (first.cost_micro_usd or 0)


def test_record_is_one_multi_round_trip(
    client: fakeredis.FakeRedis, catalog: PriceCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything goes through one transactional pipeline; nothing is sent on its own."""
    pipelines: list[bool] = []
    real_pipeline = client.pipeline

    def counting_pipeline(transaction: bool = True, shard_hint: Any = None) -> Any:
        pipelines.append(transaction)
        return real_pipeline(transaction=transaction, shard_hint=shard_hint)

    def direct_command(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"record() sent {args[0]} outside its pipeline")

    monkeypatch.setattr(client, "pipeline", counting_pipeline)
    monkeypatch.setattr(client, "execute_command", direct_command)
    Ledger(client).record(make_record(catalog))
    assert pipelines == [True]


def test_retention_must_be_positive(client: fakeredis.FakeRedis) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        Ledger(client, retention_days=0)


# Savings by lever.


def test_savings_split_on_a_hand_checked_row(catalog: PriceCatalog) -> None:
    rec = make_record(
        catalog,
        input_tokens=1_000,
        cache_read_tokens=8_000,
        cache_write_tokens=0,
        output_tokens=500,
        compaction_removed_tokens=2_000,
    )
    parts = record_savings(rec, catalog)
    assert parts == {
        "no_call": 0,
        "response_cache": 0,
        "windowing": 0,
        # 2000 removed tokens at Sonnet's 3 micro-USD per input token.
        "compaction": 6_000,
        "batching": 0,
        # Sonnet -> Haiku on 9000 input and 500 output: (27000 + 7500) - (9000 + 2500).
        "right_sizing": 23_000,
        # 8000 tokens read from cache at 0.10 instead of 1.00.
        "prompt_caching": 7_200,
    }


def test_response_cache_hit_saves_the_whole_call(catalog: PriceCatalog) -> None:
    rec = make_record(catalog, cache_hit=True, cost_micro_usd=0, compaction_removed_tokens=50)
    parts = record_savings(rec, catalog)
    assert rec.baseline_micro_usd is not None
    assert parts == {
        "no_call": 0,
        "response_cache": rec.baseline_micro_usd,
        "windowing": 0,
        "compaction": 0,
        "batching": 0,
        "right_sizing": 0,
        "prompt_caching": 0,
    }


def test_a_message_that_needed_no_model_saves_what_the_naive_call_would_cost(
    catalog: PriceCatalog,
) -> None:
    rec = make_record(
        catalog,
        no_call=True,
        cost_micro_usd=0,
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        baseline_micro_usd=1_234,
    )
    parts = record_savings(rec, catalog)
    assert parts is not None
    assert parts["no_call"] == 1_234 and sum(parts.values()) == 1_234


def test_windowing_credits_the_whole_document_against_the_windowed_calls(
    catalog: PriceCatalog,
) -> None:
    # The naive way: the whole 40,000-token issue in one Sonnet call, 150 tokens out.
    naive = 40_000 * 3 + 150 * 15
    map_row = make_record(
        catalog,
        windows=5,
        input_tokens=6_000,
        output_tokens=160,
        cache_read_tokens=0,
        cache_write_tokens=0,
        uncompacted_input_tokens=6_000,
        baseline_micro_usd=0,  # the naive way makes no such call
    )
    reduce_row = make_record(
        catalog,
        windows=5,
        input_tokens=1_000,
        output_tokens=150,
        cache_read_tokens=0,
        cache_write_tokens=0,
        uncompacted_input_tokens=1_000,
        baseline_micro_usd=naive,
    )
    breakdown = savings_by_lever([map_row, reduce_row], catalog)
    # Windowing: the naive call less both windowed calls, each priced on Sonnet.
    assert breakdown.by_lever["windowing"] == naive - (6_000 * 3 + 160 * 15) - (
        1_000 * 3 + 150 * 15
    )
    assert sum(breakdown.by_lever.values()) == breakdown.saved_micro_usd


def test_unpriced_rows_are_counted_apart_never_as_free(catalog: PriceCatalog) -> None:
    priced = make_record(catalog)
    unknown = make_record(catalog, model="us.example.new-model-v1:0", cost_micro_usd=None)
    ec2 = make_record(catalog, backend="ec2", model=EC2_MODEL, cost_micro_usd=None)
    breakdown = savings_by_lever([priced, unknown, ec2], catalog)
    assert breakdown.priced_requests == 1
    assert breakdown.unpriced_requests == 2
    assert breakdown.unpriced_by_model == {"us.example.new-model-v1:0": 1, EC2_MODEL: 1}
    assert breakdown.actual_micro_usd == priced.cost_micro_usd
    assert breakdown.baseline_micro_usd == priced.baseline_micro_usd


def test_ec2_row_with_attributed_cost_credits_right_sizing(catalog: PriceCatalog) -> None:
    ec2 = make_record(catalog, backend="ec2", model=EC2_MODEL, cost_micro_usd=400)
    parts = record_savings(ec2, catalog)
    assert parts is not None and parts["prompt_caching"] == 0
    assert ec2.baseline_micro_usd is not None
    assert sum(parts.values()) == ec2.baseline_micro_usd - 400


def _random_record(rng: random.Random, catalog: PriceCatalog, n: int) -> LedgerRecord:
    model = rng.choice(
        [HAIKU, SONNET, NOVA, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", EC2_MODEL]
    )
    overrides: dict[str, Any] = {
        "request_id": f"r{n}",
        "model": model,
        "backend": "ec2" if model == EC2_MODEL else "bedrock",
        "input_tokens": rng.randint(0, 50_000),
        "output_tokens": rng.randint(0, 4_000),
        "cache_read_tokens": rng.choice([0, rng.randint(0, 100_000)]),
        "cache_write_tokens": rng.choice([0, rng.randint(0, 20_000)]),
        "compaction_removed_tokens": rng.choice([0, rng.randint(0, 30_000)]),
        "cache_hit": rng.random() < 0.15,
    }
    if overrides["cache_hit"]:
        overrides["cost_micro_usd"] = 0
    elif model == EC2_MODEL:
        overrides["cost_micro_usd"] = rng.choice([None, rng.randint(0, 5_000)])
    return make_record(catalog, **overrides)


@pytest.mark.parametrize("seed", range(25))
def test_lever_parts_always_sum_to_baseline_minus_actual(seed: int, catalog: PriceCatalog) -> None:
    rng = random.Random(seed)
    records = [_random_record(rng, catalog, n) for n in range(200)]
    for rec in records:
        parts = record_savings(rec, catalog)
        if parts is None:
            assert rec.cost_micro_usd is None
            continue
        assert rec.baseline_micro_usd is not None and rec.cost_micro_usd is not None
        assert sum(parts.values()) == rec.baseline_micro_usd - rec.cost_micro_usd
    breakdown = savings_by_lever(records, catalog)
    assert sum(breakdown.by_lever.values()) == breakdown.saved_micro_usd
    assert breakdown.priced_requests + breakdown.unpriced_requests == len(records)
    assert list(breakdown.by_lever) == [lever.name for lever in LEVERS]


def test_adding_a_lever_is_one_entry(catalog: PriceCatalog) -> None:
    """A batching lever after prompt caching: half the billed cost was shared with the batch."""
    rec = make_record(catalog, batch_id="b-1")
    assert rec.cost_micro_usd is not None
    unbatched = rec.cost_micro_usd * 2

    def billed_unbatched(r: LedgerRecord, c: PriceCatalog) -> int | None:
        return unbatched

    levers = (
        *LEVERS[:-1],
        Lever("prompt_caching", billed_unbatched),
        Lever("batching", LEVERS[-1].cost_after),
    )
    parts = record_savings(rec, catalog, levers)
    assert parts is not None
    assert parts["batching"] == rec.cost_micro_usd
    assert rec.baseline_micro_usd is not None
    assert sum(parts.values()) == rec.baseline_micro_usd - rec.cost_micro_usd


def test_lever_table_must_end_at_the_billed_cost(catalog: PriceCatalog) -> None:
    levers = (*LEVERS[:-1], Lever("prompt_caching", lambda r, c: 1))
    with pytest.raises(ValueError, match="billed cost"):
        record_savings(make_record(catalog, cost_micro_usd=5), catalog, levers)
