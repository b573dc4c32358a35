"""The daily rollup (SQLite): one row per UTC day and key (provider, model, tenant, team, feature, environment,
prompt version, status, source) with sums. Users are not a key: there are too many of them for a rollup to pay.

Events are folded in lazily, in SQL: every event with a rowid above the watermark, before each report that reads
the rollup and whenever the background writer is idle. Writes stay as fast as without it, folding in bulk is
cheaper than per batch, and a report always sees every stored event. Reports whose dimensions and filters the
rollup keeps read it for the whole days in their range, and the events for the partial days at the edges;
everything else (hours, users, sessions, JSON tags) reads the events.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from .query import DAILY, EVENTS, ReportQuery, Source, normalize_dimension
from .schema import COST_COLUMNS, TAG_COLUMNS, TOKEN_COLUMNS

_TAGS = tuple(column for tag, column in TAG_COLUMNS.items() if tag != "user")
KEYS: tuple[str, ...] = ("provider", "model", *_TAGS, "status", "cost_status", "source")
SUMMED: tuple[str, ...] = (*TOKEN_COLUMNS, *COST_COLUMNS, "cost_total")
_DIMENSIONS = frozenset({"provider", "model", *_TAGS, "status", "cost_status", "source", "day", "week", "month"})
STATE_TABLE = "llmledger_rollup_state"


def create_sql() -> str:
    keys = ",\n".join(f"    {k} TEXT NOT NULL" for k in KEYS)
    # SQLite would turn an overflowing integer sum into a float: refuse it instead (a day's group past $9.2M).
    sums = ",\n".join(
        f"    {c} INTEGER NOT NULL DEFAULT 0" + ("" if c in TOKEN_COLUMNS else f" CHECK (typeof({c}) = 'integer')")
        for c in SUMMED
    )
    return f"""
CREATE TABLE {STATE_TABLE} (watermark INTEGER NOT NULL);
INSERT INTO {STATE_TABLE} (watermark) VALUES (0);
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
{keys},
    calls BIGINT NOT NULL DEFAULT 0,
{sums},
    PRIMARY KEY (day, {', '.join(KEYS)})
)"""


def fold_sql(where: str) -> str:
    """Add the events matching `where` into the rollup (an upsert of their per-day sums)."""
    keys = ", ".join(KEYS)
    group = ", ".join(str(i) for i in range(1, len(KEYS) + 2))
    sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in SUMMED)
    update = ", ".join(f"{c} = usage_daily.{c} + excluded.{c}" for c in ("calls", *SUMMED))
    return (
        f"INSERT INTO usage_daily (day, {keys}, calls, {', '.join(SUMMED)}) "
        f"SELECT substr(ts, 1, 10), {', '.join(f'COALESCE({k}, {chr(39) * 2})' for k in KEYS)}, COUNT(*), {sums} "
        f"FROM usage_events WHERE {where} GROUP BY {group} "
        f"ON CONFLICT (day, {keys}) DO UPDATE SET {update}"
    )


def plan(query: ReportQuery) -> list[tuple[Source, ReportQuery]]:
    """Which sources answer `query`: the rollup for whole days, the events for the rest."""
    names = [normalize_dimension(n) for n in (*query.by, *(f.dimension for f in query.where))]
    if not all(name in _DIMENSIONS for name in names):
        return [(EVENTS, query)]
    query = replace(query, since=query.since and _utc(query.since), until=query.until and _utc(query.until))
    first = _next_midnight(query.since) if query.since else None
    last = _midnight(query.until) if query.until else None
    if first and last and first >= last:
        return [(EVENTS, query)]
    parts: list[tuple[Source, ReportQuery]] = [(DAILY, replace(query, since=first, until=last))]
    if query.since and first and query.since < first:
        parts.append((EVENTS, replace(query, since=query.since, until=first)))
    if query.until and last and last < query.until:
        parts.append((EVENTS, replace(query, since=last, until=query.until)))
    return parts


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
