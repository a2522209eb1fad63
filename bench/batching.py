"""Batching, measured in one run:

- tokens per item, packed N to a call vs. each item alone (N = 1), for digest lines of the
  team-week Jira issues — through the real engine (`build_engine`), boto3 and the Bedrock
  emulator, a real redis-server, read back from the ledger rows the calls wrote;
- items per second through the engine and the openai client against the OpenAI-compatible
  emulator's GPU-like profile (one token per active stream per decode step, a step 5% slower
  per extra stream), the same items sent one at a time and eight at a time.

    python -m bench.batching     # prints JSON

The system prompt (~200 tokens) is below Nova Micro's minimum cacheable prefix, so no prompt
caching blurs the comparison: what packing saves is the shared instruction sent once per call
instead of once per item, less the JSON wrapping of each answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr

from chatops.settings import Settings, load_settings
from chatops.stack import EC2_MODEL, redis_server
from chatops.wiring import build_engine
from gateway.batching import BatchItem, BatchPrompt, pack
from gateway.dispatch import Dispatcher, ItemResult
from gateway.ledger import Ledger, LedgerRecord
from prompts import load_prompt
from sandbox.bedrock import BedrockEmulator
from sandbox.llm import Pace
from sandbox.openai_compat import OpenAICompatEmulator

FIXTURE = Path(__file__).parent / "traces" / "team-week.jira.json"
NOVA_MICRO = "amazon.nova-micro-v1:0"
PACKED_SIZES = (1, 4, 8)
CONCURRENCY = (1, 8)
GPU_STEP_MS = 8.0
NEWEST_COMMENTS = 3


def digest_items() -> list[BatchItem]:
    """One digest line's input per issue: its header and its newest comments."""
    issues = json.loads(FIXTURE.read_text())["issues"]
    items = []
    for issue in issues:
        comments = issue["comments"][-NEWEST_COMMENTS:]
        changed = "\n".join(f"- {c['author']}: {c['body'][:280]}" for c in comments)
        text = (
            f"{issue['key']} [{issue['status']}] {issue['summary']}\n"
            f"Assignee {issue.get('assignee') or 'nobody'}, priority {issue['priority']}, "
            f"reported by {issue['reporter']}.\n"
            f"Newest comments:\n{changed or '- none'}"
        )
        items.append(
            BatchItem(
                item_id=issue["key"],
                task="digest_item",
                kind="digest_line",
                text=text,
                scope="workspace:T_DEMO",
                request_id=f"digest-{issue['key']}",
                user="U_ALICE",
                channel="C_OPS",
                workspace="T_DEMO",
                source="jira",
            )
        )
    return items


def _settings(bedrock: BedrockEmulator, ec2: OpenAICompatEmulator, tier_small: str) -> Settings:
    return load_settings(
        _env_file=None,
        bedrock_endpoint_url=bedrock.url,
        ec2_llm_base_url=f"{ec2.url}/v1",
        aws_access_key_id="bench",
        aws_secret_access_key=SecretStr("bench"),
        tier_small=tier_small,
    )


def _chunks(items: Sequence[BatchItem], size: int) -> list[Sequence[BatchItem]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _ignore(item: BatchItem, result: ItemResult) -> None:
    if not result.ok:
        raise RuntimeError(f"{item.item_id}: {result.error}")


def _tokens_per_item(
    settings: Settings, url: str, prompt: BatchPrompt, items: list[BatchItem]
) -> dict[str, Any]:
    connection = redis.Redis.from_url(url)
    engine = build_engine(settings, connection)
    dispatcher = Dispatcher(engine.complete, strategies={"bedrock": "packed"}, concurrency=1)
    ledger = Ledger(connection)
    results: dict[str, Any] = {}
    for size in PACKED_SIZES:
        started = time.time()
        reruns = 0
        for number, chunk in enumerate(_chunks(items, size)):
            report = dispatcher.run(
                prompt, chunk, backend="bedrock", batch_id=f"n{size}-{number}", on_result=_ignore
            )
            reruns += len(report.reruns)
        rows = ledger.records(started - 1, time.time() + 1)
        results[f"n={size}"] = _summary(rows, len(items), reruns)
        if size > 1:
            tags = [pack(prompt, chunk, "x").batch for chunk in _chunks(items, size)]
            singles = sum(sum(t.single_prompt_tokens) for t in tags if t is not None)
            results[f"n={size}"]["counterfactual_input_tokens_per_item"] = round(
                singles / len(items), 1
            )
        connection.delete(*connection.keys("chatops:ledger:*"))
    engine.gateway.close()
    return results


def _summary(rows: list[LedgerRecord], items: int, reruns: int) -> dict[str, Any]:
    input_tokens = sum(r.total_input_tokens for r in rows)
    output_tokens = sum(r.output_tokens for r in rows)
    cost = sum(r.cost_micro_usd or 0 for r in rows)
    return {
        "model_calls": len(rows),
        "reruns": reruns,
        "input_tokens_per_item": round(input_tokens / items, 1),
        "output_tokens_per_item": round(output_tokens / items, 1),
        "tokens_per_item": round((input_tokens + output_tokens) / items, 1),
        "cost_micro_usd_per_item": round(cost / items, 2),
    }


def _items_per_second(
    settings: Settings, url: str, prompt: BatchPrompt, items: list[BatchItem], ec2: Any
) -> dict[str, Any]:
    engine = build_engine(settings, redis.Redis.from_url(url))
    ec2.pace = Pace(gpu_step_ms=GPU_STEP_MS)
    results: dict[str, Any] = {}
    for concurrency in CONCURRENCY:
        dispatcher = Dispatcher(
            engine.complete, strategies={"ec2": "concurrent"}, concurrency=concurrency
        )
        dispatcher.run(prompt, items[:1], backend="ec2", batch_id="warm-up", on_result=_ignore)
        ec2.decode.peak_streams = 0
        started = time.perf_counter()
        dispatcher.run(prompt, items, backend="ec2", batch_id=f"c{concurrency}", on_result=_ignore)
        elapsed = time.perf_counter() - started
        results[f"concurrency={concurrency}"] = {
            "items": len(items),
            "seconds": round(elapsed, 2),
            "items_per_s": round(len(items) / elapsed, 2),
            "peak_streams": ec2.decode.peak_streams,
        }
    one, many = (results[f"concurrency={c}"]["items_per_s"] for c in CONCURRENCY)
    results["speed_up"] = round(many / one, 2)
    engine.gateway.close()
    return results


def run() -> dict[str, Any]:
    prompt = load_prompt("digest_item").batch_prompt()
    items = digest_items()
    with (
        redis_server() as url,
        BedrockEmulator() as bedrock,
        OpenAICompatEmulator(models=(EC2_MODEL,)) as ec2,
    ):
        packed = _tokens_per_item(
            _settings(bedrock, ec2, f"bedrock:{NOVA_MICRO}"), url, prompt, items
        )
        singly = packed["n=1"]["tokens_per_item"]
        for size in PACKED_SIZES[1:]:
            row = packed[f"n={size}"]
            row["saved_vs_singly_pct"] = round(100 * (1 - row["tokens_per_item"] / singly), 1)
        throughput = _items_per_second(
            _settings(bedrock, ec2, f"ec2:{EC2_MODEL}"), url, prompt, items, ec2
        )
    return {
        "items": len(items),
        "model": NOVA_MICRO,
        "tokens_per_item": packed,
        "gpu_profile": {"step_ms": GPU_STEP_MS, "slowdown_per_extra_stream": 0.05},
        "throughput": throughput,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
