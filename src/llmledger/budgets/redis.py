"""Limit state in Redis, shared by every gateway replica: the same reserve → settle → release as `memory.py`.

Each limit window is two integer keys, ``spent`` and ``reserved`` (dollars in nano-dollars, so comparisons stay
exact inside Lua's doubles up to $9 million; requests and tokens as counts). One Lua script checks every limit
in scope (and names the soft ones it takes past their limit) and then holds the call's demand in all of them,
atomically: concurrent calls on any replica cannot
pass a hard limit. Keys expire a day after their window ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ..errors import BudgetExceeded, StoreUnavailable
from . import Demand, Limit
from .memory import NOTHING, Reservation, check_unique, refusal

__all__ = ["RedisBudgets"]

_NANO = Decimal(10) ** 9
_GRACE = 86_400  # seconds a window's keys outlive it

_RESERVE = """
local n = tonumber(ARGV[1])
local over = {0}
for i = 1, n do
  local a = 1 + (i - 1) * 4
  local spent = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local reserved = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  if spent + reserved + tonumber(ARGV[a + 3]) > tonumber(ARGV[a + 1]) then
    if ARGV[a + 2] == '1' then
      return {i, tostring(spent), tostring(reserved)}
    end
    table.insert(over, i)
  end
end
for i = 1, n do
  local a = 1 + (i - 1) * 4
  redis.call('INCRBY', KEYS[2 * i], ARGV[a + 3])
  redis.call('EXPIRE', KEYS[2 * i], ARGV[a + 4])
end
return over
"""

_SETTLE = """
local n = tonumber(ARGV[1])
for i = 1, n do
  local a = 1 + (i - 1) * 3
  redis.call('DECRBY', KEYS[2 * i], ARGV[a + 1])
  redis.call('INCRBY', KEYS[2 * i - 1], ARGV[a + 2])
  redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[a + 3])
