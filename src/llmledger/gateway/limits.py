"""The gateway's async view of the limit state: in memory for one replica, in Redis for several."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from ..budgets import Demand, Limit
from ..budgets.memory import Reservation

__all__ = ["Limits", "LimitState"]


class LimitState(Protocol):
    budgets: tuple[Limit, ...]  # the standing limits

    def reserve(self, dims: Mapping[str, str], demand: Demand, *, extra: Sequence[Limit] = ()) -> Reservation: ...
    def settle(self, reservation: Reservation, actual: Demand) -> None: ...
    def in_flight(self) -> int: ...
    def set_limits(self, limits: Sequence[Limit]) -> None: ...


class Limits:
    """Reserve and settle without blocking the event loop: a remote state (Redis) through its async client.

    `standing` reads the limits that apply besides each key's own (the config's, and those set with
    `llmledger budgets set`); `refresh()` re-reads them, so a budget set while the gateway runs takes effect.
    """

    def __init__(self, state: LimitState, *, remote: bool,
                 standing: Callable[[], Sequence[Limit]] | None = None) -> None:
        self.state = state
        self.remote = remote
        self.standing = standing

    async def refresh(self) -> None:
        if self.standing is not None:
            self.state.set_limits(await asyncio.to_thread(self.standing))

    async def reserve(self, dims: Mapping[str, str], demand: Demand, *, extra: Sequence[Limit] = ()) -> Reservation:
        if self.remote:
            return await self.state.areserve(dims, demand, extra=extra)  # type: ignore[attr-defined, no-any-return]
        return self.state.reserve(dims, demand, extra=extra)

    async def settle(self, reservation: Reservation, actual: Demand) -> None:
        if not reservation.holds:
            return
        if self.remote:
            await self.state.asettle(reservation, actual)  # type: ignore[attr-defined]
        else:
            self.state.settle(reservation, actual)

    def in_flight(self) -> int:
        return self.state.in_flight()
