"""`llmledger report`: what did we spend, on what."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from typing import Any

import typer
from rich.table import Table

from ..analytics.showback import render_html
from ..config import load_config
from ..ledger import ReportQuery, parse_where
from ..timeparse import parse_since
from . import CONFIG_OPTION, DB_OPTION, app, console, money, open_ledger

_COLUMNS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
            "cached_share", "input_cost", "output_cost", "cache_read_cost", "cache_write_cost", "reasoning_cost",
            "cost", "unpriced", "errors")


@app.command()
def report(
    by: str = typer.Option("", "--by", help="Group by: feature, model, provider, user, tenant, session, any tag, "
                                            "and hour/day/week/month (comma-separated)"),
    since: str = typer.Option(None, "--since", help="From: 30d, 12h, 2w, or a date"),
    until: str = typer.Option(None, "--until", help="Until (exclusive): a duration back from now, or a date"),
    where: list[str] = typer.Option([], "--where", help="Filter NAME=VALUE or NAME!=VALUE (repeatable)"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, json, or html (a showback page)"),
    title: str = typer.Option(None, "--title", help="Title of the html report (default: from --where)"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Spend from the ledger, grouped and filtered: cost, input/output split, cached share, request counts."""
    if fmt not in ("table", "csv", "json", "html"):
        raise typer.BadParameter(f"{fmt!r}: use table, csv, json or html", param_hint="--format")
    query = ReportQuery(
        by=tuple(part.strip() for part in by.split(",") if part.strip()),
        since=parse_since(since) if since else None,
        until=parse_since(until) if until else None,
        where=parse_where(where),
    )
    with open_ledger(db, load_config(config_path)) as ledger:
        rows = ledger.report(query)
    dims = [name for name in rows[0] if name not in _COLUMNS] if rows else list(query.by)
    if fmt == "html":
        scope = ", ".join(f"{f.dimension}{'!=' if f.negate else '='}{f.value}" for f in query.where)
        period = f"{since or 'all time'} – {until or 'now'}"
        typer.echo(render_html(rows, dims, title=title or f"LLM usage: {scope or 'all usage'}", period=period))
    elif fmt == "json":
        typer.echo(json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow([*dims, *_COLUMNS])
        for row in rows:
            writer.writerow([*(row[d] for d in dims), *(_plain(row[c]) for c in _COLUMNS)])
    else:
        _table(rows, dims)


def _plain(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


def _table(rows: list[dict[str, Any]], dims: list[str]) -> None:
    out = console()
    if not rows:
        out.print("no usage recorded for this selection")
        return
    table = Table(*dims, "requests", "input tok", "output tok", "cached", "input $", "output $", "cost $",
                  "unpriced", show_footer=len(rows) > 1)
    for row in rows:
        table.add_row(
            *(str(row[d]) if row[d] is not None else "—" for d in dims),
            f"{row['requests']:,}", f"{row['input_tokens']:,}", f"{row['output_tokens']:,}",
            f"{row['cached_share'] * 100:.1f}%", money(row["input_cost"], 6), money(row["output_cost"], 6),
            money(row["cost"], 6), str(row["unpriced"]) if row["unpriced"] else "",
        )
    if len(rows) > 1:
        total = sum((r["cost"] for r in rows), Decimal(0))
        requests = sum(r["requests"] for r in rows)
        for i, column in enumerate(table.columns):
            column.footer = ""
            if i == 0:
                column.footer = "total"
        table.columns[len(dims)].footer = f"{requests:,}"
        table.columns[len(dims) + 6].footer = money(total, 6)
    out.print(table)
    unpriced = sum(r["unpriced"] for r in rows)
    if unpriced:
        out.print(f"[yellow]{unpriced} call(s) have no price[/yellow] and are not in the cost: add prices to "
                      "llmledger.yaml, then run `llmledger recompute`")
