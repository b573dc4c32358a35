"""Downloads: any panel's rows as CSV, the request table as CSV or Parquet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from ..events import PROMOTED_TAGS

__all__ = ["plain", "csv_text", "csv_stream", "parquet_bytes", "EVENT_COLUMNS"]

EVENT_COLUMNS = ("id", "ts", "provider", "model", "input_tokens", "cache_read_tokens", "cache_write_tokens",
                 "output_tokens", "reasoning_tokens", "cost", "cost_status", "status", "http_status", "latency_ms",
                 "session_id", "estimated", *PROMOTED_TAGS, "tags")


def plain(value: Any) -> Any:
    """A value as JSON and CSV show it: exact decimal strings, ISO 8601 times."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _cell(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else value


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(csv_stream(rows, _columns(rows)))


def csv_stream(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """CSV lines, header first; rows may be a lazy iterator (the request table streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for i, row in enumerate(rows):
        writer.writerow([_cell(row.get(c)) for c in columns])
        if i % 1000 == 999:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    """A request-table row for export: promoted tags as their own columns, the rest as JSON."""
    tags = dict(row["tags"])
    out = {c: row.get(c) for c in EVENT_COLUMNS[:16]}
    out.update({t: tags.pop(t, None) for t in PROMOTED_TAGS})
    out["tags"] = tags
    return out


def parquet_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    """The request table as a Parquet file (money as decimal(38, 12), times as UTC timestamps)."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError('Parquet export needs pyarrow: pip install "llmledger[dashboard]"') from None
    text, integer = pa.string(), pa.int64()
    schema = pa.schema([
        ("id", text), ("ts", pa.timestamp("us", tz="UTC")), ("provider", text), ("model", text),
        ("input_tokens", integer), ("cache_read_tokens", integer), ("cache_write_tokens", integer),
        ("output_tokens", integer), ("reasoning_tokens", integer), ("cost", pa.decimal128(38, 12)),
        ("cost_status", text), ("status", text), ("http_status", integer), ("latency_ms", integer),
        ("session_id", text), ("estimated", pa.bool_()), *((t, text) for t in PROMOTED_TAGS), ("tags", text),
    ])
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for record in records:
        for name in schema.names:
            value = record.get(name)
            columns[name].append(json.dumps(value, sort_keys=True) if name == "tags" else value)
    table = pa.table(columns, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
