"""`llmledger forecast`: projected month-end spend per scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmledger import Ledger

from ..alerts.test_rules import event


def test_forecast_command(run: Any, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'f.db'}"
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with Ledger.open(db) as ledger:
        ledger.write([event(now - timedelta(days=d), "2", tenant="acme") for d in range(1, 20)]
                     + [event(now - timedelta(days=d), "1", tenant="beta") for d in range(1, 20)])
    rows = json.loads(run("forecast", "--by", "tenant", "--format", "json", "--db", db).stdout)
    assert [r["tenant"] for r in rows] == ["acme", "beta"]
    acme = rows[0]
    # $2 a day from the first event on, projected flat to the month's end
    first_day = (now - timedelta(days=19)).date()
    month_start = now.date().replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    days = (next_month - max(first_day, month_start)).days
    assert Decimal(acme["projected"]) == 2 * days
    assert "acme" in run("forecast", "--by", "tenant", "--db", db).stdout
