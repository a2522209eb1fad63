"""The API's own added time per request: the openai client's chat completion through
`chatops api` (gunicorn, a real Redis, the cost engine with its budgets, caches and ledger),
against the bare gateway calling the same zero-latency emulator from this process — and the
cost engine in this process between them, so the HTTP edge's part shows apart from the
engine's.

Calls rotate between the ways compared so drift hits them alike, and each round asks a new
question (a response-cache miss everywhere, as a fresh request is). The added time is the
median and p99 of each round's difference from the bare gateway's call in the same round.

    python -m bench.api_overhead          prints JSON
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import openai
import redis

from api.budgets import ApiCaps
from api.tokens import TokenStore
from chatops.percentiles import percentile, summary_ms
from chatops.settings import Settings, load_settings
from chatops.stack import Stack, local_stack
from chatops.wiring import build_engine, build_gateway
from gateway.budgets import BudgetCaps, Budgets
from gateway.types import LLMRequest, Message

MODEL = "amazon.nova-micro-v1:0"
MAX_TOKENS = 64
SYSTEM = "You are a concise assistant for a platform engineering team."
QUESTION = "How do I rotate the staging DB password? (round {n})"
WARM_UP = 10


def _request(n: int) -> LLMRequest:
    return LLMRequest(
        task="api",
        tier="small",
        override_tier="small",
        system=SYSTEM,
        messages=(Message("user", QUESTION.format(n=n)),),
        max_output_tokens=MAX_TOKENS,
        source="api",
        user="tok_bench",
        workspace="bench",
        scope="team:bench",
    )


def _settings(stack: Stack) -> Settings:
    """The API process's settings, for the in-process gateway and engine."""
    names = set(Settings.model_fields)
    values = {k.lower(): v for k, v in stack.env.items() if k.lower() in names}
    return load_settings(_env_file=None, **values)


def _ways(stack: Stack, client: openai.OpenAI) -> dict[str, Callable[[int], None]]:
    settings = _settings(stack)
    gateway = build_gateway(settings)
    connection = redis.Redis.from_url(stack.redis_url)
    caps = ApiCaps.from_settings(settings)
    engine = build_engine(
        settings, connection, budgets=Budgets(connection, BudgetCaps(), caps_for=caps)
    )

    def messages(n: int) -> list[Any]:
        return [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": QUESTION.format(n=n)},
        ]

    def api_stream(n: int) -> None:
        with client.chat.completions.create(
            model="chatops-small",
            messages=messages(n),
            max_tokens=MAX_TOKENS,
            stream=True,
            stream_options={"include_usage": True},
        ) as chunks:
            for _ in chunks:
                pass

    def api_plain(n: int) -> None:
        client.chat.completions.create(
            model="chatops-small", messages=messages(n), max_tokens=MAX_TOKENS
        )

    def bare(n: int) -> None:
        gateway.complete(_request(n))

    def metered(n: int) -> None:
        engine.complete(_request(n), _ignore)

    return {"gateway": bare, "engine": metered, "api_stream": api_stream, "api_plain": api_plain}


def _ignore(_: str) -> None:
    return None


def _added(times: list[float], bare: list[float]) -> dict[str, float]:
    differences = [(t - b) * 1000 for t, b in zip(times, bare, strict=True)]
    return {
        "p50_ms": round(percentile(differences, 50), 2),
        "p99_ms": round(percentile(differences, 99), 2),
    }


def run(calls: int = 200) -> dict[str, Any]:
    with local_stack(workers=0) as stack:
        stack.start_api(threads=4)
        token, _ = TokenStore(redis.Redis.from_url(stack.redis_url)).create("bench", "bench")
        with openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=token, max_retries=0) as client:
            ways = _ways(stack, client)
            times: dict[str, list[float]] = {name: [] for name in ways}
            for n in range(WARM_UP + calls):
                for index, (name, call) in enumerate(ways.items()):
                    started = time.perf_counter()
                    call(n * len(ways) + index)
                    if n >= WARM_UP:
                        times[name].append(time.perf_counter() - started)
    bare = times["gateway"]
    return {
        "calls": calls,
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        **{name: summary_ms(values) for name, values in times.items()},
        "api_added_over_gateway": {
            "stream": _added(times["api_stream"], bare),
            "plain": _added(times["api_plain"], bare),
        },
        "engine_added_over_gateway": _added(times["engine"], bare),
        "http_edge_added_over_engine": {
            "stream": _added(times["api_stream"], times["engine"]),
            "plain": _added(times["api_plain"], times["engine"]),
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
