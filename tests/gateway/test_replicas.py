"""Two gateway processes sharing Redis and PostgreSQL: budgets and rate limits hold across both."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from llmledger import Ledger
from llmledger.gateway.keys import KeyStore

from ..fake_provider import FakeProvider
from ..servers import PostgresServer, RedisServer
from .conftest import GatewayProcess, clear_of_minute_end, provider_config
from .test_governance import ACTUAL, WORST, call

pytestmark = pytest.mark.postgres


def test_two_replicas_never_overspend_a_shared_budget(
    gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider, postgres: PostgresServer,
    redis_server: RedisServer,
) -> None:
    db = postgres.create_database("replicas")
    tolerance = WORST / 2
    config = provider_config(fake, f"""
redis: {redis_server.url}
budgets:
  - {{name: shared, scope: {{tenant: acme}}, window: day, limit_usd: "{WORST * 4}", tolerance_usd: "{tolerance}"}}
""")
    first = gateway_factory(config, db=db)
    second = gateway_factory(config, db=db)
    with Ledger.open(db) as ledger:
        key = KeyStore(ledger.store).create(tags={"tenant": "acme"}, rpm=1000)[1]
    replicas = [first, second]
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda i: call(replicas[i % 2], key, **{"x-fake-delay-ms": "100"}), range(24)))
    codes = [r.status_code for r in results]
    assert codes.count(200) == 4 and codes.count(429) == 20
    assert {r.json()["error"]["code"] for r in results if r.status_code == 429} == {"budget_exceeded"}
    assert {i % 2 for i, r in enumerate(results) if r.status_code == 200} <= {0, 1}
    import time

    with Ledger.open(db) as ledger:
        deadline = time.monotonic() + 10
        while ledger.count() < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        events = list(ledger.events())
    spent = sum((e.cost.total or Decimal(0) for e in events), Decimal(0))
    assert len(events) == 4 and spent == 4 * ACTUAL <= WORST * 4 + tolerance


def test_two_replicas_share_a_rate_limit(
    gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider, postgres: PostgresServer,
    redis_server: RedisServer,
) -> None:
    db = postgres.create_database("replicas_rpm")
    config = provider_config(fake, f"redis: {redis_server.url}")
    first = gateway_factory(config, db=db)
    second = gateway_factory(config, db=db)
    with Ledger.open(db) as ledger:
        key = KeyStore(ledger.store).create(tags={"tenant": "rl"}, rpm=5)[1]
    clear_of_minute_end()
    codes = [call((first, second)[i % 2], key).status_code for i in range(8)]
    assert codes.count(200) == 5 and codes[5:] == [429, 429, 429]
