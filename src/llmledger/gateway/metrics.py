"""Prometheus metrics for `/metrics`: requests, tokens and cost by provider, model, tenant and feature.

Label values are bounded: past `max_values` distinct values of one label, new ones are counted as ``other``,
so a tenant id per customer cannot blow up the metric store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from ..events import UsageEvent

__all__ = ["GatewayMetrics"]


class _Bounded:
    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if value is None:
            return ""
        if value in self.seen:
            return value
        with self.lock:
            if len(self.seen) >= self.max_values:
                return "other"
            self.seen.add(value)
            return value


class GatewayMetrics:
    def __init__(self, *, max_values: int = 100) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.model, self.tenant, self.feature = (_Bounded(max_values) for _ in range(3))
        labels = ["provider", "model", "tenant", "feature"]
        self.requests = Counter("llmledger_requests", "Calls recorded, by outcome", [*labels, "status"], registry=r)
        self.tokens = Counter("llmledger_tokens", "Tokens used", [*labels, "kind"], registry=r)
        self.cost = Counter("llmledger_cost_usd", "Cost in US dollars (priced calls)", labels, registry=r)
        self.unpriced = Counter("llmledger_unpriced_events", "Calls recorded without a price", labels, registry=r)
        self.estimated = Counter("llmledger_estimated_events", "Calls whose usage was estimated", labels, registry=r)
        self.refused = Counter("llmledger_refused_requests", "Requests refused by the gateway", ["code"], registry=r)
        self.soft_over = Counter("llmledger_soft_budget_exceeded", "Calls let through past a soft budget",
                                 ["budget"], registry=r)
        self.latency = Counter("llmledger_upstream_seconds", "Time spent in upstream calls", ["provider"], registry=r)

    def watch(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """A gauge read when scraped (reservations in flight, spool depth)."""
        Gauge(name, doc, registry=self.registry).set_function(read)

    def observe(self, event: UsageEvent) -> None:
        labels = (event.provider, self.model(event.model), self.tenant(event.tags.get("tenant")),
                  self.feature(event.tags.get("feature")))
        self.requests.labels(*labels, event.status).inc()
        usage = event.usage
        for kind, count in (("input", usage.input), ("cache_read", usage.cache_read),
                            ("cache_write", usage.cache_write_5m + usage.cache_write_1h), ("output", usage.output),
                            ("reasoning", usage.reasoning), ("audio", usage.audio_in + usage.audio_out)):
            if count:
                self.tokens.labels(*labels, kind).inc(count)
        if event.cost.total is not None:
            self.cost.labels(*labels).inc(float(event.cost.total))
        if event.cost.status == "unpriced":
            self.unpriced.labels(*labels).inc()
        if event.estimated:
            self.estimated.labels(*labels).inc()
        if event.latency_ms is not None:
            self.latency.labels(event.provider).inc(event.latency_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
