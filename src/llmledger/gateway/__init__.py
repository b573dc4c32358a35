"""The gateway: an OpenAI- and Anthropic-compatible proxy that meters, attributes and governs every call.

`build_gateway()` assembles it from the config: the ledger (with its spool), prices, the key store, and the limit
state (in memory, or in Redis when ``redis:`` is set, so several replicas share budgets and rate limits).
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..budgets import Budget, Limit
from ..config import Config
from ..ledger import DEFAULT_DB, Ledger, default_spool_dir

if TYPE_CHECKING:
    from .app import Gateway

__all__ = ["build_gateway"]


def build_gateway(config: Config, *, database: str | None = None, **overrides: Any) -> Gateway:
    # Imported here: the server's dependencies are the `gateway` extra, and `llmledger keys` works without them.
    from ..budgets.stored import BudgetStore
    from .app import Gateway
    from .keys import KeyStore
    from .limits import Limits, LimitState
    from .settings import GatewaySettings

    settings = GatewaySettings.from_config(config, **overrides)
    url = database or config.database or DEFAULT_DB
    spool = config.spool_dir or os.environ.get("LLMLEDGER_SPOOL") or default_spool_dir(url)
    ledger = Ledger.open(url, spool_dir=spool)

    def spent_since(limit: Limit, start: datetime) -> Decimal:
        return ledger.spend(start, scope=limit.scope)

    stored = BudgetStore(ledger.store)

    def standing() -> list[Limit]:
        return [*settings.limits, *stored.list()]

    state: LimitState
    if settings.redis:
        from ..budgets.redis import RedisBudgets

        state = RedisBudgets(standing(), url=settings.redis, spent_since=spent_since)
    else:
        from ..budgets.memory import MemoryBudgets

        state = MemoryBudgets(standing(), spent_since=spent_since)
    from ..alerts import AlertSettings, Evaluator
    from ..alerts.store import RuleStore

    rules = RuleStore(ledger.store)
    alerts = AlertSettings.from_config(config, rules.list())
    evaluator = Evaluator(ledger, alerts, budgets=lambda: [b for b in standing() if isinstance(b, Budget)],
                          reload=lambda: AlertSettings.from_config(config, rules.list()))
    from ..dashboard import DashboardAuth, build_dashboard

    dashboard = build_dashboard(ledger, DashboardAuth.from_config(config.raw),
                                budgets=lambda: [b for b in standing() if isinstance(b, Budget)])
    return Gateway(settings, ledger=ledger, prices=config.price_book(), keys=KeyStore(ledger.store),
                   limits=Limits(state, remote=bool(settings.redis), standing=standing), evaluator=evaluator,
                   evaluate_every=alerts.interval, dashboard=dashboard)
