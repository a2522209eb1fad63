"""Whatever ends a model call, it lands in the ledger once and its budget reservation is settled:
through the real boto3 client, the Bedrock emulator and a real Redis (cut by a TCP proxy where
the test needs Redis to fail)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis

from chatops.settings import Settings
from chatops.wiring import build_engine
from gateway import keys
from gateway.call_journal import CallJournal
from gateway.engine import CostEngine
from gateway.errors import AllRoutesFailedError, ModelsMisconfiguredError
from gateway.ledger import Ledger, LedgerRecord
from gateway.types import LLMRequest, Message
from sandbox.bedrock import BedrockEmulator
from sandbox.llm import Pace
from sandbox.server import Fault
from sandbox.tcp_proxy import TcpProxy
from tests.clock import today
from tests.conftest import EC2_MODEL

CAP = 1_000_000  # a budget cap, so every call reserves and settles
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


class SlackRefused(Exception):
    """Stands in for an error raised by the caller's delivery callback (slack_sdk's own)."""


class Timeout(BaseException):
    """A BaseException, as RQ's job timeout and a cancellation are to most code."""


def _ask(text: str = "How do I rotate the staging DB password?") -> LLMRequest:
    return LLMRequest(
        task="ask",
        system="You are ChatOps Bot.",
        messages=(Message("user", text),),
        tier="medium",
        override_tier="medium",
        max_output_tokens=300,
        request_id="r-1",
        user="U_ALICE",
        channel="C_OPS",
        workspace="T_DEMO",
        source="slash",
    )


def _capped(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"budget_user_daily_micro_usd": CAP, **update})


@pytest.fixture
def engine(settings: Settings, redis_url: str) -> Iterator[CostEngine]:
    engine = build_engine(_capped(settings), redis.Redis.from_url(redis_url))
    yield engine
    engine.gateway.close()


def _rows(redis_url: str) -> list[LedgerRecord]:
    return Ledger(redis.Redis.from_url(redis_url)).records(time.time() - 600, time.time() + 600)


def _held(engine: CostEngine, rows: list[LedgerRecord]) -> int:
    """What the budget still counts beyond what the ledger says was spent."""
    assert engine.budgets is not None
    return engine.budgets.spent_micro_usd("user", "U_ALICE") - sum(
        r.cost_micro_usd or 0 for r in rows
    )


def _open_calls(redis_url: str) -> int:
    return int(redis.Redis.from_url(redis_url).zcard(keys.open_calls()))


def _raise_after(n: int, error: BaseException) -> object:
    seen = 0

    def on_delta(_: str) -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            raise error

    return on_delta


def test_a_finished_call_is_one_row_and_settles_to_its_cost(
    engine: CostEngine, redis_url: str
) -> None:
    metered = engine.complete(_ask(), lambda _: None)
    [row] = _rows(redis_url)
    assert row == metered.record and row.call_id and not row.estimated_usage
    assert row.stop_reason in ("end_turn", "max_tokens")
    assert _held(engine, [row]) == 0
    assert _open_calls(redis_url) == 0


@pytest.mark.parametrize("error", [SlackRefused("not_in_channel"), Timeout()])
def test_an_exception_from_delivery_still_records_the_call(
    engine: CostEngine, redis_url: str, error: BaseException
) -> None:
    with pytest.raises(type(error)):
        engine.complete(_ask(), _raise_after(3, error))  # type: ignore[arg-type]
    [row] = _rows(redis_url)
    assert row.estimated_usage and row.output_tokens > 0 and row.model == HAIKU
    assert row.cost_micro_usd is not None and row.cost_micro_usd > 0
    assert _held(engine, [row]) == 0, "the reservation is settled to what the call cost"
    assert _open_calls(redis_url) == 0


def test_a_call_that_produced_nothing_writes_no_row_and_refunds(
    engine: CostEngine, bedrock_emulator: BedrockEmulator, openai_emulator: object, redis_url: str
) -> None:
    bedrock_emulator.inject(Fault(kind="error"))
    openai_emulator.inject(Fault(kind="error"))  # type: ignore[attr-defined]
    with pytest.raises(AllRoutesFailedError):
        engine.complete(_ask(), lambda _: None)
    assert _rows(redis_url) == []
    assert _held(engine, []) == 0
    assert _open_calls(redis_url) == 0


def test_two_identical_calls_are_two_rows(engine: CostEngine, redis_url: str) -> None:
    engine.complete(_ask(), lambda _: None)
    engine.complete(_ask(), lambda _: None)
    rows = _rows(redis_url)
    assert len(rows) == 2 and rows[0].call_id != rows[1].call_id
    assert Ledger(redis.Redis.from_url(redis_url)).aggregates(today()).total.requests == 2


