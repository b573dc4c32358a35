"""Budgets in Redis: the same reservations as in memory, shared by every process that points at the server."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from llmledger import Budget, BudgetExceeded
from llmledger.budgets import Limit, RateLimit
from llmledger.budgets.redis import RedisBudgets
from llmledger.errors import RateLimitExceeded, StoreUnavailable

from ..servers import RedisServer, clear_of_minute_end


def usd(amount: str | int) -> dict[str, Decimal]:
    return {"usd": Decimal(amount), "requests": Decimal(1)}


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


def test_two_states_on_one_server_share_a_budget_exactly(redis_server: RedisServer, prefix: str) -> None:
    budget = Budget(limit_usd="0.000003", scope={"tenant": "acme"}, name="acme")
    seeded: list[datetime] = []

    def spent_since(limit: Limit, start: datetime) -> Decimal:
        seeded.append(start)
        return Decimal("0.000001")

    first = RedisBudgets([budget], url=redis_server.url, prefix=prefix, spent_since=spent_since)
    second = RedisBudgets([budget], url=redis_server.url, prefix=prefix, spent_since=spent_since)
    hold = first.reserve({"tenant": "acme"}, usd("0.000001"))
    second.reserve({"tenant": "acme"}, usd("0.000001"))  # ledger 1 µ$ + 2 held = the limit
    with pytest.raises(BudgetExceeded) as refused:
        first.reserve({"tenant": "acme"}, usd("0.000000001"))
    assert (refused.value.spent, refused.value.reserved) == (Decimal("0.000001"), Decimal("0.000002"))
    first.settle(hold, usd("0.0000005"))  # cost half its worst case: half a micro-dollar is free again
    second.reserve({"tenant": "acme"}, usd("0.0000005"))
    [status] = first.status()
    assert (status["spent"], status["reserved"]) == (Decimal("0.0000015"), Decimal("0.0000015"))
    assert len(seeded) == 1  # the window was seeded from the ledger once, by the first to use it


def test_soft_budgets_are_named_when_passed(redis_server: RedisServer, prefix: str) -> None:
    state = RedisBudgets([Budget(limit_usd=1, mode="soft", name="soft"), Budget(limit_usd=5, name="hard")],
                         url=redis_server.url, prefix=prefix)
    assert state.reserve({}, usd("0.5")).over_soft == ()
    assert state.reserve({}, usd(1)).over_soft == ("soft",)


def test_concurrent_threads_never_pass_the_limit(redis_server: RedisServer, prefix: str) -> None:
    state = RedisBudgets([Budget(limit_usd=50, name="g")], url=redis_server.url, prefix=prefix)
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(20):
            try:
                state.reserve({}, usd(1))
                granted.append(1)
            except BudgetExceeded:
                pass

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 50 and state.in_flight() == 50


def test_async_reservations_and_rate_limits(redis_server: RedisServer, prefix: str) -> None:
    state = RedisBudgets([RateLimit(3, scope={"key": "k"}, name="k/rpm")], url=redis_server.url, prefix=prefix)

    clear_of_minute_end()

    async def run() -> None:
        holds = [await state.areserve({"key": "k"}, {"requests": Decimal(1)}) for _ in range(3)]
        with pytest.raises(RateLimitExceeded):
            await state.areserve({"key": "k"}, {"requests": Decimal(1)})
        await state.asettle(holds[0], {"requests": Decimal(1)})
        assert state.in_flight() == 2
        await state.aclient.aclose()

    asyncio.run(run())


def test_an_unreachable_server_is_reported(prefix: str) -> None:
    state = RedisBudgets([Budget(limit_usd=1)], url="redis://127.0.0.1:9/0", prefix=prefix)
    with pytest.raises(StoreUnavailable, match="cannot reach Redis"):
        state.reserve({}, usd(1))
