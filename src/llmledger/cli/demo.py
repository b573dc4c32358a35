"""`llmledger demo`: a realistic synthetic month in a fresh ledger, and what it shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from ..alerts.rules import Context, DailyVsRollingAverage, RunawaySession, Unpriced
from ..analytics.sessions import sessions
from ..demo import DOUBLING_FEATURE, demo_events
from ..ledger import Ledger, ReportQuery
from . import app, console, fail, money


@app.command()
def demo(
    db: str = typer.Option("sqlite:///llmledger-demo.db", "--db", help="Ledger to fill (must be empty)"),
    days: int = typer.Option(30, "--days", min=8, max=92, help="Days of history, ending today"),
    seed: int = typer.Option(7, "--seed", help="Random seed (the same seed gives the same month)"),
) -> None:
    """Fill a fresh ledger with a realistic synthetic month (no API keys needed), then show what it holds:
    spend by feature, the costliest agent runs, and the alerts the month would have raised."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    with Ledger.open(db) as ledger:
        if ledger.count():
            raise fail(f"{db} already holds {ledger.count()} events; the demo only fills an empty ledger "
                       "(pass another --db, e.g. sqlite:///llmledger-demo-2.db)")
        events = list(demo_events(start, days=days, seed=seed))
        ledger.write(events)
        out = console()
        out.print(f"wrote {len(events):,} calls over {days} days ({start:%Y-%m-%d} to today) into {db}")
        table = Table("feature", "calls", "cost $", "cached share", title="spend by feature")
        for row in ledger.report(ReportQuery(by=("feature",), since=start)):
            table.add_row(str(row["feature"]), f"{row['requests']:,}", money(row["cost"], 2),
                          f"{row['cached_share'] * 100:.0f}%")
        out.print(table)
        runs = Table("session", "calls", "cost $", "input growth", title="costliest agent runs")
        for s in sessions(ledger, ReportQuery(since=start), limit=3):
            runs.add_row(s.session_id, str(s.calls), money(s.cost, 2), f"×{s.growth:.1f}")
        out.print(runs)
        spike_day = start + timedelta(days=days // 2, hours=16)
        while spike_day.weekday() >= 5:  # judged on a weekday: a doubled Sunday still looks like a weekday
            spike_day += timedelta(days=1)
        checks = [(DailyVsRollingAverage("daily-vs-average", min_daily_usd=0.1), spike_day),  # type: ignore[arg-type]
                  (RunawaySession("runaway", lookback_hours=days * 24), datetime.now(UTC)),
                  (Unpriced("unpriced", lookback_hours=days * 24), datetime.now(UTC))]
        out.print("alerts this month would have raised:")
        for rule, at in checks:
            for finding in rule.evaluate(Context(ledger, at, {})):
                out.print(f"  {rule.kind}: {finding.title}", markup=False)
    out.print(f"\nexplore it: llmledger report --db {db} --by feature,day --since {days}d ; "
              f"llmledger sessions --db {db} ; llmledger forecast --db {db} --by tenant")
    out.print(f"({DOUBLING_FEATURE} doubles its spend from day {days // 2}; the web dashboard is not built yet)")