end
return 0
"""


@dataclass
class _Plan:
    keys: list[str]
    args: list[Any]
    holds: list[tuple[Limit, datetime, Decimal]]
    ends: list[datetime]
    unseeded: list[tuple[Limit, datetime, str, int]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or 0)


def _units(limit: Limit, amount: Decimal) -> int:
    scaled = amount * _NANO if limit.metric == "usd" else amount
    return int(scaled.to_integral_value(ROUND_CEILING))


def _amount(limit: Limit, units: Decimal) -> Decimal:
    return units / _NANO if limit.metric == "usd" else units


class RedisBudgets:
    def __init__(
        self, limits: Sequence[Limit], *, url: str, spent_since: Callable[[Limit, datetime], Decimal] | None = None,
        prefix: str = "llmledger:limit:", error: type[BudgetExceeded] = BudgetExceeded,
    ) -> None:
        import redis  # an extra: pip install "llmledger[redis]"
        import redis.asyncio

        check_unique(limits)
        self.budgets = tuple(limits)
        self.spent_since = spent_since
        self.prefix = prefix
        self.error = error
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self.aclient = redis.asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._reserve: Any = self.client.register_script(_RESERVE)
        self._settle: Any = self.client.register_script(_SETTLE)
        self._areserve: Any = self.aclient.register_script(_RESERVE)
        self._asettle: Any = self.aclient.register_script(_SETTLE)
        self._started: set[str] = set()  # windows whose spend this process has seeded from the ledger
        self._lock = threading.Lock()
        self._in_flight = 0

    def set_limits(self, limits: Sequence[Limit]) -> None:
        check_unique(limits)
        self.budgets = tuple(limits)

    def _keys(self, limit: Limit, start: datetime) -> tuple[str, str]:
        base = f"{self.prefix}{limit.name}:{start.strftime('%Y%m%dT%H%M')}"
        return f"{base}:spent", f"{base}:reserved"

    def _seed(self, pending: list[tuple[Limit, datetime, str, int]]) -> None:
        """Windows' first use (in this process): start them from the ledger's spend, unless a replica did."""
        for limit, start, spent_key, ttl in pending:
            if limit.metric == "usd" and self.spent_since is not None and not self.client.exists(spent_key):
                self.client.set(spent_key, _units(limit, self.spent_since(limit, start)), nx=True, ex=ttl)
            with self._lock:
                self._started.add(spent_key)

    def _plan(self, dims: Mapping[str, str], demand: Demand, extra: Sequence[Limit], now: datetime) -> _Plan | None:
        applicable = [b for b in (*self.budgets, *extra) if b.applies_to(dims)]
        if not applicable:
            return None
        plan = _Plan(keys=[], args=[len(applicable)], holds=[], ends=[], unseeded=[])
        for limit in applicable:
            start, end = limit.window_at(now)
            ttl = int((end - now).total_seconds()) + _GRACE
            spent_key, reserved_key = self._keys(limit, start)
            if spent_key not in self._started:
                plan.unseeded.append((limit, start, spent_key, ttl))
            amount = demand.get(limit.metric, Decimal(0))
            plan.keys += [spent_key, reserved_key]
            plan.args += [_units(limit, limit.cap), "1" if limit.mode == "hard" else "0", _units(limit, amount), ttl]
            plan.holds.append((limit, start, amount))
            plan.ends.append(end)
        return plan

    def _outcome(self, plan: _Plan, result: Any, now: datetime) -> Reservation:
        refused = int(result[0])
        if refused:
            limit, _, amount = plan.holds[refused - 1]
            spent, reserved = (_amount(limit, Decimal(_text(v))) for v in result[1:])
            raise refusal(limit, spent, reserved, amount, plan.ends[refused - 1], now, self.error)
        with self._lock:
            self._in_flight += 1
        over = tuple(plan.holds[int(i) - 1][0].name for i in result[1:])
        return Reservation(tuple(plan.holds), over)

    def reserve(
        self, dims: Mapping[str, str], demand: Demand, *, extra: Sequence[Limit] = (), now: datetime | None = None,
    ) -> Reservation:
        now = now or datetime.now(UTC)
        plan = self._plan(dims, demand, extra, now)
        if plan is None:
            return NOTHING
        try:
            self._seed(plan.unseeded)
            result = self._reserve(keys=plan.keys, args=plan.args)
        except self._redis_errors as exc:
            raise StoreUnavailable(f"cannot reach Redis for budgets and rate limits: {exc}") from exc
        return self._outcome(plan, result, now)

    async def areserve(self, dims: Mapping[str, str], demand: Demand, *, extra: Sequence[Limit] = ()) -> Reservation:
        """`reserve` for an event loop: one round trip on the async client (seeding a new window, which reads
        the ledger, runs in a thread)."""
        now = datetime.now(UTC)
        plan = self._plan(dims, demand, extra, now)
        if plan is None:
            return NOTHING
        try:
            if plan.unseeded:
                await asyncio.to_thread(self._seed, plan.unseeded)
            result = await self._areserve(keys=plan.keys, args=plan.args)
        except self._redis_errors as exc:
            raise StoreUnavailable(f"cannot reach Redis for budgets and rate limits: {exc}") from exc
        return self._outcome(plan, result, now)

    def settle(self, reservation: Reservation, actual: Demand) -> None:
        if reservation.holds:
            try:
                keys, args = self._settlement(reservation, actual)
                self._settle(keys=keys, args=args)
            except self._redis_errors as exc:
                raise StoreUnavailable(f"cannot reach Redis to settle a reservation: {exc}") from exc

    async def asettle(self, reservation: Reservation, actual: Demand) -> None:
        if reservation.holds:
            try:
                keys, args = self._settlement(reservation, actual)
                await self._asettle(keys=keys, args=args)
            except self._redis_errors as exc:
                raise StoreUnavailable(f"cannot reach Redis to settle a reservation: {exc}") from exc

    def release(self, reservation: Reservation) -> None:
        self.settle(reservation, {})

    def in_flight(self) -> int:
        return self._in_flight

    def _settlement(self, reservation: Reservation, actual: Demand) -> tuple[list[str], list[Any]]:
        with self._lock:
            self._in_flight -= 1
        keys: list[str] = []
        args: list[Any] = [len(reservation.holds)]
        now = datetime.now(UTC)
        for limit, start, amount in reservation.holds:
            keys += self._keys(limit, start)
            end = limit.window_at(start)[1]
            args += [_units(limit, amount), _units(limit, actual.get(limit.metric, Decimal(0))),
                     max(1, int((end - now).total_seconds())) + _GRACE]
        return keys, args

    def status(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        now = now or datetime.now(UTC)
        out = []
        for limit in self.budgets:
            start, end = limit.window_at(now)
            spent, reserved = (Decimal(_text(v)) for v in self.client.mget(self._keys(limit, start)))
            out.append({"name": limit.name, "metric": limit.metric, "limit": limit.limit,
                        "spent": _amount(limit, spent), "reserved": _amount(limit, reserved),
                        "window_start": start, "window_end": end})
        return out
