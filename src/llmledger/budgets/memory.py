"""Budget state held in this process: reserve the worst case, settle the actual cost, release on failure.

All changes happen under one lock, so a reservation that would cross a hard limit is refused even when many
threads call at once. Spend from before this process started is read from the ledger (``spent_since``) when a
window is first used.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from ..errors import BudgetExceeded, ConfigError
from . import Budget

__all__ = ["MemoryBudgets", "Reservation"]

_ZERO = Decimal(0)
SpentSince = Callable[[Budget, datetime], Decimal]


@dataclass
class _Window:
    start: datetime
    end: datetime
    spent: Decimal
    reserved: Decimal = _ZERO


@dataclass(frozen=True)
class Reservation:
    """What one call holds: an amount in each budget window it is in."""

    holds: tuple[tuple[Budget, datetime, Decimal], ...]


_NOTHING = Reservation(())


class MemoryBudgets:
    def __init__(
        self, budgets: Sequence[Budget], *, spent_since: SpentSince | None = None,
        error: type[BudgetExceeded] = BudgetExceeded,
    ) -> None:
        self.budgets = tuple(budgets)
        names = [b.name for b in self.budgets]
        if len(set(names)) != len(names):
            raise ConfigError(f"budget names must be unique; got {', '.join(sorted(names))}")
        self.spent_since = spent_since
        self.error = error  # the class to raise (the SDK mixes in its client's own error class)
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def reserve(self, dims: Mapping[str, str], amount: Decimal, *, now: datetime | None = None) -> Reservation:
        """Hold `amount` in every budget in scope, or raise `BudgetExceeded` (holding nothing) if a hard one
        would be crossed."""
        now = now or datetime.now(UTC)
        applicable = [b for b in self.budgets if b.applies_to(dims)]
        if not applicable:
            return _NOTHING
        with self._lock:
            windows = [(b, self._window(b, now)) for b in applicable]
            for budget, window in windows:
                if budget.mode == "hard" and window.spent + window.reserved + amount > (
                    budget.limit_usd + budget.tolerance_usd
                ):
                    raise self._refusal(budget, window, amount, now)
            for _, window in windows:
                window.reserved += amount
            return Reservation(tuple((b, w.start, amount) for b, w in windows))

    def settle(self, reservation: Reservation, actual: Decimal) -> None:
        """The call ended and cost `actual`: swap its hold for the spend."""
        self._finish(reservation, actual)

    def release(self, reservation: Reservation) -> None:
        """The call failed before costing anything: drop its hold."""
        self._finish(reservation, _ZERO)

    def status(self, *, now: datetime | None = None) -> list[dict[str, object]]:
        now = now or datetime.now(UTC)
        with self._lock:
            out = []
            for budget in self.budgets:
                window = self._window(budget, now)
                out.append({"budget": budget.name, "limit": budget.limit_usd, "spent": window.spent,
                            "reserved": window.reserved, "window_start": window.start, "window_end": window.end})
            return out

    def _finish(self, reservation: Reservation, actual: Decimal) -> None:
        with self._lock:
            for budget, start, amount in reservation.holds:
                window = self._windows.get(budget.name)
                if window is None or window.start != start:
                    continue  # the window rolled over meanwhile: the ledger has the spend
                window.reserved -= amount
                window.spent += actual

    def _window(self, budget: Budget, now: datetime) -> _Window:
        window = self._windows.get(budget.name)
        if window is None or not window.start <= now < window.end:
            start, end = budget.window_at(now)
            spent = self.spent_since(budget, start) if self.spent_since else _ZERO
            window = self._windows[budget.name] = _Window(start, end, spent)
        return window

    def _refusal(self, budget: Budget, window: _Window, amount: Decimal, now: datetime) -> BudgetExceeded:
        retry_after = max(1, math.ceil((window.end - now).total_seconds()))
        return self.error(
            f"budget {budget.name!r} would be exceeded: ${window.spent} spent and ${window.reserved} reserved of "
            f"${budget.limit_usd} this {budget.window}, and this call may cost up to ${amount}; lower max_tokens, "
            f"raise the budget, or retry after {window.end.isoformat()}",
            budget=budget.name, limit=budget.limit_usd, spent=window.spent, reserved=window.reserved,
            requested=amount, retry_after=retry_after,
        )
