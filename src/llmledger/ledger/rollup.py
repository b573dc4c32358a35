"""The daily rollup (SQLite): one row per UTC day and key (provider, model, tenant, team, feature, environment,
prompt version, status, source) with sums. Users are not a key: there are too many of them for a rollup to pay.

Beside it, `usage_daily_dims` keeps one row per dimension, UTC day and value of that one dimension (users and
sessions included). It is far smaller for what dashboards ask most — totals, and spend by one dimension, top
users and sessions — and answers those whenever a report groups and filters by at most one dimension.

Events are folded in lazily, in SQL: every event with a rowid above the watermark, before each report that reads
the rollup and whenever the background writer is idle. Writes stay as fast as without it, folding in bulk is
cheaper than per batch, and a report always sees every stored event. Reports whose dimensions and filters the
rollup keeps read it for the whole days in their range, and the events for the partial days at the edges;
everything else (hours, users, sessions, JSON tags) reads the events.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from .query import DAILY, DIMENSION_COLUMNS, DIMS, EVENTS, TIME_UNITS, ReportQuery, Source, normalize_dimension
from .schema import COST_COLUMNS, TAG_COLUMNS, TOKEN_COLUMNS

_TAGS = tuple(column for tag, column in TAG_COLUMNS.items() if tag != "user")
KEYS: tuple[str, ...] = ("provider", "model", *_TAGS, "status", "cost_status", "source")
SUMMED: tuple[str, ...] = (*TOKEN_COLUMNS, *COST_COLUMNS, "cost_total")
_DIMENSIONS = frozenset({"provider", "model", *_TAGS, "status", "cost_status", "source", "day", "week", "month"})
STATE_TABLE = "llmledger_rollup_state"
# The per-dimension rollup's dimensions (report name → events column); totals read its smallest, provider.
DIM_KEYS: dict[str, str] = {name: DIMENSION_COLUMNS[name] for name in (
    "provider", "model", *(tag for tag in TAG_COLUMNS), "status", "cost_status", "source", "session", "key")}


SQLITE_DAY = "substr(ts, 1, 10)"
POSTGRES_DAY = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
DIRTY_TABLE = "llmledger_rollup_dirty"  # PostgreSQL: the days whose rollup rows must be recomputed


def _sums(money: str, check: bool) -> str:
    # SQLite would turn an overflowing integer sum into a float: refuse it instead (a day's group past $9.2M).
    return ",\n".join(
        f"    {c} {'INTEGER' if check else 'BIGINT'} NOT NULL DEFAULT 0" if c in TOKEN_COLUMNS else
        f"    {c} {money} NOT NULL DEFAULT 0" + (f" CHECK (typeof({c}) = 'integer')" if check else "")
        for c in SUMMED
    )


def _daily_table(money: str, check: bool) -> str:
    keys = ",\n".join(f"    {k} TEXT NOT NULL" for k in KEYS)
    return f"""
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
{keys},
    calls BIGINT NOT NULL DEFAULT 0,
{_sums(money, check)},
    PRIMARY KEY (day, {', '.join(KEYS)})
)"""


def _dims_table(money: str, check: bool) -> str:
    # Keyed by dimension first: a report reads one dimension over a range of days.
    return f"""
CREATE TABLE usage_daily_dims (
    dim TEXT NOT NULL,
    day TEXT NOT NULL,
    value TEXT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    unpriced BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
{_sums(money, check)},
    PRIMARY KEY (dim, day, value)
)"""


def create_sql() -> str:
    """SQLite: the daily rollup and its watermark."""
    return f"""
CREATE TABLE {STATE_TABLE} (watermark INTEGER NOT NULL);
INSERT INTO {STATE_TABLE} (watermark) VALUES (0);{_daily_table("INTEGER", True)}"""


def create_dims_sql() -> str:
    """SQLite: the per-dimension rollup; the daily one is emptied so that both refill together."""
    return f"""{_dims_table("INTEGER", True)};
DELETE FROM usage_daily;
UPDATE {STATE_TABLE} SET watermark = 0"""


def create_postgres_sql() -> str:
    """PostgreSQL: both rollups, and the days to recompute — every day already holding events."""
    return f"""{_daily_table("NUMERIC(30, 12)", False)};{_dims_table("NUMERIC(30, 12)", False)};
