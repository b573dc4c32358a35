"""`llmledger demo`: a realistic synthetic month in a fresh ledger, what it shows, and the dashboard over it."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import typer
from rich.table import Table

from ..alerts import alert_of
from ..alerts.rules import Context, DailyVsRollingAverage, RunawaySession, Unpriced
from ..alerts.store import AlertStore
from ..analytics.sessions import sessions
from ..budgets import Budget
from ..budgets.stored import BudgetStore
from ..demo import DOUBLING_FEATURE, demo_events, demo_outcomes, live_call
from ..ledger import Ledger, ReportQuery
from ..outcomes import OutcomeStore
from ..pricing import PriceBook
from . import app, console, money

DEMO_BUDGET = "demo-monthly"


@app.command()
def demo(
    db: str = typer.Option("sqlite:///llmledger-demo.db", "--db", help="Ledger to fill (if empty) and show"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the dashboard listens on"),
    port: int = typer.Option(4000, "--port", help="Port the dashboard listens on"),
    days: int = typer.Option(30, "--days", min=8, max=92, help="Days of history, ending now"),
    seed: int = typer.Option(7, "--seed", help="Random seed (the same seed gives the same month)"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the dashboard after filling the ledger"),
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning, error"),
) -> None:
    """Fill a fresh ledger with a realistic synthetic month (no API keys needed), show what it holds — spend by
    feature, the costliest agent runs, the alerts the month would have raised — then serve the web dashboard
    over it at http://HOST:PORT/ (no login: the data is synthetic)."""
    out = console()
    with Ledger.open(db) as ledger:
        held = ledger.count()
        if held:
            out.print(f"{db} already holds {held:,} events: showing them as they are "
                      "(delete the file, or pass another --db, for a fresh month)")
        else:
            _fill(ledger, db, days, seed, datetime.now(UTC))
    if serve:
        _serve(db, host, port, log_level)


def _fill(ledger: Ledger, db: str, days: int, seed: int, now: datetime) -> None:
    out = console()
    start = now.replace(microsecond=0) - timedelta(days=days)
    events = list(demo_events(start, days=days, seed=seed))
    ledger.write(events)
    OutcomeStore(ledger.store).add_all(demo_outcomes(events, seed=seed))
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    daily = sum((e.cost.total or Decimal(0) for e in events if e.ts >= now - timedelta(days=7)), Decimal(0)) / 7
    limit = (daily * 31).quantize(Decimal("1"))  # about what a whole month at last week's pace would cost
    BudgetStore(ledger.store).set(Budget(limit, "month", {}, name=DEMO_BUDGET, mode="soft"))
    out.print(f"wrote {len(events):,} calls over {days} days ({start:%Y-%m-%d %H:%M} to now, UTC) into {db}; "
              f"monthly budget {DEMO_BUDGET}: ${limit:,} (month to date since {month_start:%Y-%m-%d})")
    table = Table("feature", "calls", "cost $", "cached share", title="spend by feature")
    for row in ledger.report(ReportQuery(by=("feature",), since=start)):
        cost = "unpriced" if row["unpriced"] == row["requests"] else money(row["cost"], 2)
        table.add_row(str(row["feature"]), f"{row['requests']:,}", cost,
                      f"{row['cached_share'] * 100:.0f}%")
    out.print(table)
    runs = Table("session", "calls", "cost $", "input growth", title="costliest agent runs")
    for s in sessions(ledger, ReportQuery(since=start), limit=3):
        runs.add_row(s.session_id, str(s.calls), money(s.cost, 2), f"×{s.growth:.1f}")
    out.print(runs)
    # The doubling begins days // 2 days after `start`: the rule runs at 16:00 on each of the weekdays that follow
    # (a doubled Sunday still looks like a weekday), as an evaluator running all along would.
    doubling = start + timedelta(days=days // 2)
    spike_days = [moment for moment in ((doubling + timedelta(days=n)).replace(hour=16, minute=0, second=0)
                                        for n in range(1, 6)) if moment.weekday() < 5 and moment > doubling]
    daily = DailyVsRollingAverage("daily-vs-average", factor=1.5, min_daily_usd=0.1)  # type: ignore[arg-type]
    checks = [*((daily, at) for at in spike_days),
              (RunawaySession("runaway", lookback_hours=days * 24), now),
              (Unpriced("unpriced", lookback_hours=days * 24), now)]
    out.print("alerts this month would have raised (kept in the ledger, as `llmledger serve` would):")
    alerts = AlertStore(ledger.store)
    fired: set[tuple[str, str]] = set()
    for rule, at in checks:
        for finding in rule.evaluate(Context(ledger, at, {})):
            scope = (rule.name, repr(sorted(finding.scope.items())))
            if scope not in fired:  # once per rule and scope, on the first day it fires
                fired.add(scope)
                alerts.claim(alert_of(rule, finding, at))
                out.print(f"  {rule.kind}: {finding.title}", markup=False)
    out.print(f"({DOUBLING_FEATURE} doubles its spend from day {days // 2}.) In the terminal: "
              f"llmledger report --db {db} --by feature,day --since {days}d ; llmledger sessions --db {db}")


def _serve(db: str, host: str, port: int, log_level: str) -> None:
    try:
        import uvicorn

        from ..dashboard import DashboardAuth, build_dashboard
    except ImportError:
        raise typer.BadParameter('the dashboard needs its extra: pip install "llmledger[gateway]"') from None
    ledger = Ledger.open(db)
    stored = BudgetStore(ledger.store)
    dashboard = build_dashboard(ledger, DashboardAuth(admin_token=None, open_access=True), budgets=stored.list)
    stop = threading.Event()
    threading.Thread(target=_trickle, args=(ledger, stop), name="llmledger-demo-traffic", daemon=True).start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: the demo dashboard has no login and listens on {host}", err=True)
    typer.echo(f"llmledger demo dashboard on http://{host}:{port}/  (Ctrl-C to stop)", err=True)
    try:
        uvicorn.run(dashboard, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        stop.set()
        ledger.close()


def _trickle(ledger: Ledger, stop: threading.Event, every: float = 2.0) -> None:
    """A call every couple of seconds, as live traffic, for the Live page."""
    rng, prices = random.Random(), PriceBook()
    while not stop.wait(every):
        ledger.record(live_call(rng, datetime.now(UTC), prices))
