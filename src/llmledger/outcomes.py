"""Outcomes: what an app says a session achieved (``ticket_resolved``, ``report_written``), so spend can be read as
cost per outcome. An outcome names its session; the session's calls are what it cost.

``llmledger.outcome("ticket_resolved")`` inside ``llmledger.session(...)`` records one, with the tags in force.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .attribution import current, validate_tags
from .errors import ConfigError, LedgerError
from .events import new_event_id

if TYPE_CHECKING:
    from .ledger import Filter, Ledger
    from .ledger.store import SQLStore

__all__ = ["Outcome", "OutcomeStore", "outcome"]

log = logging.getLogger("llmledger.outcomes")
_MAX_NAME = 64


@dataclass(frozen=True)
class Outcome:
    name: str
    session_id: str | None
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    value: Decimal | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    id: str = field(default_factory=new_event_id)

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > _MAX_NAME or not self.name.replace("_", "").replace(".", "").isalnum():
            raise ConfigError(f"outcome name {self.name!r}: use letters, digits, _ and . (up to {_MAX_NAME}), "
                              "e.g. ticket_resolved")


def build(name: object, value: object = None, *, session: object = None,
          tags: Mapping[str, Any] | None = None) -> Outcome:
    """A checked outcome from untrusted parts (the SDK's arguments, the gateway's JSON)."""
    if not isinstance(name, str):
        raise ConfigError(f"outcome name {name!r}: a string, e.g. ticket_resolved")
    if session is not None and (not isinstance(session, str) or not 0 < len(session) <= 256):
        raise ConfigError(f"outcome session {session!r}: a session id, a string of at most 256 characters")
    return Outcome(name=name, session_id=session, value=_value(value),
                   tags=validate_tags(tags or {}, where="outcome tags"))


def _value(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"outcome value {value!r} is not a number") from None
    if not number.is_finite():
        raise ConfigError(f"outcome value {value!r} is not a finite number")
    return number


class OutcomeStore:
    """Outcomes in the ledger database (table ``outcomes``, migration 0008)."""

    def __init__(self, store: SQLStore) -> None:
        self.store = store

    def add(self, item: Outcome) -> None:
        self.add_all([item])

    def add_all(self, items: Sequence[Outcome]) -> None:
        """Store outcomes (an id already stored is skipped), in one transaction."""
        self.store.execute_many(
            "INSERT INTO outcomes (id, ts, name, session_id, value, tags) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            [(o.id, _ts(o.ts), o.name, o.session_id, None if o.value is None else str(o.value),
              json.dumps(dict(o.tags), sort_keys=True)) for o in items],
        )

    def list(self, since: datetime | None = None, until: datetime | None = None,
             where: Sequence[Filter] = (), *, session_id: str | None = None) -> list[Outcome]:
        """Outcomes in [since, until), oldest first, whose tags (or session) match every filter."""
        clauses, params = [], []
        if since is not None:
            clauses.append("ts >= ?")
            params.append(_ts(since))
        if until is not None:
            clauses.append("ts < ?")
            params.append(_ts(until))
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        clause = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.store.fetch(f"SELECT id, ts, name, session_id, value, tags FROM outcomes{clause} ORDER BY ts, id",
                                params)
        found = [Outcome(id=r[0], ts=datetime.fromisoformat(r[1]), name=r[2], session_id=r[3],
                         value=None if r[4] is None else Decimal(r[4]), tags=json.loads(r[5])) for r in rows]
        return [o for o in found if all(_matches(o, f) for f in where)]


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _matches(item: Outcome, f: Filter) -> bool:
    value = item.session_id if f.dimension == "session" else item.tags.get(f.dimension)
    hit = value in (f.value if isinstance(f.value, tuple) else (f.value,))
    return hit != f.negate


def outcome(name: str, value: object = None, *, session: str | None = None, tags: Mapping[str, Any] | None = None,
            ledger: Ledger | None = None) -> Outcome:
    """Record that the current session (or `session`) achieved `name`, with the tags in force plus `tags`.
    Written at once (outcomes are rare); a ledger that cannot be written is logged, never raised."""
    context = current()
    item = build(name, value, session=session or context.session_id, tags={**context.tags, **(tags or {})})
    if item.session_id is None:
        log.warning("outcome %s recorded outside a session: it counts, but no calls can be tied to it", name)
    if ledger is None:
        from .sdk import default_ledger

        ledger = default_ledger()
    try:
        OutcomeStore(ledger.store).add(item)
    except LedgerError as exc:
        log.error("outcome %s not recorded: %s", name, exc)
    return item