CREATE TABLE {DIRTY_TABLE} (day TEXT PRIMARY KEY, version BIGINT NOT NULL);
INSERT INTO {DIRTY_TABLE} (day, version) SELECT DISTINCT {POSTGRES_DAY}, 1 FROM usage_events"""


def fold_sql(where: str, day: str = SQLITE_DAY) -> str:
    """Add the events matching `where` into the daily rollup (an upsert of their per-day sums)."""
    keys = ", ".join(KEYS)
    group = ", ".join(str(i) for i in range(1, len(KEYS) + 2))
    sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in SUMMED)
    update = ", ".join(f"{c} = usage_daily.{c} + excluded.{c}" for c in ("calls", *SUMMED))
    return (
        f"INSERT INTO usage_daily (day, {keys}, calls, {', '.join(SUMMED)}) "
        f"SELECT {day}, {', '.join(f'COALESCE({k}, {chr(39) * 2})' for k in KEYS)}, COUNT(*), {sums} "
        f"FROM usage_events WHERE {where} GROUP BY {group} "
        f"ON CONFLICT (day, {keys}) DO UPDATE SET {update}"
    )


# Dimensions the daily rollup keys too are derived from it (a day's few thousand rows, not its events); the
# others — users, sessions, keys — are folded from the events.
DERIVED: tuple[str, ...] = tuple(name for name in DIM_KEYS if name in KEYS)


def derive_dims_sql(days: str = "day IN (SELECT value FROM json_each(?))") -> tuple[str, list[str]]:
    """Statements that recompute the derived dimensions of some days (`days`: a condition on `day` with one
    parameter) from the daily rollup: one DELETE, then one INSERT per dimension (each takes the same parameter)."""
    names = ", ".join(f"'{name}'" for name in DERIVED)
    sums = ", ".join(f"SUM({c})" for c in SUMMED)
    inserts = [
        f"INSERT INTO usage_daily_dims (dim, day, value, calls, unpriced, errors, {', '.join(SUMMED)}) "
        f"SELECT '{name}', day, {DIM_KEYS[name]}, SUM(calls), "
        "SUM(CASE WHEN cost_status = 'unpriced' THEN calls ELSE 0 END), "
        f"SUM(CASE WHEN status = 'ok' THEN 0 ELSE calls END), {sums} FROM usage_daily WHERE {days} GROUP BY 2, 3"
        for name in DERIVED
    ]
    return f"DELETE FROM usage_daily_dims WHERE dim IN ({names}) AND {days}", inserts


def fold_dims_sql(where: str, day: str = SQLITE_DAY) -> list[str]:
    """Add the events matching `where` into the per-dimension rollup of the dimensions not DERIVED: one upsert
    per dimension."""
    sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in SUMMED)
    counted = ("calls", "unpriced", "errors", *SUMMED)
    update = ", ".join(f"{c} = usage_daily_dims.{c} + excluded.{c}" for c in counted)
    return [
        f"INSERT INTO usage_daily_dims (dim, day, value, {', '.join(counted)}) "
        f"SELECT '{name}', {day}, COALESCE({column}, ''), COUNT(*), "
        "SUM(CASE WHEN cost_status = 'unpriced' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END), "
        f"{sums} "
        f"FROM usage_events WHERE {where} GROUP BY 2, 3 "
        f"ON CONFLICT (dim, day, value) DO UPDATE SET {update}"
        for name, column in DIM_KEYS.items() if name not in DERIVED
    ]


def plan(query: ReportQuery, stale: frozenset[str] = frozenset()) -> list[tuple[Source, ReportQuery]]:
    """Which sources answer `query`: a rollup for whole days, the events for the rest. The per-dimension rollup
    when the query groups and filters by at most one dimension it keeps, else the daily rollup when it keeps them
    all, else the events alone. `stale` days ('YYYY-MM-DD') are read from the events too."""
    names = [normalize_dimension(n) for n in (*query.by, *(f.dimension for f in query.where))]
    keyed = {name for name in names if name not in TIME_UNITS}
    rollup: Source
    if len(keyed) <= 1 and keyed <= set(DIM_KEYS) and "minute" not in names and "hour" not in names:
        rollup = DIMS.of(next(iter(keyed), "provider"))
    elif all(name in _DIMENSIONS for name in names):
        rollup = DAILY
    else:
        return [(EVENTS, query)]
    query = replace(query, since=query.since and _utc(query.since), until=query.until and _utc(query.until))
    first = _next_midnight(query.since) if query.since else None
    last = _midnight(query.until) if query.until else None
    if first and last and first >= last:
        return [(EVENTS, query)]
    parts: list[tuple[Source, ReportQuery]] = [
        (source, replace(query, since=since, until=until)) for source, since, until in _segments(rollup, first, last,
                                                                                                   stale)]
    if query.since and first and query.since < first:
        parts.append((EVENTS, replace(query, since=query.since, until=first)))
    if query.until and last and last < query.until:
        parts.append((EVENTS, replace(query, since=last, until=query.until)))
    return parts


def _segments(rollup: Source, first: datetime | None, last: datetime | None,
              stale: frozenset[str]) -> list[tuple[Source, datetime | None, datetime | None]]:
    """[first, last) cut into runs read from the rollup and runs of stale days read from the events."""
    out: list[tuple[Source, datetime | None, datetime | None]] = []
    cursor = first
    for text in sorted(stale):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        if (first is not None and day < first) or (last is not None and day >= last):
            continue
        if cursor is None or day > cursor:
            out.append((rollup, cursor, day))
        if out and out[-1][0] is EVENTS and out[-1][2] == day:
            out[-1] = (EVENTS, out[-1][1], day + timedelta(days=1))
        else:
            out.append((EVENTS, day, day + timedelta(days=1)))
        cursor = day + timedelta(days=1)
    if cursor is None or last is None or cursor < last:
        out.append((rollup, cursor, last))
    return out


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), UTC)


def _next_midnight(moment: datetime) -> datetime:
    start = _midnight(moment)
    return start if start == moment else start + timedelta(days=1)


def day_range(days: set[str]) -> list[tuple[datetime, datetime]]:
    """[start, end) of each UTC day named 'YYYY-MM-DD'."""
    out = []
    for day in sorted(days):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        out.append((start, start + timedelta(days=1)))
    return out
