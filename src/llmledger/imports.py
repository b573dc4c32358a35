"""Import usage records from an application's own logs (JSONL or CSV) into priced `UsageEvent`s.

One record per call. Token counts follow the OpenTelemetry GenAI convention: ``input_tokens`` is the whole
prompt, cached tokens included, and ``output_tokens`` includes reasoning tokens. (A log of Anthropic's
uncached ``input_tokens`` names that column ``uncached_input_tokens``.) Every field that is not a known one
becomes a tag. A given cost is kept and checked against the catalog; a missing one is priced.

Every record is checked before anything is written: one bad record fails the whole file, with every problem
listed. Event ids come from the record's content, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .errors import ImportFailed, LedgerError, ParseError
from .events import UsageEvent
from .pricing import Cost, PriceBook
from .providers import canonical_provider
from .timeparse import parse_timestamp
from .usage import Usage

__all__ = ["read_records", "to_events", "ImportSummary", "MISMATCH_TOLERANCE"]

_TIMESTAMP = ("timestamp", "ts", "time", "created_at", "date")
_TOKENS = {
    "input_tokens": ("input_tokens", "prompt_tokens"),
    "uncached_input_tokens": ("uncached_input_tokens",),
    "output_tokens": ("output_tokens", "completion_tokens"),
    "cache_read_tokens": ("cache_read_tokens", "cached_tokens", "cache_read_input_tokens"),
    "cache_write_tokens": ("cache_write_tokens", "cache_write_5m_tokens", "cache_creation_input_tokens"),
    "cache_write_1h_tokens": ("cache_write_1h_tokens",),
    "reasoning_tokens": ("reasoning_tokens",),
    "audio_input_tokens": ("audio_input_tokens", "audio_in_tokens"),
    "audio_output_tokens": ("audio_output_tokens", "audio_out_tokens"),
    "web_searches": ("web_searches", "web_search_requests"),
}
_COST = ("cost_usd", "estimated_cost_usd", "cost", "total_cost_usd", "total_cost")
_IGNORED = ("total_tokens",)  # derivable; never a tag
_TAG_ALIASES = {"user_id": "user", "tenant_id": "tenant", "team_id": "team", "env": "environment"}
_EVENT_FIELDS = ("session_id", "trace_id", "parent_id", "key_id", "request_id", "service_tier")
_TAG_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MAX_TAG_VALUE = 256
_IMPLAUSIBLE = Decimal(1_000_000)
MISMATCH_TOLERANCE = Decimal("0.01")  # a given cost more than 1% (and $0.000001) off the catalog's is reported


@dataclass
class ImportSummary:
    records: int = 0
    inserted: int = 0
    unpriced: int = 0
    reported_kept: int = 0
    mismatches: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # (where, given, catalog)

    @property
    def duplicates(self) -> int:
        return self.records - self.inserted


def read_records(path: Path, fmt: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, record) pairs from a JSONL or CSV file; raises ImportFailed listing unreadable lines."""
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(str(path), [("file", f"cannot read it: {exc}")]) from None
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise ImportFailed(str(path), [(f"line {number}", "has more values than the header has columns")])
            yield f"line {number}", {k.strip(): (v if v != "" else None) for k, v in row.items() if k}
        return
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            problems.append((f"line {number}", f"not valid JSON ({exc})"))
            continue
        if not isinstance(record, dict):
            problems.append((f"line {number}", f"expected a JSON object, got {type(record).__name__}"))
            continue
        yield f"line {number}", record
    if problems:
        raise ImportFailed(str(path), problems)


def to_events(
    records: Iterator[tuple[str, dict[str, Any]]], prices: PriceBook, *, source: str
) -> tuple[list[UsageEvent], ImportSummary]:
    """Priced events for every record, or ImportFailed listing every bad record."""
    events: list[UsageEvent] = []
    summary = ImportSummary()
    problems: list[tuple[str, str]] = []
    seen: Counter[str] = Counter()
    for where, record in records:
        summary.records += 1
        try:
            event = _event(record, prices, seen)
        except (LedgerError, ValueError) as exc:
            problems.append((where, str(exc)))
            continue
        if event.cost.status == "unpriced":
            summary.unpriced += 1
        if event.cost.status == "reported":
            summary.reported_kept += 1
        given, priced = event.reported_cost, event.cost.total
        if given is not None and priced is not None and event.cost.status != "reported":
            if abs(given - priced) > max(Decimal("0.000001"), priced * MISMATCH_TOLERANCE):
                summary.mismatches.append((where, given, priced))
        events.append(event)
    if problems:
        raise ImportFailed(source, problems)
    return events, summary


