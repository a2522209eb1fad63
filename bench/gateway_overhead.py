"""(b) The gateway's own added time per request, against calling the same client directly on
the same zero-latency emulator: boto3 ConverseStream, and the openai client's streamed chat
completion; and the cost engine's (pricing, the ledger row in a real Redis) on top of the
gateway. Calls alternate between the ways compared so drift hits them equally."""

from __future__ import annotations

import time
from typing import Any

import redis

from chatops.percentiles import summary_ms
from chatops.settings import Settings
from chatops.stack import EC2_MODEL, redis_server
from chatops.wiring import build_engine, build_gateway
from gateway.backends.bedrock import converse_arguments
from gateway.backends.openai_compat import chat_messages
from gateway.types import LLMRequest, Message
from sandbox.bedrock import BedrockEmulator
from sandbox.openai_compat import OpenAICompatEmulator

REQUEST = LLMRequest(
    task="ask",
    tier="small",
    system="You are a concise assistant for a platform engineering team.",
    messages=(Message("user", "How do I rotate the staging DB password?"),),
    max_output_tokens=200,
)
MODELS = {"bedrock": "amazon.nova-micro-v1:0", "ec2": EC2_MODEL}


def _direct(backend: str, client: Any) -> None:
    if backend == "bedrock":
        events = client.converse_stream(**converse_arguments(REQUEST, MODELS[backend]))["stream"]
        for _ in events:
            pass
        return
    with client.chat.completions.create(
        model=MODELS[backend],
        messages=chat_messages(REQUEST),
        max_tokens=REQUEST.max_output_tokens,
        stream=True,
        stream_options={"include_usage": True},
    ) as chunks:
        for _ in chunks:
            pass


def _engine_overhead(settings: Settings, calls: int) -> dict[str, Any]:
    """Engine vs bare gateway on Bedrock: the price lookup and one MULTI to the ledger."""
    with redis_server() as url:
        engine = build_engine(settings, redis.Redis.from_url(url))
        gateway = engine.gateway
        bare, metered = [], []
        for n in range(calls + 10):
            started = time.perf_counter()
            gateway.complete(REQUEST)
            middle = time.perf_counter()
            engine.complete(REQUEST, _ignore)
            if n >= 10:  # the first calls warm the pools
                bare.append(middle - started)
                metered.append(time.perf_counter() - middle)
        gateway.close()
    b, m = summary_ms(bare), summary_ms(metered)
    return {"gateway": b, "engine": m, "added_p50_ms": round(m["p50_ms"] - b["p50_ms"], 3)}


def _ignore(_: str) -> None:
    pass


def run(calls: int = 200) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with BedrockEmulator() as bedrock, OpenAICompatEmulator(models=(EC2_MODEL,)) as ec2:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bedrock_endpoint_url=bedrock.url,
            ec2_llm_base_url=f"{ec2.url}/v1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # type: ignore[arg-type]
            tier_small=f"bedrock:{MODELS['bedrock']}, ec2:{EC2_MODEL}",
            tier_large=f"bedrock:{MODELS['bedrock']}",
        )
        for backend in ("bedrock", "ec2"):
            gateway = build_gateway(settings, only_backend=backend)
            client = gateway.backends[backend]._client  # the very client the gateway uses
            direct, through = [], []
            for _ in range(10):  # warm the connection pools
                _direct(backend, client)
                gateway.complete(REQUEST)
            for _ in range(calls):
                started = time.perf_counter()
                _direct(backend, client)
                direct.append(time.perf_counter() - started)
                started = time.perf_counter()
                gateway.complete(REQUEST)
                through.append(time.perf_counter() - started)
            gateway.close()
            d, g = summary_ms(direct), summary_ms(through)
            results[backend] = {
                "direct": d,
                "gateway": g,
                "added_p50_ms": round(g["p50_ms"] - d["p50_ms"], 3),
                "ratio_p50": round(g["p50_ms"] / d["p50_ms"], 3),
            }
        results["cost_engine"] = _engine_overhead(settings, calls)
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
