"""The Grafana dashboard shipped in deploy/grafana queries only metrics the gateway exports."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from llmledger.events import UsageEvent
from llmledger.gateway.metrics import GatewayMetrics
from llmledger.pricing import Cost
from llmledger.usage import Usage

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "llmledger.json"


def test_every_dashboard_query_uses_an_exported_metric() -> None:
    metrics = GatewayMetrics()
    metrics.watch("llmledger_reservations_in_flight", "x", lambda: 0.0)
    metrics.watch("llmledger_spool_files", "x", lambda: 0.0)
    metrics.watch("llmledger_write_queue", "x", lambda: 0.0)
    metrics.observe(UsageEvent("openai", "gpt-4o-mini", Usage(input=10, output=5), Cost("priced", Decimal("0.01")),
                               tags={"tenant": "acme", "feature": "search"}, latency_ms=120, estimated=True))
    metrics.observe(UsageEvent("selfhosted", "llama", Usage(input=10), Cost.unpriced("no price")))
    metrics.refused.labels("budget_exceeded").inc()
    metrics.soft_over.labels("b").inc()
    exported = set(re.findall(r"^(llmledger_[a-z_]+)", metrics.render().decode(), re.M))
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for q in queries for name in re.findall(r"llmledger_[a-z_]+", q)}
    assert used and used <= exported, used - exported
    assert dashboard["timezone"] == "utc" and len(dashboard["panels"]) >= 10
