"""The SQLite store: the default, zero-infrastructure ledger (one file, WAL mode)."""

from __future__ import annotations

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
from .schema import COLUMNS
from .store import SQLStore

_TERA = Decimal(10**12)
_SPLIT = 1_000_000  # money sums are split in two so 64-bit integers never overflow


class SQLiteDialect:
    """Money as INTEGER pico-dollars (exact to 1e-12 USD); times as fixed-width ISO 8601 UTC text."""

    name = "sqlite"
    param = "?"

    def money_in(self, value: Decimal | None) -> int | None:
        if value is None:
            return None
        return int((value * _TERA).to_integral_value()) if value else 0

    def money_out(self, value: Any) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-12)

    def ts_in(self, value: datetime) -> str:
        if value.tzinfo is not UTC:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")[:26] + "Z"  # 2026-11-01T12:00:00.000000Z

    def ts_out(self, value: Any) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def json_in(self, value: dict[str, str]) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True) if value else "{}"

    def json_out(self, value: Any) -> dict[str, str]:
        return json.loads(value) if value else {}

    def bucket(self, unit: str) -> str:
        return {
            "hour": "substr(ts, 1, 13) || ':00'",
            "day": "substr(ts, 1, 10)",
            "week": "date(substr(ts, 1, 10), '-6 days', 'weekday 1')",
            "month": "substr(ts, 1, 7)",
        }[unit]

    def tag(self) -> str:
        return "json_extract(tags, '$.\"' || ? || '\"')"

    def money_sums(self, expression: str) -> list[str]:
        return [f"SUM(({expression}) / {_SPLIT})", f"SUM(({expression}) % {_SPLIT})"]

    def money_total(self, values: Sequence[Any]) -> Decimal:
        high, low = (int(v or 0) for v in values)
        return Decimal(high * _SPLIT + low).scaleb(-12)


class SQLiteStore(SQLStore):
    dialect = SQLiteDialect()
    errors = (sqlite3.Error,)

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
        before = conn.total_changes
        conn.executemany(
            f"INSERT INTO usage_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING",
            rows,
        )
        return conn.total_changes - before

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._writer = None
        self._local = threading.local()
