"""Shared by the provider tests: a fixed pricing day and exact cost assertions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from llmledger.pricing import COMPONENTS

AT = datetime(2026, 11, 1, tzinfo=UTC)  # a fixed pricing day, so the figures never drift with the clock
M = 1_000_000


def read(fixtures_dir, name):
    return (fixtures_dir / name).read_text(encoding="utf-8")


def cost_of(prices, parsed, **kw):
    return prices.price(parsed.usage, provider=parsed.provider, model=parsed.model, at=AT,
                        service_tier=parsed.service_tier, **kw)


def assert_priced(cost, total, priced_as, **components):
    assert (cost.status, cost.reason, cost.priced_as) == ("priced", None, priced_as)
    assert cost.components() == {**dict.fromkeys(COMPONENTS, Decimal(0)), **components}
    assert cost.total == sum(components.values(), Decimal(0)) == total
