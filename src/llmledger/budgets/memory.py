"""Limit state held in this process: reserve the worst case, settle the actual, release on failure.

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
from typing import Any

from ..errors import BudgetExceeded, ConfigError, RateLimitExceeded
from . import Demand, Limit

__all__ = ["MemoryBudgets", "Reservation", "refusal", "check_unique"]

_ZERO = Decimal(0)
SpentSince = Callable[[Limit, datetime], Decimal]


@dataclass
class _Window:
    start: datetime
    end: datetime
    spent: Decimal
    reserved: Decimal = _ZERO


@dataclass(frozen=True)
class Reservation:
    """What one call holds: an amount in each limit's window it is in; and the soft budgets it takes past their
    limit (let through, to be alerted on)."""

    holds: tuple[tuple[Limit, datetime, Decimal], ...]
    over_soft: tuple[str, ...] = ()


NOTHING = Reservation(())


def check_unique(limits: Sequence[Limit]) -> None:
    names = [b.name for b in limits]
    if len(set(names)) != len(names):
        raise ConfigError(f"budget and rate limit names must be unique; got {', '.join(sorted(names))}")


def refusal(limit: Limit, spent: Decimal, reserved: Decimal, amount: Decimal, end: datetime, now: datetime,
            error: type[BudgetExceeded] = BudgetExceeded) -> BudgetExceeded:
    """The error for a refused call, with what to do about it."""
    retry_after = max(1, math.ceil((end - now).total_seconds()))
    if limit.metric == "usd":
        return error(
            f"budget {limit.name!r} would be exceeded: ${spent} spent and ${reserved} reserved of ${limit.limit} "
            f"this {limit.window}, and this call may cost up to ${amount}; lower max_tokens, raise the budget, or "
            f"retry after {end.isoformat()}",
            budget=limit.name, limit=Decimal(limit.limit), spent=spent, reserved=reserved, requested=amount,
            retry_after=retry_after,
        )
    return RateLimitExceeded(
        f"rate limit {limit.name!r} reached: {spent + reserved} of {limit.limit} {limit.metric} this "
        f"{limit.window} (this call needs {amount}); retry after {retry_after} s",
        budget=limit.name, limit=Decimal(limit.limit), spent=spent, reserved=reserved, requested=amount,
        retry_after=retry_after,
    )


class MemoryBudgets:
    def __init__(
        self, limits: Sequence[Limit], *, spent_since: SpentSince | None = None,
        error: type[BudgetExceeded] = BudgetExceeded,
    ) -> None:
        check_unique(limits)
        self.budgets = tuple(limits)
        self.spent_since = spent_since
        self.error = error  # the class to raise for dollar budgets (the SDK mixes in its client's own error class)
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._in_flight = 0

    def set_limits(self, limits: Sequence[Limit]) -> None:
        """Replace the standing limits (windows already started keep their state, by name)."""
        check_unique(limits)
        self.budgets = tuple(limits)

    def reserve(
        self, dims: Mapping[str, str], demand: Demand, *, extra: Sequence[Limit] = (), now: datetime | None = None,
    ) -> Reservation:
        """Hold the call's demand in every limit in scope (the standing ones, and `extra`, e.g. its key's), or
        raise `BudgetExceeded` / `RateLimitExceeded` (holding nothing) if a hard one would be crossed."""
        now = now or datetime.now(UTC)
        applicable = [b for b in (*self.budgets, *extra) if b.applies_to(dims)]
        if not applicable:
            return NOTHING
        with self._lock:
            windows = [(b, self._window(b, now), demand.get(b.metric, _ZERO)) for b in applicable]
            for limit, window, amount in windows:
                if limit.mode == "hard" and window.spent + window.reserved + amount > limit.cap:
                    raise refusal(limit, window.spent, window.reserved, amount, window.end, now, self.error)
            over = tuple(b.name for b, w, amount in windows
                         if b.mode == "soft" and w.spent + w.reserved + amount > b.cap)
            for _, window, amount in windows:
                window.reserved += amount
            self._in_flight += 1
            return Reservation(tuple((b, w.start, amount) for b, w, amount in windows), over)

    def settle(self, reservation: Reservation, actual: Demand) -> None:
        """The call ended: swap its holds for what it actually used."""
        self._finish(reservation, actual)

    def release(self, reservation: Reservation) -> None:
        """The call used nothing: drop its holds."""
        self._finish(reservation, {})

    def status(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        now = now or datetime.now(UTC)
        with self._lock:
            out = []
            for limit in self.budgets:
                window = self._window(limit, now)  # (a key's own limits show in its key's status)
                out.append({"name": limit.name, "metric": limit.metric, "limit": limit.limit, "spent": window.spent,
                            "reserved": window.reserved, "window_start": window.start, "window_end": window.end})
            return out

    def in_flight(self) -> int:
        """Reservations held by calls still running."""
        return self._in_flight

    def _finish(self, reservation: Reservation, actual: Demand) -> None:
        if not reservation.holds:
            return
        with self._lock:
            self._in_flight -= 1
            for limit, start, amount in reservation.holds:
                window = self._windows.get(limit.name)
                if window is None or window.start != start:
                    continue  # the window rolled over meanwhile: the ledger has the spend
                window.reserved -= amount
                window.spent += actual.get(limit.metric, _ZERO)

    def _window(self, limit: Limit, now: datetime) -> _Window:
        window = self._windows.get(limit.name)
        if window is None or not window.start <= now < window.end:
            start, end = limit.window_at(now)
            spent = self.spent_since(limit, start) if self.spent_since and limit.metric == "usd" else _ZERO
            window = self._windows[limit.name] = _Window(start, end, spent)
        return window