def test_a_redis_outage_at_close_is_retried_later_and_recorded_once(
    settings: Settings, redis_url: str
) -> None:
    target = urlsplit(redis_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        proxied = f"redis://127.0.0.1:{proxy.port}/0"
        client = redis.Redis.from_url(proxied, socket_timeout=1, socket_connect_timeout=1)
        engine = build_engine(_capped(settings), client)
        engine._sleep = lambda _: None  # retries at once: the outage outlasts them
        try:
            engine.complete(_ask(), _cut_at_end(proxy))
            assert _rows(redis_url) == [], "Redis was down when the call ended"
            proxy.restore()
            assert engine.flush_pending() == 0
            [row] = _rows(redis_url)
            assert not row.estimated_usage
            assert _held(engine, [row]) == 0
            assert _open_calls(redis_url) == 0
            assert engine.flush_pending() == 0 and len(_rows(redis_url)) == 1
        finally:
            engine.gateway.close()


def _cut_at_end(proxy: TcpProxy) -> object:
    """Cuts Redis on the first delta: by the time the answer ends, it is down."""
    state = {"cut": False}

    def on_delta(_: str) -> None:
        if not state["cut"]:
            state["cut"] = True
            proxy.cut()

    return on_delta


KILLED_WORKER = textwrap.dedent(
    """
    import sys
    import redis
    from chatops.settings import load_settings
    from chatops.wiring import build_engine
    from gateway.types import LLMRequest, Message

    settings = load_settings(_env_file=None)
    engine = build_engine(settings, redis.Redis.from_url(settings.redis_url))
    request = LLMRequest(task="ask", system="Runbook. " * 200,
        messages=(Message("user", "tell me a lot"),),
        tier="medium", override_tier="medium", max_output_tokens=400, request_id="r-killed",
        user="U_ALICE", channel="C_OPS", workspace="T_DEMO", source="slash")

    def on_delta(delta):
        print(delta, end="", flush=True)

    engine.complete(request, on_delta)
    """
)


def test_a_worker_killed_mid_stream_is_accounted_by_another(
    settings: Settings, redis_url: str, bedrock_emulator: BedrockEmulator
) -> None:
    bedrock_emulator.pace = Pace(ttft_ms=0, tokens_per_s=40)
    env = {
        "PATH": "/usr/bin:/bin",
        "REDIS_URL": redis_url,
        "BEDROCK_ENDPOINT_URL": bedrock_emulator.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "BUDGET_USER_DAILY_MICRO_USD": str(CAP),
        "TIER_SMALL": "bedrock:amazon.nova-micro-v1:0",
        "TIER_MEDIUM": f"bedrock:{HAIKU}",
        "TIER_LARGE": "bedrock:global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    }
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        assert worker.stdout is not None and worker.stderr is not None
        streamed = ""
        while len(streamed) < 200:  # past the first progress report and then some
            char = worker.stdout.read(1)
            assert char, f"the worker stopped before streaming: {worker.stderr.read()[-2000:]}"
            streamed += char
        time.sleep(1.2)
        worker.kill()

    sweeper = build_engine(_capped(settings), redis.Redis.from_url(redis_url))
    assert sweeper.close_abandoned() == 0, "the lease has not lapsed yet"
    sweeper.accounts.journal = CallJournal(
        sweeper.journal._redis, sweeper.journal.lease_s, clock=lambda: time.time() + 3600
    )
    try:
        assert sweeper.close_abandoned() == 1
        assert sweeper.close_abandoned() == 0, "closed once"
    finally:
        sweeper.gateway.close()
    [row] = _rows(redis_url)
    assert row.request_id == "r-killed" and row.estimated_usage and row.model == HAIKU
    assert row.output_tokens >= 200 // 4
    assert _held(sweeper, [row]) == 0
    assert _open_calls(redis_url) == 0


def test_unpriced_models_count_against_budgets(settings: Settings, redis_url: str) -> None:
    unpriced = _capped(settings, tier_medium="bedrock:acme.unknown-model-v1:0")
    engine = build_engine(unpriced, redis.Redis.from_url(redis_url))
    try:
        metered = engine.complete(_ask(), lambda _: None)
    finally:
        engine.gateway.close()
    assert metered.record.cost_micro_usd is None
    assert engine.budgets is not None
    assert engine.budgets.spent_micro_usd("user", "U_ALICE") == 50_000


def test_an_ec2_first_tier_reserves_for_its_bedrock_fallback(
    settings: Settings, redis_url: str, openai_emulator: object
) -> None:
    ec2_first = _capped(settings, tier_medium=f"ec2:{EC2_MODEL}, bedrock:{HAIKU}")
    engine = build_engine(ec2_first, redis.Redis.from_url(redis_url))
    assert engine._worst_cases(_ask())["medium"] > 0
    openai_emulator.inject(Fault(kind="error"))  # type: ignore[attr-defined]
    try:
        metered = engine.complete(_ask(), lambda _: None)
    finally:
        engine.gateway.close()
    assert metered.record.model == HAIKU
    assert _held(engine, _rows(redis_url)) == 0


def test_a_misconfigured_route_fails_over_and_all_misconfigured_says_so(
    engine: CostEngine, bedrock_emulator: BedrockEmulator, openai_emulator: object
) -> None:
    bedrock_emulator.inject(Fault(kind="access_denied"))
    metered = engine.complete(_ask(), lambda _: None)
    assert metered.record.backend == "ec2" and metered.record.failovers == 1

    bedrock_emulator.inject(Fault(kind="not_found"))
    openai_emulator.inject(Fault(kind="error", status=401))  # type: ignore[attr-defined]
    with pytest.raises(ModelsMisconfiguredError) as refused:
        engine.complete(_ask(), lambda _: None)
    assert "configuration problem" in refused.value.public_message
