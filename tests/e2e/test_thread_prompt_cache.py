"""Prompt caching where it pays, through the running bot: a thread that starts with a long
pasted log and goes on with follow-ups, on Claude Sonnet 4.5 (minimum cacheable prefix 1,024
tokens, a write 25% dearer than plain input). The first question writes nothing (its
follow-ups may go to another model); the first follow-up writes the conversation so far,
each later one reads what the one before wrote and writes a longer prefix — and the ledger
prices the four counters apart, so those follow-ups cost less than the same calls uncached by
exactly what the price list says."""

from __future__ import annotations

import time
from typing import Any

import redis

from chatops.stack import Stack
from gateway.ledger import Ledger, LedgerRecord
from sandbox.slack_driver import DriverResponse, SlackDriver
from tests.e2e.conftest import finished_replies, model_of, wait_for
from tests.long_inputs import service_log

CHANNEL = "C_OPS"
SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
# Claude Sonnet 4.5, global profile, USD per 1M tokens == micro-USD per token (FACTS.md).
INPUT, OUTPUT, CACHE_WRITE, CACHE_READ = 3.00, 15.00, 3.75, 0.30


def _answers(stack: Stack, root_ts: str, count: int) -> list[dict[str, Any]]:
    return wait_for(
        lambda: r if len(r := finished_replies(stack, CHANNEL, root_ts) or []) == count else None,
        f"answer {count} in the thread",
        60.0,
    )


def _row(stack: Stack, response: DriverResponse) -> LedgerRecord:
    ledger = Ledger(redis.Redis.from_url(stack.redis_url))
    request_id = f"ev-{CHANNEL}-{response.ts}"

    def found() -> LedgerRecord | None:
        return next(
            (r for r in ledger.records(0, time.time() + 1) if r.request_id == request_id), None
        )

    return wait_for(found, f"the ledger row of {request_id}")


def _uncached_cost(row: LedgerRecord) -> float:
    return row.total_input_tokens * INPUT + row.output_tokens * OUTPUT


def test_follow_ups_on_a_pasted_log_read_its_prefix_from_the_cache(
    stack: Stack, driver: SlackDriver
) -> None:
    log = service_log(12_000, seed=21)
    first = driver.mention(
        "U_ALICE", CHANNEL, f"--tier large why do the ledger writes deadlock?\n```\n{log}\n```"
    )
    root = first.ts or ""
    _answers(stack, root, 1)
    second = driver.mention("U_BOB", CHANNEL, "--tier large which transaction retries first?", root)
    _answers(stack, root, 2)
    third = driver.mention("U_ALICE", CHANNEL, "--tier large and how do we stop it?", root)
    _answers(stack, root, 3)

    calls = stack.bedrock.requests_to("/converse-stream")
    assert [model_of(call) for call in calls] == [SONNET] * 3
    rows = [_row(stack, response) for response in (first, second, third)]
    assert [row.model for row in rows] == [SONNET] * 3

    # Nothing cached on the question itself; the first follow-up writes the thread so far
    # (the log and its answer); the second reads exactly that and writes what came after.
    assert (rows[0].cache_write_tokens, rows[0].cache_read_tokens) == (0, 0)
    written = rows[1].cache_write_tokens
    assert written >= 1_024 and rows[1].cache_read_tokens == 0
    assert rows[2].cache_read_tokens == written

    for row in rows:
        by_hand = (
            row.input_tokens * INPUT
            + row.output_tokens * OUTPUT
            + row.cache_write_tokens * CACHE_WRITE
            + row.cache_read_tokens * CACHE_READ
        )
        assert row.cost_micro_usd == round(by_hand)
    # The write premium is paid on what is written; the read saves the discount on the prefix.
    premium = (rows[1].cost_micro_usd or 0) - round(_uncached_cost(rows[1]))
    assert abs(premium - round(written * (CACHE_WRITE - INPUT))) <= 1  # two roundings
    saved = round(_uncached_cost(rows[2])) - (rows[2].cost_micro_usd or 0)
    expected = round(
        rows[2].cache_read_tokens * (INPUT - CACHE_READ)
        - rows[2].cache_write_tokens * (CACHE_WRITE - INPUT)
    )
    assert abs(saved - expected) <= 1  # two roundings
    assert saved > 0
    assert sum(r.cost_micro_usd or 0 for r in rows) < sum(map(_uncached_cost, rows))
