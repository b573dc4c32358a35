"""`llmledger budgets`: spending limits the gateway enforces (and alerts watch), with what is spent so far."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.table import Table

from ..budgets import Budget
from ..budgets.stored import BudgetStore, parse_scope
from ..config import load_config
from . import CONFIG_OPTION, DB_OPTION, app, console, fail, money, open_ledger

budgets_app = typer.Typer(help="Budgets the gateway enforces: set, list, delete.", no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")


@budgets_app.command("set")
def set_budget(
    name: str = typer.Argument(..., help="The budget's name (setting it again replaces it)"),
    limit: str = typer.Option(..., "--limit", help="US dollars per window, e.g. 50"),
    window: str = typer.Option("day", "--window", help="hour, day, week or month (UTC, calendar-aligned)"),
    scope: list[str] = typer.Option([], "--scope", help="Which calls: NAME=VALUE (tenant=acme, feature=search, "
                                                        "model=…, key=…); repeatable; none = all calls"),
    soft: bool = typer.Option(False, "--soft", help="Only alert; never refuse calls"),
    tolerance: str = typer.Option("0", "--tolerance", help="Dollars a hard budget may be passed by"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Create or replace a budget; running gateways pick it up within seconds."""
    budget = Budget(limit, window, parse_scope(scope), name=name, mode="soft" if soft else "hard",
                    tolerance_usd=tolerance)
    with open_ledger(db, load_config(config_path)) as ledger:
        BudgetStore(ledger.store).set(budget)
    typer.echo(f"budget {name}: {money(budget.limit_usd)} per {window} ({budget.mode}) for "
               f"{', '.join(f'{k}={v}' for k, v in budget.scope.items()) or 'all calls'}")


@budgets_app.command("delete")
def delete_budget(name: str = typer.Argument(...), db: str = DB_OPTION, config_path: str = CONFIG_OPTION) -> None:
    """Remove a budget set with `budgets set` (those in llmledger.yaml are edited there)."""
    with open_ledger(db, load_config(config_path)) as ledger:
        if not BudgetStore(ledger.store).delete(name):
            raise fail(f"no budget {name!r} was set with `llmledger budgets set`; `llmledger budgets list` shows them")
    typer.echo(f"deleted budget {name}")


@budgets_app.command("list")
def list_budgets(
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Every budget (config and CLI) with its spend in the current window."""
    from ..gateway.settings import GatewaySettings

    config = load_config(config_path)
    configured = [b for b in GatewaySettings.from_config(config).limits if isinstance(b, Budget)]
    now = datetime.now(UTC)
    rows = []
    with open_ledger(db, config) as ledger:
        for source, budget in [*(("config", b) for b in configured),
                               *(("cli", b) for b in BudgetStore(ledger.store).list())]:
            start, end = budget.window_at(now)
            spent = ledger.spend(start, scope=budget.scope)
            rows.append({"name": budget.name, "source": source, "scope": dict(budget.scope), "window": budget.window,
                         "mode": budget.mode, "limit_usd": budget.limit_usd, "spent_usd": spent,
                         "used": float(spent / budget.limit_usd) if budget.limit_usd else None,
                         "window_end": end.isoformat()})
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console().print("no budgets: add them to llmledger.yaml (budgets:) or `llmledger budgets set NAME --limit …`")
        return
    table = Table("name", "from", "scope", "window", "mode", "limit $", "spent $", "used", "window ends (UTC)")
    for r in rows:
        table.add_row(r["name"], r["source"], ", ".join(f"{k}={v}" for k, v in r["scope"].items()) or "all",
                      r["window"], r["mode"], money(r["limit_usd"]), money(r["spent_usd"], 4),
                      f"{r['used'] * 100:.0f}%" if r["used"] is not None else "", r["window_end"][:16])
    console().print(table)
