"""`llmledger serve` serves the dashboard at / beside the gateway, over the same ledger, behind the login."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import httpx2
import openai
import pytest

from llmledger.config import Config
from llmledger.errors import ConfigError
from llmledger.gateway.settings import GatewaySettings

from ..fake_provider import FakeProvider
from .conftest import GatewayProcess, provider_config

USERS = """
dashboard:
  users:
    - {name: acme-finance, password: acme-password, tenant: acme}
"""


def test_calls_through_the_gateway_show_on_the_dashboard(gateway_factory: Callable[..., GatewayProcess],
                                                        fake: FakeProvider) -> None:
    gateway = gateway_factory(provider_config(fake, USERS))
    acme, globex = gateway.key("--tenant", "acme"), gateway.key("--tenant", "globex")
    for secret, calls in ((acme, 3), (globex, 2)):
        client = openai.OpenAI(base_url=gateway.openai_url, api_key=secret, max_retries=0)
        for _ in range(calls):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"x-fake-usage": "1200,35"})
    with httpx2.Client(base_url=gateway.url, follow_redirects=False, timeout=10) as browser:
        assert browser.get("/").headers["location"] == "/login"
        assert browser.post("/login", data={"username": "admin", "password": "admin-token"}).status_code == 303
        assert "<title>" in browser.get("/").text
        for _ in range(50):  # the gateway's writer stores events within about a second
            summary = browser.get("/api/v1/summary").json()
            if summary["requests"] == 5:
                break
            time.sleep(0.1)
        # gpt-4o-mini: 1200 × $0.15/M + 35 × $0.60/M = $0.000201 a call
        assert summary["requests"] == 5 and Decimal(summary["cost"]) == Decimal("0.000201") * 5
        tenants = {r["tenant"]: r["requests"] for r in browser.get("/api/v1/breakdown?by=tenant").json()["rows"]}
        assert tenants == {"acme": 3, "globex": 2}
    with httpx2.Client(base_url=gateway.url, timeout=10) as tenant:
        tenant.post("/login", data={"username": "acme-finance", "password": "acme-password"})
        assert tenant.get("/api/v1/summary").json()["requests"] == 3
    # the gateway's own routes are untouched
    assert httpx2.get(f"{gateway.url}/healthz").json()["status"] == "ok"
    assert httpx2.get(f"{gateway.url}/api/keys", headers={"authorization": "Bearer admin-token"}).status_code == 200


@pytest.mark.parametrize("name", ["api", "static", "login"])
def test_a_provider_cannot_take_a_dashboard_path(name: str) -> None:
    with pytest.raises(ConfigError, match=f"providers.{name}: the name is taken"):
        GatewaySettings.from_config(Config(raw={"providers": {name: {"base_url": "http://127.0.0.1:1"}}}))


def test_outcomes_recorded_through_the_gateway_give_cost_per_outcome(gateway_factory: Callable[..., GatewayProcess],
                                                                    fake: FakeProvider) -> None:
    gateway = gateway_factory(provider_config(fake))
    secret = gateway.key("--tenant", "acme")
    client = openai.OpenAI(base_url=gateway.openai_url, api_key=secret, max_retries=0)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                       extra_headers={"x-fake-usage": "1200,35", "x-ledger-session": "ticket-9"})
    auth = {"authorization": f"Bearer {secret}"}
    with httpx2.Client(base_url=gateway.url, timeout=10) as http:
        made = http.post("/api/v1/outcomes", headers=auth,
                         json={"name": "ticket_resolved", "session": "ticket-9", "tags": {"tenant": "globex"}})
        assert made.status_code == 201 and made.json()["tags"] == {"tenant": "acme"}  # the key's tenant wins
        for body, fragment in (({"name": "no spaces allowed"}, "outcome name"), ({"nme": "x"}, "send a JSON object"),
                               ({"name": "ok", "value": "lots"}, "not a number")):
            bad = http.post("/api/v1/outcomes", headers=auth, json=body)
            assert bad.status_code == 400 and fragment in bad.json()["error"]["message"], bad.text
        assert http.post("/api/v1/outcomes", json={"name": "ok"}).status_code == 401
        admin = {"authorization": "Bearer admin-token"}
        for _ in range(50):
            rows = http.get("/api/v1/outcomes", headers=admin).json()["rows"]
            if rows and rows[0]["cost"] != "0":
                break
            time.sleep(0.1)
    assert rows == [{"outcome": "ticket_resolved", "outcomes": 1, "sessions": 1, "cost": "0.000402000000",
                     "cost_per_outcome": "0.000402"}]
