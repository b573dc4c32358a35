"""The ledger table, its row mapping and its migrations (named, append-only, recorded in a table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Protocol

from ..events import PROMOTED_TAGS, UsageEvent
from ..pricing import COMPONENTS, Cost
from ..usage import USAGE_FIELDS, Usage

# Token columns, in Usage field order.
TOKEN_COLUMNS: tuple[str, ...] = (
    "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens",
    "reasoning_tokens", "audio_in_tokens", "audio_out_tokens", "web_searches", "requests",
)
COST_COLUMNS: tuple[str, ...] = tuple(f"cost_{c}" for c in COMPONENTS)
TAG_COLUMNS: dict[str, str] = {tag: ("user_id" if tag == "user" else tag) for tag in PROMOTED_TAGS}

COLUMNS: tuple[str, ...] = (
    "id", "ts", "recorded_at", "provider", "model",
    *TOKEN_COLUMNS,
    *COST_COLUMNS, "cost_total", "reported_cost", "currency", "cost_status", "cost_reason", "price_version",
    "priced_as",
    *TAG_COLUMNS.values(), "tags",
    "session_id", "trace_id", "parent_id", "latency_ms", "status", "source", "key_id", "request_id",
    "service_tier", "batch", "estimated", "http_status",
)
assert len(TOKEN_COLUMNS) == len(USAGE_FIELDS)


class Dialect(Protocol):
    """What differs between stores: how values are stored and a few SQL expressions."""

    name: str
    param: str

    def money_in(self, value: Decimal | None) -> Any: ...
    def money_out(self, value: Any) -> Decimal | None: ...
    def ts_in(self, value: datetime) -> Any: ...
    def ts_out(self, value: Any) -> datetime: ...
    def json_in(self, value: dict[str, str]) -> Any: ...
    def json_out(self, value: Any) -> dict[str, str]: ...
    def bucket(self, unit: str) -> str: ...
    def rollup_bucket(self, unit: str) -> str: ...  # a time bucket from a rollup's `day` ('YYYY-MM-DD' text)
    def tag(self) -> str: ...
    def money_sums(self, column: str, *, safe: bool) -> list[str]: ...
    def money_total(self, values: Sequence[Any]) -> Decimal: ...


_usage_counts = attrgetter(*USAGE_FIELDS)
_cost_parts = attrgetter(*COMPONENTS)
_promoted = tuple(TAG_COLUMNS)


def to_row(event: UsageEvent, d: Dialect) -> tuple[Any, ...]:
    """The event as a row in COLUMNS order. Hot: every ledger write runs it once per event."""
    money, ts = d.money_in, d.ts_in
    cost, tags = event.cost, event.tags
    if tags:
        promoted = tuple(tags.get(tag) for tag in _promoted)
        extra = {k: v for k, v in tags.items() if k not in TAG_COLUMNS}
    else:
        promoted, extra = _NO_TAGS, {}
    return (
        event.id, ts(event.ts), ts(event.recorded_at), event.provider, event.model,
        *_usage_counts(event.usage),
        *map(money, _cost_parts(cost)), money(cost.total), money(event.reported_cost),
        cost.currency, cost.status, cost.reason, cost.price_version, cost.priced_as,
        *promoted, d.json_in(extra),
        event.session_id, event.trace_id, event.parent_id, event.latency_ms, event.status, event.source,
        event.key_id, event.request_id, event.service_tier, bool(event.batch), bool(event.estimated),
        event.http_status,
    )


_NO_TAGS: tuple[None, ...] = (None,) * len(_promoted)


def from_row(row: Sequence[Any], d: Dialect) -> UsageEvent:
    r = dict(zip(COLUMNS, row, strict=True))
    tags = d.json_out(r["tags"])
    tags.update({tag: r[col] for tag, col in TAG_COLUMNS.items() if r[col] is not None})
    return UsageEvent(
        id=r["id"], ts=d.ts_out(r["ts"]), recorded_at=d.ts_out(r["recorded_at"]),
        provider=r["provider"], model=r["model"],
        usage=Usage(**{f: r[c] for f, c in zip(USAGE_FIELDS, TOKEN_COLUMNS, strict=True)}),
        cost=Cost(
            status=r["cost_status"], total=d.money_out(r["cost_total"]), currency=r["currency"],
            price_version=r["price_version"], priced_as=r["priced_as"], reason=r["cost_reason"],
            **{c: d.money_out(r[f"cost_{c}"]) for c in COMPONENTS},
        ),
        reported_cost=d.money_out(r["reported_cost"]), tags=tags,
        session_id=r["session_id"], trace_id=r["trace_id"], parent_id=r["parent_id"], latency_ms=r["latency_ms"],
        status=r["status"], source=r["source"], key_id=r["key_id"], request_id=r["request_id"],
        service_tier=r["service_tier"], batch=bool(r["batch"]), estimated=bool(r["estimated"]),
        http_status=r["http_status"],
    )


def cost_values(cost: Cost, d: Dialect) -> tuple[Any, ...]:
    """The cost columns of a re-priced event, in COST_UPDATE_COLUMNS order."""
    return (
        *(d.money_in(getattr(cost, c)) for c in COMPONENTS), d.money_in(cost.total), cost.currency, cost.status,
        cost.reason, cost.price_version, cost.priced_as,
    )


COST_UPDATE_COLUMNS: tuple[str, ...] = (
    *COST_COLUMNS, "cost_total", "currency", "cost_status", "cost_reason", "price_version", "priced_as",
)

