"""Budgets: a spending limit over a calendar window for a scope (global, or any tags, model, provider).

One budget model serves every place that enforces or watches spend: the SDK's client-side guard, the gateway and
the alerts. Enforcement is by reservation (see `memory.py`): reserve a call's worst case before it is sent, settle
to the actual cost when it ends, release on failure; so concurrent calls cannot overspend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ConfigError

__all__ = ["Budget", "RateLimit", "Limit", "WINDOWS", "window_bounds", "Demand"]

WINDOWS = ("minute", "hour", "day", "week", "month")
MODES = ("hard", "soft")
# What one call asks of the limits: its worst-case dollars, one request, its worst-case tokens.
Demand = Mapping[str, Decimal]


def window_bounds(window: str, at: datetime) -> tuple[datetime, datetime]:
    """The calendar window (UTC) holding `at`: [start, end). Weeks start on Monday."""
    at = at.astimezone(UTC)
    if window == "minute":
        start = at.replace(second=0, microsecond=0)
        return start, start + timedelta(minutes=1)
    if window == "hour":
        start = at.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return day, day + timedelta(days=1)
    if window == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if window == "month":
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    raise ConfigError(f"budget window {window!r} is not one of {', '.join(WINDOWS)}")


def in_scope(scope: Mapping[str, str], dims: Mapping[str, str]) -> bool:
    return all(dims.get(key) == value for key, value in scope.items())


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        raise ConfigError(f"{where} must be a number of dollars, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where} must be a number of dollars, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{where} must be zero or more dollars, got {value!r}")
    return amount


@dataclass(frozen=True)
class Budget:
    """At most `limit_usd` per `window` for calls whose attribution matches `scope` (all calls when empty).

    `mode` ``hard`` refuses calls whose worst case would cross the limit (plus `tolerance_usd`); ``soft`` lets
    them through and only alerts.
    """

    limit_usd: Decimal
    window: str = "day"
    scope: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    mode: str = "hard"
    tolerance_usd: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "limit_usd", _money(self.limit_usd, "budget limit_usd"))
        set_(self, "tolerance_usd", _money(self.tolerance_usd, "budget tolerance_usd"))
        if self.window not in WINDOWS:
            raise ConfigError(f"budget window {self.window!r} is not one of {', '.join(WINDOWS)}")
        if self.mode not in MODES:
            raise ConfigError(f"budget mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not isinstance(self.scope, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.scope.items()
        ):
            raise ConfigError(f"budget scope must map names to strings, e.g. {{tenant: acme}}; got {self.scope!r}")
        set_(self, "scope", dict(self.scope))
        if not self.name:
            where = ",".join(f"{k}={v}" for k, v in sorted(self.scope.items())) or "global"
            set_(self, "name", f"{where}/{self.window}")

    metric = "usd"

    @property
    def limit(self) -> Decimal:
        return self.limit_usd

    @property
    def cap(self) -> Decimal:
        """The most the window may hold before a hard budget refuses (limit plus tolerance)."""
        return self.limit_usd + self.tolerance_usd

    def applies_to(self, dims: Mapping[str, str]) -> bool:
        """True when a call with these attributes (tags, model, provider, key) is in this budget's scope."""
        return in_scope(self.scope, dims)

    def window_at(self, at: datetime) -> tuple[datetime, datetime]:
        return window_bounds(self.window, at)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests (or tokens) per `window` (a minute by default) for calls in `scope`. Always hard.

    Token limits count each call's worst case (input + max_tokens) while it runs and its actual tokens after.
    """

    limit: int
    metric: str = "requests"
    scope: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    window: str = "minute"

    mode = "hard"

    @property
    def cap(self) -> Decimal:
        return Decimal(self.limit)

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 0:
            raise ConfigError(
                f"rate limit must be a whole number of {self.metric} per {self.window}, got {self.limit!r}"
            )
        if self.metric not in ("requests", "tokens"):
            raise ConfigError(f"rate limit metric {self.metric!r} is not one of requests, tokens")
        if self.window not in WINDOWS:
            raise ConfigError(f"rate limit window {self.window!r} is not one of {', '.join(WINDOWS)}")
        object.__setattr__(self, "scope", dict(self.scope))
        if not self.name:
            where = ",".join(f"{k}={v}" for k, v in sorted(self.scope.items())) or "global"
            object.__setattr__(self, "name", f"{where}/{self.metric}-per-{self.window}")

    def applies_to(self, dims: Mapping[str, str]) -> bool:
        return in_scope(self.scope, dims)

    def window_at(self, at: datetime) -> tuple[datetime, datetime]:
        return window_bounds(self.window, at)


Limit = Budget | RateLimit
