"""The SQLite store: the default, zero-infrastructure ledger (one file, WAL mode)."""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import StoreUnavailable
from .rollup import STATE_TABLE, day_range, derive_dims_sql, fold_dims_sql, fold_sql
from .schema import COLUMNS
from .store import SQLStore


@functools.cache
def _insert_sql(present: tuple[int, ...]) -> str:
    names = ", ".join(COLUMNS[i] for i in present)
    return f"INSERT INTO usage_events ({names}) VALUES ({', '.join('?' * len(present))}) ON CONFLICT (id) DO NOTHING"

_FOLD_NEW = fold_sql("rowid > ? AND rowid <= ?")
_FOLD_DAY = fold_sql("ts >= ? AND ts < ?")
_FOLD_DIMS_NEW = fold_dims_sql("rowid > ? AND rowid <= ?")
_FOLD_DIMS_DAY = fold_dims_sql("ts >= ? AND ts < ?")
_DERIVE_DELETE, _DERIVE = derive_dims_sql()
_FOLD_SLICE = 100_000  # events folded per transaction

_TERA = Decimal(10**12)
_LIMIT = 2**63
_SPLIT = 1_000_000  # money sums are split in two so 64-bit integers never overflow


class SQLiteDialect:
    """Money as INTEGER pico-dollars (exact to 1e-12 USD); times as fixed-width ISO 8601 UTC text."""

    name = "sqlite"
    param = "?"

    def money_in(self, value: Decimal | None) -> int | None:
        if value is None:
            return None
        if not value:
            return 0
        pico = int((value * _TERA).to_integral_value())
        if not -_LIMIT < pico < _LIMIT:
            raise ValueError(f"{value} USD is beyond what an SQLite ledger stores in one amount (±9.2 million USD)")
        return pico

    def money_out(self, value: Any) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-12)

    def ts_in(self, value: datetime) -> str:
        if value.tzinfo is not UTC:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # 2026-11-01T12:00:00.000000Z; %-formatting is twice as fast as isoformat() or strftime() here.
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)

    def ts_out(self, value: Any) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def json_in(self, value: dict[str, str]) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True) if value else "{}"

    def json_out(self, value: Any) -> dict[str, str]:
        return json.loads(value) if value else {}

    def bucket(self, unit: str) -> str:
        return {
            "minute": "substr(ts, 1, 16)",
            "hour": "substr(ts, 1, 13) || ':00'",
            "day": "substr(ts, 1, 10)",
            "week": "date(substr(ts, 1, 10), '-6 days', 'weekday 1')",
            "month": "substr(ts, 1, 7)",
        }[unit]

    def rollup_bucket(self, unit: str) -> str:
        return {"day": "day", "week": "date(day, '-6 days', 'weekday 1')", "month": "substr(day, 1, 7)"}[unit]

    def tag(self) -> str:
        return "json_extract(tags, '$.\"' || ? || '\"')"

    def money_sums(self, column: str, *, safe: bool) -> list[str]:
        # A plain SUM raises "integer overflow" past 9.2 million USD; the report then retries with split sums.
        return [f"SUM({column} / {_SPLIT})", f"SUM({column} % {_SPLIT})"] if safe else [f"SUM({column})"]

    def money_total(self, values: Sequence[Any]) -> Decimal:
        if len(values) == 1:
            return Decimal(int(values[0] or 0)).scaleb(-12)
        high, low = (int(v or 0) for v in values)
        return Decimal(high * _SPLIT + low).scaleb(-12)


class SQLiteStore(SQLStore):
    dialect = SQLiteDialect()
    errors = (sqlite3.Error,)
    unavailable = (sqlite3.OperationalError,)

    def __init__(self, path: str) -> None:
        super().__init__(f"sqlite:///{path}")
        if path == ":memory:":
            # Writer and readers must see one database: a named, shared in-memory database.
            self._uri, self._is_uri = f"file:llmledger-{uuid.uuid4().hex}?mode=memory&cache=shared", True
        else:
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreUnavailable(
                    f"cannot open the SQLite ledger {path}: the directory {parent} does not exist; create it or "
                    "pass another --db"
                )
            self._uri, self._is_uri = str(Path(path).expanduser()), False
        self._local = threading.local()
        self._writer: sqlite3.Connection | None = None
        self._all: list[sqlite3.Connection] = []
        self._keepalive = self._connect()  # keeps a shared in-memory database alive

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self._uri, uri=self._is_uri, check_same_thread=False, timeout=30,
                                   isolation_level="DEFERRED")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the SQLite ledger {self._uri}: {exc}") from exc
        self._all.append(conn)
        return conn

    def _write_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._connect()
        return self._writer

    def _read_connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
        # Columns that are NULL in every row of the batch (trace ids, reported costs…) are left to their default:
        # binding a value costs as much as storing it. Transposing with zip() keeps the check in C.
        columns = list(zip(*rows, strict=True))
        present = tuple(i for i, values in enumerate(columns) if values.count(None) != len(rows))
        if len(present) < len(COLUMNS):
            rows = list(zip(*(columns[i] for i in present), strict=True))
        before = conn.total_changes
        conn.executemany(_insert_sql(present), rows)
        return conn.total_changes - before

    has_rollup = True

    def refresh_rollup(self) -> None:
        more = True
        while more:  # in slices, each its own transaction: writes get the lock in between
            with self._unavailable("update the rollup of"), self._lock:
                conn = self._write_connection()
                with conn:
                    more = self._fold_new(conn, most=_FOLD_SLICE)

    def _fold_new(self, conn: sqlite3.Connection, most: int | None = None) -> bool:
        """Fold the events stored since the watermark (at most `most` of them); True if more are left."""
        # Rowids only grow, and one writer assigns them: the events above the watermark are exactly the new ones.
        (watermark,) = conn.execute(f"SELECT watermark FROM {STATE_TABLE}").fetchone()
        (stored,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM usage_events").fetchone()
        last = stored if most is None else min(stored, watermark + most)
        if last > watermark:
            days = [row[0] for row in conn.execute("SELECT DISTINCT substr(ts, 1, 10) FROM usage_events "
                                                   "WHERE rowid > ? AND rowid <= ?", (watermark, last))]
            for statement in (_FOLD_NEW, *_FOLD_DIMS_NEW):
                conn.execute(statement, (watermark, last))
            self._derive_dims(conn, days)
            conn.execute(f"UPDATE {STATE_TABLE} SET watermark = ?", (last,))
        return bool(last < stored)

    def _derive_dims(self, conn: sqlite3.Connection, days: list[str]) -> None:
        """Recompute these days' derived dimensions from the (already updated) daily rollup."""
        chosen = json.dumps(sorted(days))
        for statement in (_DERIVE_DELETE, *_DERIVE):
            conn.execute(statement, (chosen,))

    def _rebuild_rollup_days(self, conn: sqlite3.Connection, days: set[str]) -> None:
        self._fold_new(conn)  # first fold everything, so a rebuilt day is whole and nothing is folded twice
        for start, end in day_range(days):
            conn.execute("DELETE FROM usage_daily WHERE day = ?", (start.date().isoformat(),))
            conn.execute("DELETE FROM usage_daily_dims WHERE day = ?", (start.date().isoformat(),))
            for statement in (_FOLD_DAY, *_FOLD_DIMS_DAY):
                conn.execute(statement, (self.dialect.ts_in(start), self.dialect.ts_in(end)))
        self._derive_dims(conn, list(days))

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._writer = None
        self._local = threading.local()
