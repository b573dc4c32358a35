"""Budgets, rate limits, required tags, upstream failures and shutdown, through a real gateway process."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx2
import openai
import pytest

from llmledger import Ledger

from ..fake_provider import FakeProvider
from .conftest import GatewayProcess, clear_of_minute_end, provider_config
from .test_proxy import HI, Recorded

M = Decimal("0.000001")
# One call's worst case through the gateway: 13 input tokens at $0.15/M + max_tokens 1000 at $0.60/M
WORST = 13 * Decimal("0.15") * M + 1000 * Decimal("0.6") * M
ACTUAL = 13 * Decimal("0.15") * M + 1000 * Decimal("0.6") * M  # the fake bills the whole cap ("13,1000")


def call(gateway: GatewayProcess, key: str, **headers: str) -> httpx2.Response:
    return httpx2.post(
        f"{gateway.openai_url}/chat/completions", timeout=30,
        headers={"authorization": f"Bearer {key}", "x-fake-usage": "13,1000", **headers},
        json={"model": "gpt-4o-mini", "messages": HI, "max_tokens": 1000},
    )


@pytest.fixture(scope="module")
def gateway(gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider) -> GatewayProcess:
    return gateway_factory(provider_config(fake, f"""
budgets:
  - {{name: acme-daily, scope: {{tenant: acme}}, window: day, limit_usd: "{WORST * 3}", mode: hard}}
  - {{name: beta-soft, scope: {{tenant: beta}}, window: day, limit_usd: "0.000001", mode: soft}}
rate_limits:
  - {{scope: {{tenant: gamma}}, rpm: 2}}
policy:
  required_tags: [feature]
gateway:
  upstream_timeout: 1
  limits_refresh: 0.2
"""))


def test_required_tags_are_enforced(gateway: GatewayProcess) -> None:
    key = gateway.key("--tenant", "zeta")
    refused = call(gateway, key)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "missing_required_tags" and "feature" in error["message"]
    assert call(gateway, key, **{"x-ledger-feature": "search"}).status_code == 200


def test_hard_budget_refuses_with_429_and_retry_after(gateway: GatewayProcess) -> None:
    key = gateway.key("--tenant", "acme")
    statuses = [call(gateway, key, **{"x-ledger-feature": "f"}) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    error = statuses[-1].json()["error"]
    assert error["code"] == "budget_exceeded" and "acme-daily" in error["message"]
    assert 0 < int(statuses[-1].headers["retry-after"]) <= 86400
    with pytest.raises(openai.RateLimitError) as sdk:  # what the openai SDK raises for it
        openai.OpenAI(base_url=gateway.openai_url, api_key=key, max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=HI, max_tokens=1000, extra_headers={"x-ledger-feature": "f"})
    assert sdk.value.code == "budget_exceeded"
    soft = gateway.key("--tenant", "beta")
    assert call(gateway, soft, **{"x-ledger-feature": "f"}).status_code == 200  # soft budgets never refuse
    metrics = httpx2.get(f"{gateway.url}/metrics").text
    assert 'llmledger_soft_budget_exceeded_total{budget="beta-soft"} 1.0' in metrics
    assert "soft budget 'beta-soft' exceeded" in gateway.log.read_text()


def test_concurrent_requests_never_overspend(gateway: GatewayProcess, fake: FakeProvider) -> None:
    budget = WORST * 5
    key = gateway.key("--tenant", "delta", "--budget", f"{budget}/day")
    recorded = Recorded(gateway)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: call(gateway, key, **{"x-ledger-feature": "f", "x-fake-delay-ms": "100"}),
                                range(20)))
    codes = [r.status_code for r in results]
    assert codes.count(200) == 5 and codes.count(429) == 15
    spent = sum((e.cost.total or Decimal(0) for e in recorded.wait(5)), Decimal(0))
    assert spent == 5 * ACTUAL <= budget


def test_budgets_set_from_the_cli_are_enforced_and_listed(gateway: GatewayProcess) -> None:
    key = gateway.key("--tenant", "omega")
    recorded = Recorded(gateway)
    assert call(gateway, key, **{"x-ledger-feature": "f"}).status_code == 200
    recorded.wait(1)  # stored: a budget set now starts its window from what the ledger holds
    out = gateway.cli("budgets", "set", "omega-daily", "--limit", str(WORST * 2), "--scope", "tenant=omega")
    assert "budget omega-daily" in out and "tenant=omega" in out
    time.sleep(0.6)  # the gateway re-reads budgets every 0.2 s here
    codes = [call(gateway, key, **{"x-ledger-feature": "f"}).status_code for _ in range(2)]
    assert codes == [200, 429]  # the spend before the budget existed counts: the window started at midnight
    import json

    deadline = time.monotonic() + 10
    while True:  # the gateway's writer stores its events within about a second
        listed = {b["name"]: b for b in json.loads(gateway.cli("budgets", "list", "--format", "json"))}
        if Decimal(listed["omega-daily"]["spent_usd"]) == 2 * ACTUAL or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert listed["omega-daily"]["source"] == "cli" and Decimal(listed["omega-daily"]["spent_usd"]) == 2 * ACTUAL
    assert listed["acme-daily"]["source"] == "config"
    assert "deleted budget omega-daily" in gateway.cli("budgets", "delete", "omega-daily")
    time.sleep(0.6)
    assert call(gateway, key, **{"x-ledger-feature": "f"}).status_code == 200


def test_key_rate_limits(gateway: GatewayProcess) -> None:
    key = gateway.key("--tenant", "eta", "--rpm", "3")
    clear_of_minute_end()
    codes = [call(gateway, key, **{"x-ledger-feature": "f"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    tenant_key = gateway.key("--tenant", "gamma")
    codes = [call(gateway, tenant_key, **{"x-ledger-feature": "f"}) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[-1].json()["error"]["code"] == "rate_limit_exceeded"


def test_upstream_timeout_and_unreachable(gateway: GatewayProcess, gateway_factory: Callable[..., GatewayProcess],
                                          fake: FakeProvider) -> None:
    key = gateway.key("--tenant", "theta")
    slow = call(gateway, key, **{"x-ledger-feature": "f", "x-fake-delay-ms": "2500"})
    assert slow.status_code == 504 and slow.json()["error"]["code"] == "upstream_timeout"
    dead = gateway_factory("""
auth: none
providers:
  openai: {base_url: "http://127.0.0.1:9/v1", api_key: sk-x}
""")
    recorded = Recorded(dead)
    refused = httpx2.post(f"{dead.openai_url}/chat/completions", json={"model": "gpt-4o-mini", "messages": HI})
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "upstream_unreachable"
    assert "auth: none" in dead.log.read_text()  # warned about at start-up
    [event] = recorded.wait(1)
    assert (event.status, event.http_status) == ("error", None)


def test_sigterm_drains_in_flight_requests(gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider) -> None:
    gateway = gateway_factory(provider_config(fake, "auth: none"))
    result: list[httpx2.Response] = []
    slow = threading.Thread(target=lambda: result.append(httpx2.post(
        f"{gateway.openai_url}/chat/completions", timeout=30, headers={"x-fake-delay-ms": "1000"},
        json={"model": "gpt-4o-mini", "messages": HI})))
    slow.start()
    time.sleep(0.3)
    assert gateway.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    slow.join()
    assert result[0].status_code == 200  # answered before the process exited
    with Ledger.open(gateway.db) as ledger:
        assert ledger.count() == 1  # and recorded, flushed at shutdown
