"""The `llmledger` command line. One module per command group; errors become messages only here."""

from __future__ import annotations

import sys
from decimal import Decimal

import typer

from ..config import Config, load_config
from ..errors import ImportFailed, LedgerError
from ..ledger import DEFAULT_DB, Ledger

app = typer.Typer(
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


from . import cost, imports, prices, report  # noqa: E402,F401  (registers the commands)

__all__ = ["app", "main", "load_config"]


def main() -> None:
    try:
        app()
    except ImportFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except LedgerError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
