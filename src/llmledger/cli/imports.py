"""`llmledger import FILE`: usage records from an application's own logs."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import load_config
from ..imports import read_records, to_events
from . import CONFIG_OPTION, DB_OPTION, app, money, open_ledger


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="JSONL (one JSON object per line) or CSV with a header row"),
    fmt: str = typer.Option(None, "--format", help="jsonl or csv (default: from the file extension)"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Load usage records into the ledger. Re-importing the same file adds nothing."""
    if fmt not in (None, "jsonl", "csv"):
        raise typer.BadParameter(f"{fmt!r}: use jsonl or csv", param_hint="--format")
    config = load_config(config_path)
    events, summary = to_events(read_records(file, fmt), config.price_book(), source=str(file))
    with open_ledger(db, config) as ledger:
        summary.inserted = ledger.write(events)
    typer.echo(f"{file}: {summary.records} records, {summary.inserted} new, {summary.duplicates} already in the ledger")
    if summary.unpriced:
        typer.echo(f"  {summary.unpriced} unpriced (no catalog price and no cost in the record): add prices to "
                   "llmledger.yaml, then run `llmledger recompute`")
    if summary.reported_kept:
        typer.echo(f"  {summary.reported_kept} priced with the cost given in the record (model not in the catalog)")
    if summary.mismatches:
        typer.echo(f"  {len(summary.mismatches)} record(s) carry a cost that differs from the catalog's:")
        for where, given, priced in summary.mismatches[:10]:
            typer.echo(f"    {where}: given {money(given)}, catalog {money(priced)}")
