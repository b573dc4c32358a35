"""The `llmledger` command line. One module per command group; errors become messages only here."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from ..config import Config, load_config
from ..errors import LedgerError
from ..ledger import DEFAULT_DB, Ledger


class _Commands(TyperGroup):
    """Turns llmledger's errors into one clear line on stderr and exit status 1, for every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Commands,
    name="llmledger",
    help="Exact cost of every LLM token: capture, price, attribute, store and report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DB_OPTION = typer.Option(None, "--db", envvar="LLMLEDGER_DB", help="Ledger URL: sqlite:///FILE or postgresql://…")
CONFIG_OPTION = typer.Option(None, "--config", envvar="LLMLEDGER_CONFIG", help="Config file (default ./llmledger.yaml)")


def open_ledger(db: str | None, config: Config) -> Ledger:
    return Ledger.open(db or config.database or DEFAULT_DB, spool_dir=config.spool_dir)


def console() -> Console:
    """Rich output; when piped, wide enough that tables are never cut."""
    return Console() if sys.stdout.isatty() else Console(width=240)


def money(value: Decimal | None, places: int | None = None) -> str:
    """A cost for people: exact by default; rounded to `places` in tables."""
    if value is None:
        return "—"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value.normalize() if places is None else value, "f")
    return f"${text}"


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


from . import alerts, budgets, cost, demo, forecast, imports, keys, prices, report, serve, sessions  # noqa: E402,F401  (registers the commands)

__all__ = ["app", "main", "load_config"]


def main() -> None:
    app()
