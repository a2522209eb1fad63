"""`/metrics` for Prometheus, read from Redis at scrape time.

The numbers are made in many processes (gunicorn workers, RQ workers on other hosts), so none
of them can hold the counters: the ledger keeps model-call totals, the Slack edge and the
workers bump `chatops:metrics`, RQ knows its queues. A scrape is a handful of Redis reads.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from rq import Queue
from rq.registry import FailedJobRegistry

from chatops.payloads import QUEUE_NAMES
from gateway import keys
from gateway.ledger import Ledger

# Ledger metric → (Prometheus name, help).
_LEDGER_COUNTERS = {
    "requests": ("chatops_model_requests", "Model calls and response-cache hits."),
    "cost_micro_usd": ("chatops_cost_micro_usd", "What the calls cost, in micro-USD."),
    "baseline_micro_usd": ("chatops_baseline_micro_usd", "What the naive way would have cost."),
    "cache_hits": ("chatops_response_cache_hits", "Answers served from the response cache."),
    "unpriced": ("chatops_unpriced_requests", "Calls whose model is not in the price list."),
}
_TOKEN_TYPES = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


class RedisCollector(Collector):
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def collect(self) -> Iterator[Metric]:
        yield from self._ledger()
        yield from self._edge_counters()
        yield from self._queues()

    def _ledger(self) -> Iterator[Metric]:
        totals = Ledger(self._client).totals()
        labels = ["backend", "model"]
        families = {
            metric: CounterMetricFamily(name, text, labels=labels)
            for metric, (name, text) in _LEDGER_COUNTERS.items()
        }
        tokens = CounterMetricFamily(
            "chatops_tokens", "Tokens as billed, by type.", labels=[*labels, "type"]
        )
        for (backend, model), row in sorted(totals.items()):
            for metric, family in families.items():
                family.add_metric([backend, model], getattr(row, metric))
            for token_type in _TOKEN_TYPES:
                tokens.add_metric([backend, model, token_type], getattr(row, token_type))
        yield from families.values()
        yield tokens

    def _edge_counters(self) -> Iterator[Metric]:
        raw = self._client.hgetall(keys.metrics())
        families: dict[str, CounterMetricFamily] = {}
        for field, value in sorted(raw.items()):
            text = field.decode() if isinstance(field, bytes) else str(field)
            name, _, kind = text.partition("|")
            family = families.setdefault(
                name, CounterMetricFamily(f"chatops_{name}", f"{name} by kind.", labels=["kind"])
            )
            family.add_metric([kind], int(value))
        yield from families.values()

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("chatops_queue_depth", "Jobs waiting.", labels=["queue"])
        failed = GaugeMetricFamily(
            "chatops_failed_jobs", "Jobs in RQ's failed registry.", labels=["queue"]
        )
        for name in QUEUE_NAMES:
            queue = Queue(name, connection=self._client)
            depth.add_metric([name], queue.count)
            failed.add_metric([name], FailedJobRegistry(queue=queue).count)
        yield depth
        yield failed


def metrics_registry(client: redis.Redis) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(client))
    return registry


__all__ = ["RedisCollector", "metrics_registry"]
