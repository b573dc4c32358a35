"""`llmledger forecast`: projected month-end spend per scope, with a 90 % range and any monthly budget."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import typer
from rich.table import Table

from ..analytics.forecast import forecast_month, month_bounds
from ..config import load_config
from ..errors import ConfigError
from ..ledger import ReportQuery, parse_where
from . import CONFIG_OPTION, DB_OPTION, app, console, money, open_ledger


@app.command()
def forecast(
    by: str = typer.Option(None, "--by", help="One dimension to forecast each value of (tenant, feature, model…)"),
    month: str = typer.Option(None, "--month", help="YYYY-MM (default: this month)"),
    where: list[str] = typer.Option([], "--where", help="Filter NAME=VALUE (repeatable)"),
    history_days: int = typer.Option(28, "--history-days", min=1, help="Days of history the trend is fitted on"),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Projected spend for the month: trend plus weekday shape, with a 90 % range (UTC days)."""
    now = datetime.now(UTC)
    try:
        start, end = month_bounds(month, now)
    except ValueError:
        raise ConfigError(f"--month {month!r}: write YYYY-MM, e.g. 2026-12") from None
    today = min(max(now.date(), start.date()), end.date())
    query = ReportQuery(by=("day", by) if by else ("day",), since=start - timedelta(days=history_days),
                        until=min(now, end), where=parse_where(where))
    series: dict[str | None, dict[date, Decimal]] = defaultdict(dict)
    with open_ledger(db, load_config(config_path)) as ledger:
        for row in ledger.report(query):
            series[row[by] if by else None][date.fromisoformat(row["day"])] = row["cost"]
    results = sorted(((scope, forecast_month(daily, start=start, end=end, today=today))
                      for scope, daily in series.items()), key=lambda item: -item[1].projected)
    if fmt == "json":
        typer.echo(json.dumps([{by or "scope": scope or "all", "month": f.month, "to_date": str(f.to_date),
                                "projected": str(f.projected), "low": str(f.low), "high": str(f.high),
                                "days_of_history": f.days_known} for scope, f in results], indent=2))
        return
    if not results:
        console().print("no usage recorded to forecast from")
        return
    table = Table(by or "scope", "month to date $", "projected $", "90% range $", "days of history",
                  title=f"{start:%Y-%m} (UTC)")
    for scope, f in results:
        table.add_row(str(scope) if by else "all", money(f.to_date, 2), money(f.projected, 2),
                      f"{money(f.low, 2)} – {money(f.high, 2)}", str(f.days_known))
    console().print(table)
