"""Budgets set at run time (`llmledger budgets set`), kept in the ledger database beside the config's own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from ..errors import ConfigError
from ..ledger.store import SQLStore
from . import Budget

__all__ = ["BudgetStore"]


class BudgetStore:
    def __init__(self, store: SQLStore) -> None:
        self.store = store

    def set(self, budget: Budget) -> None:
        """Create or replace the budget with this name."""
        values = (json.dumps(dict(budget.scope), sort_keys=True), budget.window, str(budget.limit_usd), budget.mode,
                  str(budget.tolerance_usd), datetime.now(UTC).isoformat(timespec="seconds"))
        if not self.store.execute("UPDATE gateway_budgets SET scope = ?, window_name = ?, limit_usd = ?, mode = ?, "
                                  "tolerance_usd = ?, updated_at = ? WHERE name = ?", (*values, budget.name)):
            self.store.execute("INSERT INTO gateway_budgets (name, scope, window_name, limit_usd, mode, tolerance_usd, "
                               "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", (budget.name, *values))

    def delete(self, name: str) -> bool:
        return self.store.execute("DELETE FROM gateway_budgets WHERE name = ?", (name,)) > 0

    def list(self) -> list[Budget]:
        rows = self.store.fetch("SELECT name, scope, window_name, limit_usd, mode, tolerance_usd FROM gateway_budgets "
                                "ORDER BY name")
        return [Budget(Decimal(limit), window, json.loads(scope), name=name, mode=mode, tolerance_usd=Decimal(tol))
                for name, scope, window, limit, mode, tol in rows]


def parse_scope(items: list[str]) -> Mapping[str, str]:
    scope = {}
    for item in items:
        for part in (p for p in item.split(",") if p.strip()):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ConfigError(f"scope {part!r}: write NAME=VALUE, e.g. tenant=acme")
            scope[name.strip()] = value.strip()
    return scope
