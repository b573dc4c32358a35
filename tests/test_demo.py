"""The demo month: reproducible, and holding what it promises (shape, caches, reasoning, a doubling, a runaway)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from llmledger.alerts.store import AlertStore
from llmledger.budgets.stored import BudgetStore
from llmledger.demo import DOUBLING_FEATURE, RUNAWAY_SESSION, demo_events, demo_outcomes
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.outcomes import OutcomeStore

START = datetime(2026, 10, 26, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="module")
def month() -> list[UsageEvent]:
    return list(demo_events(START, days=28, seed=3))


def test_the_same_seed_gives_the_same_month(month: list[UsageEvent]) -> None:
    again = list(demo_events(START, days=28, seed=3))
    assert [(e.ts, e.model, e.usage, e.cost.total, e.tags) for e in again] == \
        [(e.ts, e.model, e.usage, e.cost.total, e.tags) for e in month]
    other = list(demo_events(START, days=28, seed=4))
    assert [e.usage for e in other[:50]] != [e.usage for e in month[:50]]


def test_the_month_holds_what_it_promises(month: list[UsageEvent]) -> None:
    assert len(month) > 20_000 and all(START <= e.ts < START + timedelta(days=28) for e in month)
    assert {e.provider for e in month} >= {"openai", "anthropic", "google"}
    assert len({e.tags["tenant"] for e in month}) == 5 and len({e.tags["feature"] for e in month}) >= 8
    assert sum(e.usage.cache_read for e in month) > 0 and sum(e.usage.reasoning for e in month) > 0
    unpriced = [e for e in month if e.cost.status == "unpriced"]
    assert unpriced and all(e.cost.total is None for e in unpriced)
    assert all(isinstance(e.cost.total, Decimal) for e in month if e.cost.status == "priced")

    by_day: dict[int, Decimal] = defaultdict(Decimal)
    weekday, weekend = Decimal(0), Decimal(0)
    for e in month:
        day = (e.ts - START).days
        if e.tags["feature"] == DOUBLING_FEATURE and e.ts.weekday() < 5:
            by_day[day] += e.cost.total or 0
        if e.session_id == RUNAWAY_SESSION:
            continue
        if e.ts.weekday() < 5:
            weekday += e.cost.total or 0
        else:
            weekend += e.cost.total or 0
    assert weekend / 8 < weekday / 20 * Decimal("0.6")  # per day, weekends are quieter (4 weeks: 8 and 20 days)
    first = [v for d, v in by_day.items() if d < 14]
    second = [v for d, v in by_day.items() if d >= 14]
    ratio = (sum(second) / len(second)) / (sum(first) / len(first))
    assert Decimal("1.6") < ratio < Decimal("2.5")  # the feature doubles mid-month

    run = [e for e in month if e.session_id == RUNAWAY_SESSION]
    assert len(run) == 60 and run[-1].usage.total_input > 50 * run[0].usage.total_input


def test_demo_command(run: Any, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = run("demo", "--db", db, "--days", "21", "--no-serve").stdout
    assert "calls over 21 days" in out and "spend by feature" in out and RUNAWAY_SESSION in out
    assert f"feature {DOUBLING_FEATURE}: today's spend projects" in out
    assert "have no price" in out and "unpriced" in out
    with Ledger.open(db) as ledger:
        held = ledger.count()
        # what the dashboard shows beside the calls: outcomes, a monthly budget, the alerts raised
        outcomes = OutcomeStore(ledger.store).list()
        assert {o.name for o in outcomes} == {"ticket_resolved", "escalated"} and all(o.session_id for o in outcomes)
        assert [b.window for b in BudgetStore(ledger.store).list()] == ["month"]
        assert {a["kind"] for a in AlertStore(ledger.store).history()} == {"daily_vs_rolling_avg", "runaway_session",
                                                                           "unpriced"}
    again = run("demo", "--db", db, "--no-serve").stdout
    assert "already holds" in again and "showing them as they are" in again
    with Ledger.open(db) as ledger:
        assert ledger.count() == held


def test_demo_outcomes_name_support_sessions(month: list[UsageEvent]) -> None:
    outcomes = demo_outcomes(month, seed=3)
    support = {e.session_id for e in month if e.session_id and e.tags["feature"] == "support-chat"}
    assert outcomes and {o.session_id for o in outcomes} <= support
    assert 0.6 < sum(o.name == "ticket_resolved" for o in outcomes) / len(support) < 0.8
    assert demo_outcomes(month, seed=3) == outcomes


@pytest.mark.parametrize("now", [datetime(2026, 11, 14, 21, 30, tzinfo=UTC), datetime(2026, 11, 15, 8, 37, tzinfo=UTC),
                                 datetime(2026, 11, 3, 9, 38, tzinfo=UTC), datetime(2026, 11, 2, 6, 58, tzinfo=UTC)])
def test_the_doubling_is_caught_whatever_the_time_of_day(tmp_path: Path, now: datetime) -> None:
    """The demo's month ends when it is run: the alert on the doubled feature must fire at any hour and weekday."""
    import contextlib
    import io

    from llmledger.cli.demo import _fill

    with Ledger.open(f"sqlite:///{tmp_path / 'demo.db'}") as ledger, contextlib.redirect_stdout(io.StringIO()):
        _fill(ledger, "demo", 21, 7, now)
        fired = [a for a in AlertStore(ledger.store).history() if a["kind"] == "daily_vs_rolling_avg"]
    assert {"feature": DOUBLING_FEATURE} in [a["scope"] for a in fired]  # (a noisy small feature may fire too)
