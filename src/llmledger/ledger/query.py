"""Report queries: group usage by dimensions (columns, tags, time buckets), filter, sum tokens and money."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from .schema import TAG_COLUMNS, Dialect

__all__ = ["ReportQuery", "Filter", "parse_where", "build_report", "shape_rows", "merge_rows", "TIME_UNITS",
           "METRICS", "Source", "EVENTS", "DAILY"]

Row = dict[str, Any]
TIME_UNITS = ("minute", "hour", "day", "week", "month")
DIMENSION_COLUMNS = {
    "provider": "provider", "model": "model", "status": "status", "cost_status": "cost_status", "source": "source",
    "service_tier": "service_tier", "key": "key_id", "session": "session_id", "trace": "trace_id",
    "price_version": "price_version", **TAG_COLUMNS,
}
_ALIASES = {"user_id": "user", "session_id": "session", "key_id": "key", "tenant_id": "tenant", "team_id": "team",
            "env": "environment", "trace_id": "trace"}
_TAG_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

# Summed column by column (SUM skips NULL): each column is read once, the cheapest form for SQLite's scan.
_TOKEN_SUMS = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
               "audio_in_tokens", "output_tokens", "reasoning_tokens", "audio_out_tokens")
_MONEY_SUMS = ("cost_total", "cost_input", "cost_cache_read", "cost_cache_write", "cost_audio_in", "cost_output",
               "cost_reasoning", "cost_audio_out")
METRICS: tuple[str, ...] = (
    "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "unpriced", "errors", "cost", "input_cost", "output_cost", "cache_read_cost", "cache_write_cost",
    "reasoning_cost", "cached_share",
)


@dataclass(frozen=True)
class Source:
    """Where a report reads: the events themselves, the daily rollup (one row per day and key, with counts), or
    the per-dimension rollup (one row per dimension, day and value of that one dimension)."""

    table: str
    requests: str  # how many calls a row stands for
    rollup: bool
    dimension: str | None = None  # for the per-dimension rollup: the one dimension its `value` column holds

    def of(self, dimension: str) -> Source:
        return replace(self, dimension=dimension)


EVENTS = Source("usage_events", "1", rollup=False)
DAILY = Source("usage_daily", "calls", rollup=True)
DIMS = Source("usage_daily_dims", "calls", rollup=True)  # use DIMS.of(dimension)


@dataclass(frozen=True)
class Filter:
    """`dimension` equals `value` (or not, with `negate`); a tuple of values means any of them, None means unset."""

    dimension: str
    value: str | tuple[str, ...] | None
    negate: bool = False


@dataclass(frozen=True)
class ReportQuery:
    by: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    where: tuple[Filter, ...] = field(default_factory=tuple)
    limit: int | None = None  # only the costliest `limit` rows (of a report by one dimension: ranked exactly)


def parse_where(expressions: Sequence[str]) -> tuple[Filter, ...]:
    """``tenant=acme``, ``model!=gpt-4o`` → filters."""
    filters = []
    for text in expressions:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            negate = "!=" in part
            name, sep, value = part.partition("!=" if negate else "=")
            if not sep or not name.strip():
                raise ConfigError(f"filter {part!r}: expected NAME=VALUE or NAME!=VALUE, e.g. tenant=acme")
            filters.append(Filter(normalize_dimension(name.strip()), value.strip(), negate))
    return tuple(filters)


def normalize_dimension(name: str) -> str:
    name = _ALIASES.get(name, name)
    if name in DIMENSION_COLUMNS or name in TIME_UNITS:
        return name
    if not _TAG_NAME.match(name):
        raise ConfigError(f"{name!r} is not a valid dimension or tag name (letters, digits, _ . - ; up to 64)")
    return name


def _expression(name: str, d: Dialect, params: list[Any], source: Source) -> str:
    if name in TIME_UNITS:
        return d.rollup_bucket(name) if source.rollup else d.bucket(name)
    if source.dimension is not None:
        assert name == source.dimension, f"the {source.dimension} rollup cannot answer {name}"
        return "NULLIF(value, '')"
    if name in DIMENSION_COLUMNS:
        # The rollup keeps a missing key as '' (so it can be part of the primary key): read it back as NULL.
        return f"NULLIF({DIMENSION_COLUMNS[name]}, '')" if source.rollup else DIMENSION_COLUMNS[name]
    params.append(name)
    return d.tag()


def build_ranking(query: ReportQuery, d: Dialect, source: Source = EVENTS) -> tuple[str, list[Any]]:
    """SQL for the first step of a top-N report by one dimension: each value's calls and cost, nothing else."""
    params: list[Any] = []
    expression = _expression(normalize_dimension(query.by[0]), d, params, source)
    where, where_params = _where(query, d, source)
    sums = ", ".join(d.money_sums("cost_total", safe=True))
    return (f"SELECT {expression}, SUM({source.requests}), {sums} FROM {source.table}{where} GROUP BY 1",
            params + where_params)


