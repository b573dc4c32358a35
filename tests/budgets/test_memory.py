"""Budget windows and in-memory reservations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llmledger import Budget, BudgetExceeded, ConfigError
from llmledger.budgets import window_bounds
from llmledger.budgets.memory import MemoryBudgets

AT = datetime(2026, 11, 25, 15, 42, 7, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("window", "start", "end"),
    [
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
    hold = budgets.reserve({"tenant": "acme"}, Decimal(6), now=AT)
    with pytest.raises(BudgetExceeded) as refused:
        budgets.reserve({"tenant": "acme"}, Decimal(5), now=AT)
    assert (refused.value.reserved, refused.value.retry_after) == (6, 8 * 3600 + 17 * 60 + 53)
    budgets.settle(hold, Decimal(2))  # it cost less than its worst case: the rest is free again
    second = budgets.reserve({"tenant": "acme"}, Decimal(8), now=AT)
    budgets.release(second)
    [status] = budgets.status(now=AT)
    assert (status["spent"], status["reserved"]) == (2, 0)
    assert budgets.reserve({"tenant": "other"}, Decimal(100), now=AT).holds == ()  # out of scope


def test_soft_budgets_never_refuse_and_tolerance_is_allowed() -> None:
    budgets = MemoryBudgets([Budget(limit_usd=1, mode="soft", name="soft"),
                             Budget(limit_usd=1, tolerance_usd="0.5", name="hard")])
    budgets.reserve({}, Decimal("1.4"), now=AT)
    with pytest.raises(BudgetExceeded, match="'hard'"):
        budgets.reserve({}, Decimal("0.2"), now=AT)


def test_a_new_window_starts_from_the_ledgers_spend() -> None:
    asked: list[datetime] = []

    def spent_since(budget: Budget, start: datetime) -> Decimal:
        asked.append(start)
        return Decimal(9)

    budgets = MemoryBudgets([Budget(limit_usd=10, window="hour")], spent_since=spent_since)
    with pytest.raises(BudgetExceeded):
        budgets.reserve({}, Decimal(2), now=AT)
    budgets.reserve({}, Decimal(1), now=AT)
    budgets.reserve({}, Decimal(1), now=AT.replace(hour=16))  # next hour: read again
    assert asked == [AT.replace(minute=0, second=0), AT.replace(hour=16, minute=0, second=0)]


def test_concurrent_reservations_never_pass_the_limit() -> None:
    budgets = MemoryBudgets([Budget(limit_usd=100)])
    granted: list[int] = []
    start = threading.Barrier(16)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            try:
                budgets.reserve({}, Decimal(1), now=AT)
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
