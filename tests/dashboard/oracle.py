"""What the dashboard should say, computed the slow, obvious way from the events themselves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmledger.events import UsageEvent


def pick(events: Iterable[UsageEvent], since: datetime | None = None, until: datetime | None = None,
         **tags: str) -> list[UsageEvent]:
    return [e for e in events if (since is None or e.ts >= since) and (until is None or e.ts < until)
            and all(e.tags.get(k) == v for k, v in tags.items())]


def totals(events: Iterable[UsageEvent]) -> dict[str, Any]:
    events = list(events)
    return {
        "requests": len(events),
        "cost": sum((e.cost.total or Decimal(0) for e in events), Decimal(0)),
        "input_tokens": sum(e.usage.total_input for e in events),
        "output_tokens": sum(e.usage.total_output for e in events),
        "cache_read_tokens": sum(e.usage.cache_read for e in events),
        "reasoning_tokens": sum(e.usage.reasoning for e in events),
        "unpriced": sum(e.cost.status == "unpriced" for e in events),
        "errors": sum(e.status != "ok" for e in events),
    }


def money(text: str) -> Decimal:
    return Decimal(text)