def _event(record: Mapping[str, Any], prices: PriceBook, seen: Counter[str]) -> UsageEvent:
    used: set[str] = set()

    def take(names: tuple[str, ...]) -> Any:
        for name in names:
            if name in record:
                used.add(name)
                if record[name] is not None:
                    return record[name]
        return None

    raw_ts = take(_TIMESTAMP)
    if raw_ts is None:
        raise ParseError("missing 'timestamp' (ISO 8601 like 2026-01-31T12:00:00Z, or epoch seconds)")
    try:
        ts = parse_timestamp(raw_ts)
    except ValueError:
        raise ParseError(f"timestamp {raw_ts!r} is not ISO 8601 (2026-01-31T12:00:00Z) or epoch seconds") from None
    model = take(("model",))
    if not isinstance(model, str) or not model.strip():
        raise ParseError("missing 'model'")
    provider_given = take(("provider",))
    if provider_given is not None and not isinstance(provider_given, str):
        raise ParseError(f"provider must be a string, got {provider_given!r}")

    counts = {name: _count(take(aliases), name) for name, aliases in _TOKENS.items()}
    if counts["input_tokens"] is None and counts["uncached_input_tokens"] is None and counts["output_tokens"] is None:
        raise ParseError("no token counts: give at least input_tokens and output_tokens")
    usage = _usage(counts)

    given_raw = take(_COST)
    given = _money(given_raw) if given_raw is not None else None
    provider = canonical_provider(provider_given) if provider_given else None
    service_tier = take(("service_tier",))
    batch = _flag(take(("batch",)))
    cost = prices.price(usage, provider=provider, model=model.strip(), at=ts,
                        service_tier=service_tier if isinstance(service_tier, str) else None, batch=batch)
    if cost.status == "unpriced" and given is not None:
        cost = Cost(status="reported", total=given, price_version="reported by the source", reason=cost.reason)
    if provider is None:
        provider = cost.priced_as.split("/", 1)[0] if cost.priced_as else "unknown"

    fields: dict[str, Any] = {name: _text(take((name,)), name) for name in _EVENT_FIELDS}
    latency = take(("latency_ms",))
    status = take(("status",))
    explicit_id = take(("id", "event_id"))
    used.update(_IGNORED)
    tags = {}
    for key, value in record.items():
        if key in used or value is None:
            continue
        name = _TAG_ALIASES.get(key, key)
        if not _TAG_KEY.match(name):
            raise ParseError(f"field name {key!r} cannot be a tag: use letters, digits, _ . - (up to 64)")
        tags[name] = _tag_value(value, key)

    if explicit_id is not None:
        event_id = str(explicit_id)
    else:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
        seen[canonical] += 1  # identical records in one file stay distinct events, and stable on re-import
        event_id = "imp_" + hashlib.sha256(f"{canonical}#{seen[canonical]}".encode()).hexdigest()[:32]
    return UsageEvent(
        id=event_id, ts=ts, provider=provider, model=model.strip(), usage=usage, cost=cost, tags=tags,
        latency_ms=_latency(latency), status=str(status) if status is not None else "ok",
        source="import", reported_cost=given, batch=batch, **fields,
    )


def _usage(c: Mapping[str, int | None]) -> Usage:
    cache_read = c["cache_read_tokens"] or 0
    write_5m = c["cache_write_tokens"] or 0
    write_1h = c["cache_write_1h_tokens"] or 0
    audio_in = c["audio_input_tokens"] or 0
    if c["uncached_input_tokens"] is not None:
        uncached = c["uncached_input_tokens"]
    else:
        total = c["input_tokens"] or 0
        uncached = total - cache_read - write_5m - write_1h - audio_in
        if uncached < 0:
            raise ParseError(
                f"input_tokens ({total}) is smaller than the cached, cache-write and audio tokens it must include "
                f"({cache_read + write_5m + write_1h + audio_in}); if the log holds Anthropic-style uncached input, "
                "name that column uncached_input_tokens"
            )
    output_total = c["output_tokens"] or 0
    reasoning = c["reasoning_tokens"] or 0
    audio_out = c["audio_output_tokens"] or 0
    visible = output_total - reasoning - audio_out
    if visible < 0:
        raise ParseError(
            f"output_tokens ({output_total}) is smaller than the reasoning and audio tokens it must include "
            f"({reasoning + audio_out})"
        )
    return Usage(input=uncached, cache_read=cache_read, cache_write_5m=write_5m, cache_write_1h=write_1h,
                 output=visible, reasoning=reasoning, audio_in=audio_in, audio_out=audio_out,
                 web_searches=c["web_searches"] or 0)


def _count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"{name} must be a whole number ≥ 0, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+(\.0+)?", text):
            raise ParseError(f"{name} must be a whole number ≥ 0, got {value!r}")
        value = int(text.split(".")[0])
    if isinstance(value, float):
        if not value.is_integer():
            raise ParseError(f"{name} must be a whole number ≥ 0, got {value!r}")
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise ParseError(f"{name} must be a whole number ≥ 0, got {value!r}")
    return value


def _latency(value: Any) -> int | None:
    if value is None:
        return None
    try:
        latency = float(value)
    except (TypeError, ValueError):
        raise ParseError(f"latency_ms must be a number of milliseconds, got {value!r}") from None
    if not latency >= 0 or latency == float("inf"):
        raise ParseError(f"latency_ms must be a number ≥ 0, got {value!r}")
    return round(latency)


def _money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ParseError(f"cost must be a number, got {value!r}")
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        raise ParseError(f"cost must be a number (USD), got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ParseError(f"cost must be a finite amount ≥ 0, got {value!r}")
    if amount >= _IMPLAUSIBLE:
        raise ParseError(f"cost {value!r} for one call is not plausible: the column must hold US dollars")
    return amount


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("1", "true", "yes"))


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) > MAX_TAG_VALUE:
        raise ParseError(f"{name} is longer than {MAX_TAG_VALUE} characters")
    return text


def _tag_value(value: Any, key: str) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    if len(text) > MAX_TAG_VALUE:
        raise ParseError(f"tag {key!r} is longer than {MAX_TAG_VALUE} characters; shorten it")
    return text
