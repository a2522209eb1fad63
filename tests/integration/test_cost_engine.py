"""The cost engine through the real boto3 client, the Bedrock emulator and a real Redis:
every call lands in the ledger with its four counters and a cost equal to a hand
computation from the price list."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from chatops.settings import Settings
from chatops.wiring import build_engine
from gateway.engine import CostEngine
from gateway.errors import BudgetExceededError, StreamInterruptedError
from gateway.ledger import Ledger
from gateway.tokens import estimate_tokens
from gateway.types import LLMRequest, Message
from sandbox.bedrock import BedrockEmulator
from sandbox.server import Fault

SYSTEM = "Runbook excerpt for the payments platform. " * 500  # 5,500 tokens: above 4,096


def _ignore(_: str) -> None:
    pass


@pytest.fixture
def engine(settings: Settings, redis_url: str) -> Iterator[CostEngine]:
    engine = build_engine(settings, redis.Redis.from_url(redis_url))
    yield engine
    engine.gateway.close()


def _ask(question: str, **fields: object) -> LLMRequest:
    return LLMRequest(
        task="ask",
        system=SYSTEM,
        messages=(Message("user", question),),
        tier="medium",
        override_tier="medium",
        max_output_tokens=200,
        cache_system=True,
        request_id=f"r-{question}",
        user="U_ALICE",
        channel="C_OPS",
        workspace="T_DEMO",
        source="slash",
        **fields,  # type: ignore[arg-type]
    )


def test_cache_write_then_read_is_priced_exactly(engine: CostEngine, redis_url: str) -> None:
    first = engine.complete(_ask("What is step one?"), _ignore)
    second = engine.complete(_ask("And step two?"), _ignore)

    rows = Ledger(redis.Redis.from_url(redis_url)).records(time.time() - 60, time.time() + 1)
    assert [r.request_id for r in rows] == ["r-What is step one?", "r-And step two?"]
    prefix = estimate_tokens(SYSTEM)
    first_row, second_row = rows
    assert (first_row.cache_write_tokens, first_row.cache_read_tokens) == (prefix, 0)
    assert (second_row.cache_write_tokens, second_row.cache_read_tokens) == (0, prefix)
    # Claude Haiku 4.5, global profile, USD per 1M tokens == micro-USD per token:
    # input 1.00, output 5.00, cache write 1.25, cache read 0.10.
    for row in rows:
        expected = (
            row.input_tokens * 1.00
            + row.output_tokens * 5.00
            + row.cache_write_tokens * 1.25
            + row.cache_read_tokens * 0.10
        )
        assert row.cost_micro_usd == round(expected)
        assert row.model == "global.anthropic.claude-haiku-4-5-20251001-v1:0"
        # The naive way: Sonnet 4.5 (global: 3.00 / 15.00), every input token uncached.
        naive = row.total_input_tokens * 3.00 + row.output_tokens * 15.00
        assert row.baseline_micro_usd == round(naive)
    assert first.cost_micro_usd == first_row.cost_micro_usd
    assert second.cost_micro_usd == second_row.cost_micro_usd
    assert (second_row.cost_micro_usd or 0) < (first_row.cost_micro_usd or 0)


def test_levers_off_runs_the_naive_way(settings: Settings, redis_url: str) -> None:
    naive = build_engine(
        settings.model_copy(update={"levers": "none"}), redis.Redis.from_url(redis_url)
    )
    metered = naive.complete(_ask("Naive?"), _ignore)
    naive.gateway.close()

    row = metered.record
    assert row.model == "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert row.tier_reason == "levers off: strongest tier"
    assert (row.cache_read_tokens, row.cache_write_tokens) == (0, 0)
    assert row.cost_micro_usd == row.baseline_micro_usd


def test_a_cut_stream_is_still_recorded(
    engine: CostEngine, bedrock_emulator: BedrockEmulator, redis_url: str
) -> None:
    bedrock_emulator.inject(Fault(kind="cut", after=5))
    with pytest.raises(StreamInterruptedError):
        engine.complete(_ask("Cut?"), _ignore)
    [row] = Ledger(redis.Redis.from_url(redis_url)).records(time.time() - 60, time.time() + 1)
    assert row.estimated_usage
    assert row.output_tokens > 0
    assert row.cost_micro_usd is not None and row.cost_micro_usd > 0


def test_budget_downgrades_then_refuses(settings: Settings, redis_url: str) -> None:
    # Haiku's worst case here is ~6,500 micro-USD; Nova Micro's ~220: a 5,000 cap fits only small.
    capped = settings.model_copy(update={"budget_user_daily_micro_usd": 5_000})
    engine = build_engine(capped, redis.Redis.from_url(redis_url))
    try:
        metered = engine.complete(_ask("Downgrade me?"), _ignore)
        assert metered.record.tier == "small"
        assert metered.record.model == "amazon.nova-micro-v1:0"
        assert metered.record.tier_reason == "budget downgrade"
        assert metered.limited_by == "your daily budget"

        with pytest.raises(BudgetExceededError) as refused:
            for n in range(100):
                engine.complete(_ask(f"Again {n}?"), _ignore)
        assert refused.value.public_message.startswith(
            "This request would go over your daily budget"
        )
    finally:
        engine.gateway.close()
