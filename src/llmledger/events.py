"""`UsageEvent`: one priced, attributed call — the ledger row."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .pricing import COMPONENTS, Cost
from .usage import USAGE_FIELDS, Usage

__all__ = ["UsageEvent", "new_event_id", "PROMOTED_TAGS"]

# Tags every report can group by quickly: stores keep them in their own columns.
PROMOTED_TAGS: tuple[str, ...] = ("user", "tenant", "team", "feature", "environment", "prompt_version")


def new_event_id() -> str:
    """A time-ordered unique id (microseconds since the epoch, then 64 random bits), so inserts append."""
    return f"{time.time_ns() // 1000:014x}{os.urandom(8).hex()}"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One call: what it used, what it cost, who and what it was for."""

    provider: str
    model: str
    usage: Usage
    cost: Cost
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=new_event_id)
    tags: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    trace_id: str | None = None
    parent_id: str | None = None
    latency_ms: int | None = None
    status: str = "ok"
    source: str = "sdk"
    key_id: str | None = None
    request_id: str | None = None
    service_tier: str | None = None
    batch: bool = False
    estimated: bool = False
    reported_cost: Decimal | None = None
    http_status: int | None = None
    # The request and response text, only when the user opted in to storing it (`instrument(store_content=True)`).
    content: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimals as strings, times as ISO 8601)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "usage":
                value = value.as_dict()
            elif f.name == "cost":
                value = {
                    "status": value.status,
                    "total": _str(value.total),
                    "currency": value.currency,
                    "components": {name: _str(getattr(value, name)) for name in COMPONENTS},
                    "price_version": value.price_version,
                    "priced_as": value.priced_as,
                    "reason": value.reason,
                }
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageEvent:
        cost = data["cost"]
        values = dict(data)
        values["usage"] = Usage(**{k: v for k, v in data["usage"].items() if k in USAGE_FIELDS})
        values["cost"] = Cost(
            status=cost["status"],
            total=_dec(cost["total"]),
            currency=cost.get("currency", "USD"),
            price_version=cost.get("price_version"),
            priced_as=cost.get("priced_as"),
            reason=cost.get("reason"),
            **{name: _dec(cost["components"].get(name)) for name in COMPONENTS},
        )
        values["ts"] = datetime.fromisoformat(data["ts"])
        values["recorded_at"] = datetime.fromisoformat(data["recorded_at"])
        values["reported_cost"] = _dec(data.get("reported_cost"))
        return cls(**values)


def _str(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
