"""Report queries: group usage by dimensions (columns, tags, time buckets), filter, sum tokens and money."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from .schema import TAG_COLUMNS, Dialect

__all__ = ["ReportQuery", "Filter", "parse_where", "build_report", "TIME_UNITS", "METRICS"]

TIME_UNITS = ("hour", "day", "week", "month")
_COLUMNS = {
    "provider": "provider", "model": "model", "status": "status", "cost_status": "cost_status", "source": "source",
    "service_tier": "service_tier", "key": "key_id", "session": "session_id", "trace": "trace_id",
    "price_version": "price_version", **TAG_COLUMNS,
}
_ALIASES = {"user_id": "user", "session_id": "session", "key_id": "key", "tenant_id": "tenant", "team_id": "team",
            "env": "environment", "trace_id": "trace"}
_TAG_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

_INPUT_TOKENS = "input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + audio_in_tokens"
_OUTPUT_TOKENS = "output_tokens + reasoning_tokens + audio_out_tokens"
_INPUT_COST = "COALESCE(cost_input, 0) + COALESCE(cost_cache_read, 0) + COALESCE(cost_cache_write, 0) " \
              "+ COALESCE(cost_audio_in, 0)"
_OUTPUT_COST = "COALESCE(cost_output, 0) + COALESCE(cost_reasoning, 0) + COALESCE(cost_audio_out, 0)"

_TOKEN_METRICS = {
    "requests": "COUNT(*)",
    "input_tokens": f"SUM({_INPUT_TOKENS})",
    "cache_read_tokens": "SUM(cache_read_tokens)",
    "cache_write_tokens": "SUM(cache_write_5m_tokens + cache_write_1h_tokens)",
    "output_tokens": f"SUM({_OUTPUT_TOKENS})",
    "reasoning_tokens": "SUM(reasoning_tokens)",
    "unpriced": "SUM(CASE WHEN cost_status = 'unpriced' THEN 1 ELSE 0 END)",
    "errors": "SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END)",
}
_MONEY_METRICS = {"cost": "COALESCE(cost_total, 0)", "input_cost": _INPUT_COST, "output_cost": _OUTPUT_COST}
METRICS: tuple[str, ...] = (*_TOKEN_METRICS, *_MONEY_METRICS, "cached_share")


@dataclass(frozen=True)
class Filter:
    dimension: str
    value: str
    negate: bool = False


@dataclass(frozen=True)
class ReportQuery:
    by: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    where: tuple[Filter, ...] = field(default_factory=tuple)


def parse_where(expressions: Sequence[str]) -> tuple[Filter, ...]:
    """``tenant=acme``, ``model!=gpt-4o`` → filters."""
    filters = []
    for text in expressions:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            negate = "!=" in part
            name, sep, value = part.partition("!=" if negate else "=")
            if not sep or not name.strip():
                raise ConfigError(f"--where {part!r}: expected NAME=VALUE or NAME!=VALUE, e.g. tenant=acme")
            filters.append(Filter(normalize_dimension(name.strip()), value.strip(), negate))
    return tuple(filters)


def normalize_dimension(name: str) -> str:
    name = _ALIASES.get(name, name)
    if name in _COLUMNS or name in TIME_UNITS:
        return name
    if not _TAG_NAME.match(name):
        raise ConfigError(f"{name!r} is not a valid dimension or tag name (letters, digits, _ . - ; up to 64)")
    return name


def _expression(name: str, d: Dialect, params: list[Any]) -> str:
    if name in TIME_UNITS:
        return d.bucket(name)
    if name in _COLUMNS:
        return _COLUMNS[name]
    params.append(name)
    return d.tag()


def build_report(query: ReportQuery, d: Dialect) -> tuple[str, list[Any], list[str]]:
    """SQL and parameters for the report; the third item names the money columns' sum expressions per metric."""
    by = [normalize_dimension(name) for name in query.by]
    params: list[Any] = []
    selects = [f"{_expression(name, d, params)} AS d{i}" for i, name in enumerate(by)]
    selects += [f"{sql} AS {name}" for name, sql in _TOKEN_METRICS.items()]
    money_parts: list[str] = []
    for name, sql in _MONEY_METRICS.items():
        for j, part in enumerate(d.money_sums(sql)):
            selects.append(f"{part} AS {name}_{j}")
            money_parts.append(name)
    where, where_params = _where(query, d)
    sql = f"SELECT {', '.join(selects)} FROM usage_events{where}"
    if by:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(by)))
    return sql, params + where_params, money_parts


def _where(query: ReportQuery, d: Dialect) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.since is not None:
        clauses.append(f"ts >= {d.param}")
        params.append(d.ts_in(query.since))
    if query.until is not None:
        clauses.append(f"ts < {d.param}")
        params.append(d.ts_in(query.until))
    for f in query.where:
        expression = _expression(f.dimension, d, params)
        if f.negate:
            clauses.append(f"({expression} IS NULL OR {expression} <> {d.param})")
            if f.dimension not in _COLUMNS and f.dimension not in TIME_UNITS:
                params.append(f.dimension)  # the tag expression appears twice
        else:
            clauses.append(f"{expression} = {d.param}")
        params.append(f.value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def where_sql(query: ReportQuery, d: Dialect) -> tuple[str, list[Any]]:
    """The WHERE clause alone, for reading or re-pricing the events a query selects."""
    return _where(query, d)


def shape_rows(
    rows: Sequence[Sequence[Any]], query: ReportQuery, money_parts: list[str], d: Dialect
) -> list[dict[str, Any]]:
    by = [normalize_dimension(name) for name in query.by]
    out = []
    for row in rows:
        values = list(row)
        record: dict[str, Any] = {name: values[i] for i, name in enumerate(by)}
        offset = len(by)
        for i, name in enumerate(_TOKEN_METRICS):
            record[name] = int(values[offset + i] or 0)
        offset += len(_TOKEN_METRICS)
        for name in _MONEY_METRICS:
            parts = [values[offset + i] for i, part in enumerate(money_parts) if part == name]
            record[name] = d.money_total(parts)
        total_in = record["input_tokens"]
        record["cached_share"] = (
            (Decimal(record["cache_read_tokens"]) / total_in).quantize(Decimal("0.0001")) if total_in else Decimal(0)
        )
        out.append(record)
    time_dims = [name for name in by if name in TIME_UNITS]
    out.sort(key=lambda r: (*(r[t] or "" for t in time_dims), -r["cost"]))
    return out