def build_report(
    query: ReportQuery, d: Dialect, source: Source = EVENTS, *, safe_sums: bool = False
) -> tuple[str, list[Any]]:
    """SQL and parameters for the report over `source`. `safe_sums` splits money sums that could overflow."""
    by = [normalize_dimension(name) for name in query.by]
    params: list[Any] = []
    selects = [f"{_expression(name, d, params, source)} AS d{i}" for i, name in enumerate(by)]
    weight = source.requests
    sums = [f"SUM({weight})", *(f"SUM({column})" for column in _TOKEN_SUMS)]
    if source.dimension is not None:  # the per-dimension rollup counts them when folding
        sums += ["SUM(unpriced)", "SUM(errors)"]
    else:
        sums.append(f"SUM(CASE WHEN cost_status = 'unpriced' THEN {weight} ELSE 0 END)")
        sums.append(f"SUM(CASE WHEN status = 'ok' THEN 0 ELSE {weight} END)")
    for column in _MONEY_SUMS:
        sums += d.money_sums(column, safe=safe_sums)
    selects += [f"{expression} AS m{i}" for i, expression in enumerate(sums)]  # m0 calls, m11 the total cost
    where, where_params = _where(query, d, source)
    sql = f"SELECT {', '.join(selects)} FROM {source.table}{where}"
    if by:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(by)))
    if by and query.limit is not None and not safe_sums and not any(name in TIME_UNITS for name in by):
        # merge_rows' order: cost (none counts as 0), then calls, then the values as text, compared bytewise
        collate = ' COLLATE "C"' if d.name == "postgres" else ""
        text = "".join(f", COALESCE(CAST(d{i} AS TEXT), ''){collate}" for i in range(len(by)))
        sql = (f"SELECT * FROM ({sql}) AS ranked ORDER BY COALESCE(m11, 0) DESC, m0 DESC{text} "
               f"LIMIT {int(query.limit)}")
    return sql, params + where_params


def _where(query: ReportQuery, d: Dialect, source: Source = EVENTS) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if source.dimension is not None:
        clauses.append(f"dim = {d.param}")
        params.append(source.dimension)
    for bound, op in ((query.since, ">="), (query.until, "<")):
        if bound is not None:
            clauses.append(f"{'day' if source.rollup else 'ts'} {op} {d.param}")
            params.append(_day(bound) if source.rollup else d.ts_in(bound))
    for f in query.where:
        expression = _expression(f.dimension, d, params, source)
        if f.value is None:
            clauses.append(f"{expression} IS {'NOT ' if f.negate else ''}NULL")
            continue
        values = f.value if isinstance(f.value, tuple) else (f.value,)
        if not values:
            clauses.append("1 = 1" if f.negate else "1 = 0")
            continue
        test = (f"= {d.param}" if len(values) == 1 else f"IN ({', '.join([d.param] * len(values))})")
        if f.negate:
            clauses.append(f"({expression} IS NULL OR NOT {expression} {test})")
            if source.dimension is None and f.dimension not in DIMENSION_COLUMNS and f.dimension not in TIME_UNITS:
                params.append(f.dimension)  # the tag expression appears twice
        else:
            clauses.append(f"{expression} {test}")
        params.extend(values)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


# What a histogram can count: a call's whole input (cached and audio included), whole output, or cost.
HISTOGRAM_FIELDS = {
    "input_tokens": "(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens"
                    " + audio_in_tokens)",
    "output_tokens": "(output_tokens + reasoning_tokens + audio_out_tokens)",
    "cost": "cost_total",
}
TOKEN_EDGES: tuple[int, ...] = tuple(2 ** i for i in range(31))  # bins [0,1), [1,2), [2,4) … [2^30, ∞)
COST_EDGES: tuple[Decimal, ...] = tuple(Decimal(10) ** e for e in range(-6, 3))  # $0.000001 … $100


