"""What every SQL store shares: migrations, reads, reports and re-pricing over DB-API connections.

A backend (sqlite.py, postgres.py) supplies its connection, its `Dialect` and its fastest bulk insert.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..errors import RejectedEvents, StoreUnavailable
from ..events import UsageEvent
from ..pricing import Cost
from . import query as q
from . import rollup
from .migrations import MIGRATIONS, MIGRATIONS_TABLE
from .schema import COLUMNS, COST_UPDATE_COLUMNS, Dialect, cost_values, from_row, to_row

log = logging.getLogger("llmledger.ledger")
_YIELD_EVERY = 64


class SQLStore:
    dialect: Dialect
    errors: tuple[type[BaseException], ...] = ()  # every error of the driver
    unavailable: tuple[type[BaseException], ...] = ()  # those that mean "the database cannot be used right now"

    def __init__(self, description: str) -> None:
        self.description = description  # for messages: never holds a password
        self._lock = threading.Lock()  # one writer at a time; readers use their own connection

    # -- backends implement these ----------------------------------------------------------------------------------
    def _write_connection(self) -> Any:
        raise NotImplementedError

    def _read_connection(self) -> Any:
        raise NotImplementedError

    def _insert(self, conn: Any, rows: list[tuple[Any, ...]]) -> int:
        """Insert the rows whose id is new; return how many there were."""
        raise NotImplementedError

    # -- a store with a rollup (SQLite) overrides these ---------------------------------------------------------------
    has_rollup = False

    def refresh_rollup(self) -> None:
        """Fold events stored since the last refresh into the rollup."""

    def _rebuild_rollup_days(self, conn: Any, days: set[str]) -> None:
        """Recompute the rollup of these UTC days ('YYYY-MM-DD') from their events."""

    def stale_days(self) -> frozenset[str]:
        """Days whose rollup rows are not up to date yet: reports read those days from the events."""
        return frozenset()

    def close(self) -> None:
        raise NotImplementedError

    def _transaction(self, conn: Any) -> Any:
        return conn  # a DB-API connection as a context manager commits or rolls back

    # -- shared ------------------------------------------------------------------------------------------------------
    @contextmanager
    def _unavailable(self, action: str) -> Iterator[None]:
        try:
            yield
        except self.unavailable as exc:
            raise StoreUnavailable(f"cannot {action} the ledger at {self.description}: {exc}") from exc

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen, in order; returns their names."""
        p = self.dialect.param
        with self._unavailable("migrate"), self._lock:
            conn = self._write_connection()
            with self._transaction(conn):
                cur = conn.cursor()
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                cur.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")
                done = {row[0] for row in cur.fetchall()}
                applied = []
                for migration in MIGRATIONS:
                    if migration.name in done:
                        continue
                    for statement in getattr(migration, self.dialect.name).split(";"):
                        if statement.strip():
                            cur.execute(statement)
                    cur.execute(
                        f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES ({p}, CURRENT_TIMESTAMP)",
                        (migration.name,),
                    )
                    applied.append(migration.name)
        return applied

    def write(self, events: Sequence[UsageEvent]) -> int:
        """Insert events in one transaction; an id already stored is skipped. Returns how many were new."""
        if not events:
            return 0
        dialect = self.dialect
        try:
            rows = []
            for start in range(0, len(events), _YIELD_EVERY):
                rows += [to_row(e, dialect) for e in events[start:start + _YIELD_EVERY]]
                time.sleep(0)  # the writer thread shares the GIL with the application: let it in now and then
        except (OverflowError, ValueError, TypeError) as exc:
            raise RejectedEvents(f"an event cannot be stored: {exc}") from exc
        refused: tuple[type[BaseException], ...] = (*self.errors, OverflowError)
        with self._unavailable("write to"), self._lock:
            conn = self._write_connection()
            try:
                with self._transaction(conn):
                    inserted = self._insert(conn, rows)
                    self._insert_content(conn, [e for e in events if e.content is not None])
                    return inserted
            except self.unavailable:
                raise
            except refused as exc:
                raise RejectedEvents(f"the ledger at {self.description} refused the events: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction (small admin tables: keys, budgets); returns rows changed.
        Write `?` for parameters."""
        with self._unavailable("write to"), self._lock:
            conn = self._write_connection()
            with self._transaction(conn):
                cur = conn.cursor()
                cur.execute(sql.replace("?", self.dialect.param), params)
                return int(cur.rowcount)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One write statement for each of `rows`, all in one transaction (`?` for parameters)."""
        if not rows:
            return
        with self._unavailable("write to"), self._lock:
            conn = self._write_connection()
            with self._transaction(conn):
                conn.cursor().executemany(sql.replace("?", self.dialect.param), rows)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read statement (`?` for parameters)."""
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            cur.execute(sql.replace("?", self.dialect.param), params)
            return [tuple(row) for row in cur.fetchall()]

    def _insert_content(self, conn: Any, events: list[UsageEvent]) -> None:
        if not events:
            return
        p = self.dialect.param
        conn.cursor().executemany(
            f"INSERT INTO usage_content (event_id, request, response) VALUES ({p}, {p}, {p}) "
            "ON CONFLICT (event_id) DO NOTHING",
            [(e.id, json.dumps((e.content or {}).get("request")), json.dumps((e.content or {}).get("response")))
             for e in events],
        )

    def content(self, event_id: str) -> dict[str, Any] | None:
        """The stored request and response of an event (only kept when the user opted in), or None."""
        p = self.dialect.param
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            cur.execute(f"SELECT request, response FROM usage_content WHERE event_id = {p}", (event_id,))
            row = cur.fetchone()
        if row is None:
            return None
        return {"request": json.loads(row[0]), "response": json.loads(row[1])}

    def report(self, query: q.ReportQuery, *, use_rollup: bool = True) -> list[q.Row]:
        if query.limit is not None:
            return self._top(query, use_rollup)
        return q.merge_rows([self._report_part(source, part) for source, part in self._plan(query, use_rollup)],
                            query)

    def _plan(self, query: q.ReportQuery, use_rollup: bool) -> list[tuple[q.Source, q.ReportQuery]]:
        if not (use_rollup and self.has_rollup):
            return [(q.EVENTS, query)]
        failed: tuple[type[BaseException], ...] = (StoreUnavailable, *self.errors)
        try:
            parts = rollup.plan(query)
            if not any(source.rollup for source, _ in parts):
                return parts
            self.refresh_rollup()
            stale = self.stale_days()
            return rollup.plan(query, stale) if stale else parts
        except failed as exc:  # a read-only copy, a day's group past 64 bits…
            log.warning("cannot bring the daily rollup up to date (%s); reading the events instead", exc)
            return [(q.EVENTS, query)]

    def _top(self, query: q.ReportQuery, use_rollup: bool) -> list[q.Row]:
        """The costliest `query.limit` rows. By one dimension, in two steps, so that only those rows are shaped:
        rank every value by cost (calls and dollars only), then report the chosen values in full."""
        limit, whole = query.limit or 0, replace(query, limit=None)
        by = [q.normalize_dimension(name) for name in query.by]
        parts = self._plan(whole, use_rollup)
        if len(parts) == 1:  # one source: the database orders and cuts (unless the sums overflowed)
            source, part = parts[0]
            return q.merge_rows([self._report_part(source, replace(part, limit=limit))], whole)[:limit]
        if len(by) != 1 or by[0] in q.TIME_UNITS:
            return self.report(whole, use_rollup=use_rollup)[:limit]
        ranked: dict[Any, tuple[Decimal, int]] = {}
        d = self.dialect
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            for source, part in parts:
                cur.execute(*q.build_ranking(part, d, source))
                for value, calls, *money in cur.fetchall():
                    cost, seen = ranked.get(value, (Decimal(0), 0))
                    ranked[value] = (cost + d.money_total(money), seen + int(calls or 0))
        ranked = {k: v for k, v in ranked.items() if v[1]}
        chosen = sorted(ranked, key=lambda k: (-ranked[k][0], -ranked[k][1], "" if k is None else str(k)))[:limit]
        found = []
        values = tuple(str(v) for v in chosen if v is not None)
        if values:
            found.append(self.report(replace(whole, where=(*whole.where, q.Filter(by[0], values))),
                                     use_rollup=use_rollup))
        if None in chosen:
            found.append(self.report(replace(whole, where=(*whole.where, q.Filter(by[0], None))),
                                     use_rollup=use_rollup))
        return q.merge_rows(found, whole)

    def _report_part(self, source: q.Source, query: q.ReportQuery) -> list[q.Row]:
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            for safe in (False, True):
                sql, params = q.build_report(query, self.dialect, source, safe_sums=safe)
                try:
                    cur.execute(sql, params)
                    rows = cur.fetchall()
                    break
                except self.unavailable as exc:
                    if safe or "overflow" not in str(exc):  # SQLite's 64-bit sums: retry them split in two
                        raise
        return q.shape_rows(rows, query, self.dialect, safe_sums=safe)

    def events(self, query: q.ReportQuery | None = None, *, batch: int = 5000) -> Iterator[UsageEvent]:
        """Stored events matching the query's time range and filters, oldest first."""
        where, params = q.where_sql(query or q.ReportQuery(), self.dialect)
        sql = f"SELECT {', '.join(COLUMNS)} FROM usage_events{where} ORDER BY ts, id"
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            cur.execute(sql, params)
            while rows := cur.fetchmany(batch):
                for row in rows:
                    yield from_row(row, self.dialect)

    def page(self, query: q.ReportQuery, limit: int, before: tuple[datetime, str] | None = None) -> list[UsageEvent]:
        """Up to `limit` selected events, newest first, older than `before` (a (ts, id) cursor) if given."""
        d = self.dialect
        where, params = q.where_sql(query, d)
        if before is not None:
            where += f"{' AND' if where else ' WHERE'} (ts < {d.param} OR (ts = {d.param} AND id < {d.param}))"
            params += [d.ts_in(before[0]), d.ts_in(before[0]), before[1]]
        sql = f"SELECT {', '.join(COLUMNS)} FROM usage_events{where} ORDER BY ts DESC, id DESC LIMIT {int(limit)}"
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            cur.execute(sql, params)
            return [from_row(row, d) for row in cur.fetchall()]

    def histogram(self, query: q.ReportQuery, name: str) -> list[tuple[Any, Any, int]]:
        """(low, high, calls) per bin of `name` (see `query.HISTOGRAM_FIELDS`), from the first bin holding a call
        to the last; `high` is None for the open last bin."""
        sql, params, edges = q.build_histogram(query, name, self.dialect)
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            cur.execute(sql, params)
            counts = {int(b): int(n) for b, n in cur.fetchall()}
        if not counts:
            return []
        bounds = [0, *edges, None]
        return [(bounds[i], bounds[i + 1], counts.get(i, 0)) for i in range(min(counts), max(counts) + 1)]

    def session_costs(self, session_ids: Sequence[str]) -> dict[str, tuple[int, Decimal]]:
        """Calls and dollars of each named session (all time), read through the session index."""
        d = self.dialect
        out: dict[str, tuple[int, Decimal]] = {}
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            for start in range(0, len(session_ids), 500):
                chunk = list(session_ids[start:start + 500])
                cur.execute(f"SELECT session_id, COUNT(*), {', '.join(d.money_sums('cost_total', safe=True))} "
                            f"FROM usage_events WHERE session_id IN ({', '.join([d.param] * len(chunk))}) "
                            "GROUP BY session_id", chunk)
                for row in cur.fetchall():
                    out[row[0]] = (int(row[1]), d.money_total(row[2:]))
        return out

    def count(self) -> int:
        with self._unavailable("read"):
            cur = self._read_connection().cursor()
            cur.execute("SELECT COUNT(*) FROM usage_events")
            return int(cur.fetchone()[0])

    def update_costs(self, changes: Sequence[tuple[UsageEvent, Cost]]) -> int:
        """Store new costs for stored events (after a price change), and rebuild their days in the rollup."""
        if not changes:
            return 0
        d, p = self.dialect, self.dialect.param
        assignments = ", ".join(f"{c} = {p}" for c in COST_UPDATE_COLUMNS)
        days = {event.ts.astimezone(UTC).date().isoformat() for event, _ in changes}
        with self._unavailable("write to"), self._lock:
            conn = self._write_connection()
            with self._transaction(conn):
                cur = conn.cursor()
                cur.executemany(f"UPDATE usage_events SET {assignments} WHERE id = {p}",
                                [(*cost_values(cost, d), event.id) for event, cost in changes])
                self._rebuild_rollup_days(conn, days)
        return len(changes)
