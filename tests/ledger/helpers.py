from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmledger.events import UsageEvent
from llmledger.pricing import PriceBook
from llmledger.usage import Usage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_event(
    prices: PriceBook,
    *,
    model: str = "gpt-4o-mini",
    provider: str = "openai",
    at: datetime = T0,
    usage: Usage | None = None,
    **fields: object,
) -> UsageEvent:
    usage = usage or Usage(input=1000, cache_read=500, output=200, reasoning=100)
    cost = prices.price(usage, provider=provider, model=model, at=at)
    return UsageEvent(provider=provider, model=model, usage=usage, cost=cost, ts=at, **fields)  # type: ignore[arg-type]


def spread(prices: PriceBook, n: int, **fields: object) -> list[UsageEvent]:
    return [make_event(prices, at=T0 + timedelta(hours=i), **fields) for i in range(n)]