def build_histogram(query: ReportQuery, name: str, d: Dialect) -> tuple[str, list[Any], tuple[Any, ...]]:
    """SQL counting the selected calls per bin of `name` (a HISTOGRAM_FIELDS key); bin i is [edges[i-1], edges[i])."""
    if name not in HISTOGRAM_FIELDS:
        raise ConfigError(f"no histogram of {name!r}: use {', '.join(HISTOGRAM_FIELDS)}")
    expression = HISTOGRAM_FIELDS[name]
    edges: tuple[Any, ...] = COST_EDGES if name == "cost" else TOKEN_EDGES
    # The edges are our own constants in the store's own money form: safe to write into the SQL.
    bins = " ".join(f"WHEN v < {d.money_in(e) if name == 'cost' else e} THEN {i}"
                    for i, e in enumerate(edges))
    where, params = _where(query, d)
    present = f"{' AND' if where else ' WHERE'} {expression} IS NOT NULL"
    # The value is computed once per call (materialized), not once per bin.
    sql = (f"WITH picked AS MATERIALIZED (SELECT {expression} AS v FROM usage_events{where}{present}) "
           f"SELECT CASE {bins} ELSE {len(edges)} END, COUNT(*) FROM picked GROUP BY 1")
    return sql, params, edges


def _day(moment: datetime) -> str:
    """The rollups' day ('YYYY-MM-DD', UTC) of a moment (naive means UTC)."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d")


def where_sql(query: ReportQuery, d: Dialect) -> tuple[str, list[Any]]:
    """The WHERE clause alone, for reading or re-pricing the events a query selects."""
    return _where(query, d)


def shape_rows(rows: Sequence[Sequence[Any]], query: ReportQuery, d: Dialect, *, safe_sums: bool) -> list[Row]:
    """Turn raw sums into report rows (dimension values, then METRICS)."""
    by = [normalize_dimension(name) for name in query.by]
    width = 2 if safe_sums else 1
    out: list[Row] = []
    for raw in rows:
        dims = tuple(raw[: len(by)])
        counts = [int(v or 0) for v in raw[len(by): len(by) + 11]]
        money_raw = raw[len(by) + 11:]
        money = [d.money_total(money_raw[i * width: (i + 1) * width]) for i in range(len(_MONEY_SUMS))]
        requests, inp, cache_read, write_5m, write_1h, audio_in, output, reasoning, audio_out, unpriced, errors = counts
        total, c_input, c_read, c_write, c_audio_in, c_output, c_reasoning, c_audio_out = money
        record: Row = dict(zip(by, dims, strict=True))
        record.update(
            requests=requests,
            input_tokens=inp + cache_read + write_5m + write_1h + audio_in,
            cache_read_tokens=cache_read,
            cache_write_tokens=write_5m + write_1h,
            output_tokens=output + reasoning + audio_out,
            reasoning_tokens=reasoning,
            unpriced=unpriced,
            errors=errors,
            cost=total,
            input_cost=c_input + c_read + c_write + c_audio_in,
            output_cost=c_output + c_reasoning + c_audio_out,
            cache_read_cost=c_read,
            cache_write_cost=c_write,
            reasoning_cost=c_reasoning,
        )
        out.append(record)
    return out


def merge_rows(parts: Sequence[list[Row]], query: ReportQuery) -> list[Row]:
    """Add up rows with the same dimension values (a report read from the rollup and from the events), then sort."""
    by = [normalize_dimension(name) for name in query.by]
    merged: dict[tuple[Any, ...], Row] = {}
    for rows in parts:
        for row in rows:
            key = tuple(row[name] for name in by)
            if key not in merged:
                merged[key] = dict(row)
            else:
                target = merged[key]
                for metric in METRICS[:-1]:
                    target[metric] += row[metric]
    out = [row for row in merged.values() if row["requests"]]
    for row in out:
        total_in = row["input_tokens"]
        row["cached_share"] = (
            (Decimal(row["cache_read_tokens"]) / total_in).quantize(Decimal("0.0001")) if total_in else Decimal(0)
        )
    time_dims = [name for name in by if name in TIME_UNITS]
    # Time first, then the most expensive; ties in a stable order, so the same data always reads the same.
    out.sort(key=lambda r: (*(r[t] or "" for t in time_dims), -r["cost"], -r["requests"],
                            *(str(r[name] if r[name] is not None else "") for name in by)))
    return out

