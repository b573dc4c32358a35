"""The gateway runs the alert evaluator: a budget crossed through it pages within its evaluation interval."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from ..alerts.receiver import Receiver
from ..fake_provider import FakeProvider
from .conftest import GatewayProcess, provider_config
from .test_proxy import HI


def test_serve_evaluates_alert_rules(gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider,
                                     receiver: Receiver) -> None:
    gateway = gateway_factory(provider_config(fake, f"""
auth: none
budgets:
  - {{name: tiny, window: day, limit_usd: "0.0001", mode: soft}}
alerts:
  interval_seconds: 0.3
  channels: [{{name: hook, type: webhook, url: "{receiver.url()}"}}]
  rules: [{{name: tiny-budget, kind: budget, budget: tiny, at: [1.0], notify: [hook]}}]
"""))
    reply = httpx2.post(f"{gateway.openai_url}/chat/completions", headers={"x-fake-usage": "1200,35"},
                        json={"model": "gpt-4o-mini", "messages": HI})
    assert reply.status_code == 200
    deadline = time.monotonic() + 10
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    [alert] = [r["json"] for r in receiver.requests]
    assert alert["rule"] == "tiny-budget" and alert["evidence"]["spent_usd"] == "0.000201"
    time.sleep(1)
    assert len(receiver.requests) == 1  # evaluated again and again, sent once
