"""The PostgreSQL store: for shared deployments (several gateways, one ledger). Needs `llmledger[postgres]`."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..errors import ConfigError, StoreUnavailable
from .rollup import DIRTY_TABLE, POSTGRES_DAY, derive_dims_sql, fold_dims_sql, fold_sql
from .schema import COLUMNS
from .store import SQLStore

_COLUMNS = ", ".join(COLUMNS)
_FOLD_DAY = fold_sql("ts >= %s AND ts < %s", POSTGRES_DAY)
_FOLD_DIMS_DAY = fold_dims_sql("ts >= %s AND ts < %s", POSTGRES_DAY)
_DERIVE_DELETE, _DERIVE = derive_dims_sql("day = %s")

try:
    import psycopg
    import psycopg.errors
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

_DAY = "ts AT TIME ZONE 'UTC'"


class PostgresDialect:
    """Money as NUMERIC(30, 12), times as TIMESTAMPTZ, tags as JSONB."""

    name = "postgres"
    param = "%s"

    def money_in(self, value: Decimal | None) -> Decimal | None:
        return value  # NUMERIC(30, 12) keeps 12 decimal places: exact for every catalog price

    def money_out(self, value: Any) -> Decimal | None:
        return None if value is None else Decimal(value)

    def ts_in(self, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    def ts_out(self, value: Any) -> datetime:
        moment: datetime = value  # psycopg returns TIMESTAMPTZ as an aware datetime
        return moment.astimezone(UTC)

    def json_in(self, value: dict[str, str]) -> str:
        return json.dumps(value, separators=(",", ":")) if value else "{}"  # COPY parses JSON text

    def json_out(self, value: Any) -> dict[str, str]:
        return dict(value or {})

    def bucket(self, unit: str) -> str:
        return {
            "minute": f"to_char({_DAY}, 'YYYY-MM-DD\"T\"HH24:MI')",
            "hour": f"to_char({_DAY}, 'YYYY-MM-DD\"T\"HH24\":00\"')",
            "day": f"to_char({_DAY}, 'YYYY-MM-DD')",
            "week": f"to_char(date_trunc('week', {_DAY}), 'YYYY-MM-DD')",
            "month": f"to_char({_DAY}, 'YYYY-MM')",
        }[unit]

    def rollup_bucket(self, unit: str) -> str:
        return {"day": "day", "week": "to_char(date_trunc('week', day::date), 'YYYY-MM-DD')",
                "month": "substr(day, 1, 7)"}[unit]

    def tag(self) -> str:
        return "(tags ->> %s)"

    def money_sums(self, column: str, *, safe: bool) -> list[str]:
        return [f"SUM({column})"]  # NUMERIC sums never overflow

    def money_total(self, values: Sequence[Any]) -> Decimal:
        return Decimal(values[0] or 0)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"


class PostgresStore(SQLStore):
    dialect = PostgresDialect()

    def __init__(self, url: str) -> None:
        if psycopg is None:
            raise ConfigError(
                "a PostgreSQL ledger needs the psycopg driver: pip install 'llmledger[postgres]'"
            )
        super().__init__(redact(url))
        self.errors = (psycopg.Error,)
        self.unavailable = (psycopg.OperationalError, psycopg.InterfaceError)
        self._url = url
        self._writer: Any = None
        self._local = threading.local()
        self._all: list[Any] = []
        self._write_connection()  # fail now, with a clear message, if the server cannot be reached

    def _connect(self) -> Any:
        try:
            conn = psycopg.connect(self._url, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to the PostgreSQL ledger at {self.description}: {exc}") from exc
        self._all.append(conn)
        return conn

    def _write_connection(self) -> Any:
        if self._writer is None or self._writer.closed:
            self._writer = self._connect()
            self._writer.autocommit = True  # each write is its own explicit transaction
        return self._writer

    def _transaction(self, conn: Any) -> Any:
        return conn.transaction()

    def _read_connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self._connect()
            conn.autocommit = True  # readers never hold a transaction open
        return conn

    def _insert(self, conn: Any, rows: list[tuple[Any, ...]]) -> int:
        cur = conn.cursor()
        # In the same transaction: the days these events fall on need their rollup rows recomputed.
        self._mark_stale(cur, {row[1].astimezone(UTC).strftime("%Y-%m-%d") for row in rows})
        try:  # the common case, no id seen before: COPY straight in, inside a savepoint
            with conn.transaction(), cur.copy(f"COPY usage_events ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        except psycopg.errors.UniqueViolation:  # some ids are stored already (a replay, a re-import): skip those
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS incoming_events (LIKE usage_events INCLUDING DEFAULTS) "
                        "ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY incoming_events ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"INSERT INTO usage_events ({_COLUMNS}) SELECT {_COLUMNS} FROM incoming_events "
                        "ON CONFLICT (id) DO NOTHING")
            return int(cur.rowcount)

    # -- the rollups: recomputed a whole day at a time, for the days writes have marked stale ----------------------
    # A write bumps its days' version in `llmledger_rollup_dirty`, in its own transaction. A recompute reads a day's
    # version, rebuilds the day's rows from its events, then deletes the mark only if the version is unchanged: a
    # write that lands meanwhile leaves the day marked, so it is recomputed again, and nothing is ever missed.
    # Reports read marked days from the events. Today is left marked until it is over: its rows would be rebuilt
    # on every write, and a report's last, partial day reads the events anyway.
    has_rollup = True

    @staticmethod
    def _mark_stale(cur: Any, days: set[str]) -> None:
        if days:  # in day order, so that concurrent writers lock the rows in the same order
            cur.execute(f"INSERT INTO {DIRTY_TABLE} (day, version) SELECT day, 1 FROM unnest(%s::text[]) AS day "
                        f"ORDER BY day ON CONFLICT (day) DO UPDATE SET version = {DIRTY_TABLE}.version + 1",
                        (sorted(days),))

    def stale_days(self) -> frozenset[str]:
        return frozenset(row[0] for row in self.fetch(f"SELECT day FROM {DIRTY_TABLE}"))

    def refresh_rollup(self) -> None:
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        for day in sorted(d for d in self.stale_days() if d < today):
            with self._unavailable("update the rollup of"), self._lock:
                conn = self._write_connection()
                with conn.transaction():
                    self._recompute_day(conn.cursor(), day)

    def _recompute_day(self, cur: Any, day: str) -> None:
        cur.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (f"llmledger-rollup-{day}",))
        if not cur.fetchone()[0]:
            return  # another process is recomputing it
        cur.execute(f"SELECT version FROM {DIRTY_TABLE} WHERE day = %s", (day,))
        marked = cur.fetchone()
        if marked is None:
            return
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        cur.execute("DELETE FROM usage_daily WHERE day = %s", (day,))
        cur.execute("DELETE FROM usage_daily_dims WHERE day = %s", (day,))
        for statement in (_FOLD_DAY, *_FOLD_DIMS_DAY):
            cur.execute(statement, (start, start + timedelta(days=1)))
        for statement in (_DERIVE_DELETE, *_DERIVE):
            cur.execute(statement, (day,))
        cur.execute(f"DELETE FROM {DIRTY_TABLE} WHERE day = %s AND version = %s", (day, marked[0]))

    def _rebuild_rollup_days(self, conn: Any, days: set[str]) -> None:
        self._mark_stale(conn.cursor(), days)  # re-priced events: recomputed on the next refresh

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._writer = None
        self._local = threading.local()
