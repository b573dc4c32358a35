"""Sessions (agent runs): what each cost, how many calls it made, and how its input context grew call by call.

A loop that resends its whole history grows its input every call, so its total input grows quadratically with
the number of calls; `growth` (last call's input over the first's) and the per-call series make that visible.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ..events import UsageEvent
from ..ledger import Filter, Ledger, ReportQuery

__all__ = ["SessionSummary", "sessions", "session_calls"]


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    parent_id: str | None
    calls: int
    cost: Decimal
    unpriced: int
    estimated: int
    first: datetime
    last: datetime
    input_per_call: tuple[int, ...]  # total input tokens (cached included) of each call, in order
    tags: dict[str, str]  # the tags every call in the session shares

    @property
    def growth(self) -> float:
        """The last call's input over the first's (1.0 for flat; an agent resending its history grows)."""
        first = self.input_per_call[0] if self.input_per_call else 0
        return self.input_per_call[-1] / first if first else 1.0


def session_calls(ledger: Ledger, session_id: str, query: ReportQuery | None = None) -> list[UsageEvent]:
    """A session's calls, oldest first."""
    base = query or ReportQuery()
    return list(ledger.events(replace(base, where=(*base.where, Filter("session", session_id)))))


def summarize(session_id: str, calls: list[UsageEvent]) -> SessionSummary:
    shared = dict(calls[0].tags) if calls else {}
    for event in calls[1:]:
        shared = {k: v for k, v in shared.items() if event.tags.get(k) == v}
    return SessionSummary(
        session_id=session_id,
        parent_id=next((e.parent_id for e in calls if e.parent_id), None),
        calls=len(calls),
        cost=sum((e.cost.total or Decimal(0) for e in calls), Decimal(0)),
        unpriced=sum(e.cost.status == "unpriced" for e in calls),
        estimated=sum(e.estimated for e in calls),
        first=calls[0].ts,
        last=calls[-1].ts,
        input_per_call=tuple(e.usage.total_input for e in calls),
        tags=shared,
    )


def sessions(ledger: Ledger, query: ReportQuery | None = None, *, limit: int = 20) -> list[SessionSummary]:
    """The most expensive sessions in the selection (cost, then calls), with their calls summarized."""
    base = query or ReportQuery()
    rows = ledger.report(replace(base, by=("session",), limit=limit + 1))  # one may be the calls outside any
    rows = [r for r in rows if r["session"] is not None]
    return [summarize(r["session"], session_calls(ledger, r["session"], base)) for r in rows[:limit]]
