"""Budget windows and in-memory reservations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llmledger import Budget, BudgetExceeded, ConfigError
from llmledger.budgets import RateLimit, window_bounds
from llmledger.budgets.memory import MemoryBudgets
from llmledger.errors import RateLimitExceeded

AT = datetime(2026, 11, 25, 15, 42, 7, tzinfo=UTC)  # a Wednesday


def usd(amount: int | str) -> dict[str, Decimal]:
    return {"usd": Decimal(amount), "requests": Decimal(1)}


@pytest.mark.parametrize(
    ("window", "start", "end"),
    [
        ("minute", datetime(2026, 11, 25, 15, 42, tzinfo=UTC), datetime(2026, 11, 25, 15, 43, tzinfo=UTC)),
        ("hour", datetime(2026, 11, 25, 15, tzinfo=UTC), datetime(2026, 11, 25, 16, tzinfo=UTC)),
        ("day", datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)),
        ("week", datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
        ("month", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_windows_are_calendar_aligned_in_utc(window: str, start: datetime, end: datetime) -> None:
    assert window_bounds(window, AT) == (start, end)


def test_december_rolls_into_next_year() -> None:
    assert window_bounds("month", datetime(2026, 12, 31, 23, tzinfo=UTC))[1] == datetime(2027, 1, 1, tzinfo=UTC)


def test_reserve_settle_release() -> None:
    budgets = MemoryBudgets([Budget(limit_usd=10, scope={"tenant": "acme"})])
    hold = budgets.reserve({"tenant": "acme"}, usd(6), now=AT)
    with pytest.raises(BudgetExceeded) as refused:
        budgets.reserve({"tenant": "acme"}, usd(5), now=AT)
    assert (refused.value.reserved, refused.value.retry_after) == (6, 8 * 3600 + 17 * 60 + 53)
    budgets.settle(hold, usd(2))  # it cost less than its worst case: the rest is free again
    second = budgets.reserve({"tenant": "acme"}, usd(8), now=AT)
    budgets.release(second)
    [status] = budgets.status(now=AT)
    assert (status["spent"], status["reserved"]) == (2, 0)
    assert budgets.reserve({"tenant": "other"}, usd(100), now=AT).holds == ()  # out of scope


def test_soft_budgets_never_refuse_and_tolerance_is_allowed() -> None:
    budgets = MemoryBudgets([Budget(limit_usd=1, mode="soft", name="soft"),
                             Budget(limit_usd=1, tolerance_usd="0.5", name="hard")])
    held = budgets.reserve({}, usd("1.4"), now=AT)
    assert held.over_soft == ("soft",)  # let through, named for alerting
    with pytest.raises(BudgetExceeded, match="'hard'"):
        budgets.reserve({}, usd("0.2"), now=AT)


def test_a_new_window_starts_from_the_ledgers_spend() -> None:
    asked: list[datetime] = []

    def spent_since(budget: Budget, start: datetime) -> Decimal:
        asked.append(start)
        return Decimal(9)

    budgets = MemoryBudgets([Budget(limit_usd=10, window="hour")], spent_since=spent_since)
    with pytest.raises(BudgetExceeded):
        budgets.reserve({}, usd(2), now=AT)
    budgets.reserve({}, usd(1), now=AT)
    budgets.reserve({}, usd(1), now=AT.replace(hour=16))  # next hour: read again
    assert asked == [AT.replace(minute=0, second=0), AT.replace(hour=16, minute=0, second=0)]


def test_concurrent_reservations_never_pass_the_limit() -> None:
    budgets = MemoryBudgets([Budget(limit_usd=100)])
    granted: list[int] = []
    start = threading.Barrier(16)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            try:
                budgets.reserve({}, usd(1), now=AT)
                granted.append(1)
            except BudgetExceeded:
                pass

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 100


def test_duplicate_budget_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="unique"):
        MemoryBudgets([Budget(limit_usd=1), Budget(limit_usd=2)])


def test_rate_limits_count_requests_and_tokens_per_minute() -> None:
    limits = MemoryBudgets([RateLimit(3, scope={"key": "k1"}), RateLimit(1000, metric="tokens", scope={"key": "k1"})])
    call = {"usd": Decimal(1), "requests": Decimal(1), "tokens": Decimal(400)}
    first = limits.reserve({"key": "k1"}, call, now=AT)
    limits.reserve({"key": "k1"}, call, now=AT)
    with pytest.raises(RateLimitExceeded) as refused:  # 800 + 400 tokens > 1000
        limits.reserve({"key": "k1"}, call, now=AT)
    assert refused.value.code == "rate_limit_exceeded" and refused.value.retry_after == 53
    limits.settle(first, {"requests": Decimal(1), "tokens": Decimal(50)})  # it used far fewer tokens
    limits.reserve({"key": "k1"}, call, now=AT)
    with pytest.raises(RateLimitExceeded, match="3 of 3 requests"):  # the fourth request this minute
        limits.reserve({"key": "k1"}, {"requests": Decimal(1)}, now=AT)
    limits.reserve({"key": "k1"}, call, now=AT.replace(minute=43))  # a new minute
    with pytest.raises(ConfigError, match="whole number"):
        RateLimit(-1)
