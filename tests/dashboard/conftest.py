"""A dashboard served for real (uvicorn on loopback, in a thread) over a ledger with known contents."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import pytest
import uvicorn

from llmledger.budgets import Budget
from llmledger.dashboard import DashboardAuth, build_dashboard
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.outcomes import Outcome, OutcomeStore
from llmledger.pricing import PriceBook
from llmledger.usage import Usage

from ..servers import free_port

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
ADMIN_TOKEN = "admin-token-for-tests-0123456789"
USERS = {"finance": "finance-password", "acme": "acme-password", "globex": "globex-password"}
MODELS = (("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4.1"),
          ("selfhosted", "llama-local"))


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """`app` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the dashboard did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def known_events(prices: PriceBook | None = None) -> list[UsageEvent]:
    """Sixty days of calls up to NOW: two tenants, features, models (one unpriced), sessions, a custom tag."""
    prices = prices or PriceBook()
    rng = random.Random(11)
    events = []
    for i in range(400):
        ts = NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))
        provider, model = rng.choice(MODELS[:3]) if i % 40 else MODELS[3]
        tenant = "acme" if rng.random() < 0.6 else "globex"
        usage = Usage(input=rng.randint(100, 5000), cache_read=rng.choice((0, 0, 1024)),
                      output=rng.randint(10, 800), reasoning=rng.choice((0, 0, 0, 256)) if model == "gpt-4.1" else 0)
        tags = {"tenant": tenant, "feature": rng.choice(("chat", "search", "summarize")),
                "user": f"{tenant}-u{rng.randrange(6)}", "region": rng.choice(("eu", "us"))}
        events.append(UsageEvent(provider, model, usage, prices.price(usage, provider=provider, model=model, at=ts),
                                 ts=ts, tags=tags, source="sdk", status="ok" if i % 25 else "error",
                                 http_status=200 if i % 25 else 500, latency_ms=100 + i))
    for minutes, (provider, model) in zip((3, 9, 17, 31, 44), (*MODELS[:3], MODELS[3], MODELS[0]), strict=True):
        ts, usage = NOW - timedelta(minutes=minutes), Usage(input=900 + minutes, output=40)  # the last hour
        events.append(UsageEvent(provider, model, usage, prices.price(usage, provider=provider, model=model, at=ts),
                                 ts=ts, tags={"tenant": "acme", "user": "acme-live", "feature": "chat"},
                                 source="gateway", status="ok", http_status=200))
    for session, tenant, calls in (("run-acme-1", "acme", 6), ("run-globex-1", "globex", 3)):
        start = NOW - timedelta(days=2, hours=3)
        for k in range(calls):
            usage = Usage(input=1000 * (k + 1), output=100)
            ts = start + timedelta(seconds=30 * k)
            events.append(UsageEvent("openai", "gpt-4o-mini", usage,
                                     prices.price(usage, provider="openai", model="gpt-4o-mini", at=ts), ts=ts,
                                     tags={"tenant": tenant, "feature": "agent", "user": f"{tenant}-bot"},
                                     session_id=session, source="sdk", status="ok", http_status=200))
    return events


def known_outcomes() -> list[Outcome]:
    at = NOW - timedelta(days=2)
    return [Outcome("ticket_resolved", "run-acme-1", ts=at, tags={"tenant": "acme", "feature": "agent"}),
            Outcome("ticket_resolved", "run-globex-1", ts=at, tags={"tenant": "globex", "feature": "agent"}),
            Outcome("ticket_resolved", None, ts=at, tags={"tenant": "acme"}),
            Outcome("escalated", "run-acme-1", ts=at, value=Decimal("2"), tags={"tenant": "acme"})]


MONTHLY = Budget(Decimal("50"), "month", {}, name="org-monthly")
ACME_MONTHLY = Budget(Decimal("20"), "month", {"tenant": "acme"}, name="acme-monthly")


@dataclass
class Served:
    url: str
    ledger: Ledger
    events: list[UsageEvent]

    def client(self, **kwargs: Any) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, timeout=30, **kwargs)

    def admin(self) -> httpx2.Client:
        return self.client(headers={"authorization": f"Bearer {ADMIN_TOKEN}"})

    @contextmanager
    def login(self, name: str, password: str) -> Iterator[httpx2.Client]:
        """A client holding the session cookie of `name`."""
        with self.client() as client:
            response = client.post("/login", data={"username": name, "password": password})
            assert response.status_code == 303, response.text
            yield client


def auth() -> DashboardAuth:
    users = [{"name": "finance", "password": USERS["finance"]},
             {"name": "acme", "password": USERS["acme"], "tenant": "acme"},
             {"name": "globex", "password": USERS["globex"], "tenant": "globex"}]
    return DashboardAuth.from_config({"admin_token": ADMIN_TOKEN, "dashboard": {"users": users}})


@pytest.fixture
def served(ledger: Ledger) -> Iterator[Served]:
    events = known_events()
    ledger.write(events)
    OutcomeStore(ledger.store).add_all(known_outcomes())
    dashboard = build_dashboard(ledger, auth(), budgets=lambda: [MONTHLY, ACME_MONTHLY], clock=lambda: NOW)
    with serve(dashboard) as url:
        yield Served(url, ledger, events)
