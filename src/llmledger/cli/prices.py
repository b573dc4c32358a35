"""`llmledger prices show|list|refresh` and `llmledger recompute`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..config import load_config
from ..errors import ConfigError, UnknownModel
from ..ledger import ReportQuery, parse_where
from ..pricing import describe_price, validate_catalog
from ..providers import canonical_provider
from ..timeparse import parse_since, parse_timestamp
from . import CONFIG_OPTION, DB_OPTION, app, console, fail, open_ledger

prices_app = typer.Typer(help="What the price catalog and the local overrides say.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")

CATALOG_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"


@prices_app.command("show")
def show(
    model: str = typer.Argument(..., help="Model id, e.g. gpt-4o-mini"),
    provider: str = typer.Option(None, "--provider", "-p"),
    at: str = typer.Option(None, "--at", help="Prices in force at this date (default: now)"),
    service_tier: str = typer.Option(None, "--service-tier", help="e.g. flex, priority"),
    batch: bool = typer.Option(False, "--batch"),
    as_json: bool = typer.Option(False, "--json"),
    config_path: str = CONFIG_OPTION,
) -> None:
    """The prices that apply to MODEL (USD per million tokens, or per thousand searches/requests)."""
    book = load_config(config_path).price_book()
    when = parse_timestamp(at) if at else None
    try:
        found, version, priced_as = book.find(canonical_provider(provider) if provider else None, model, at=when,
                                              service_tier=service_tier, batch=batch)
    except UnknownModel as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"model": model, "priced_as": priced_as, "price_version": version,
                               "prices": {k: describe_price(v) for k, v in found.items()}}, indent=2))
        return
    out = console()
    out.print(f"[bold]{model}[/bold] priced as {priced_as} ({version})")
    table = Table("price", "USD")
    for key, value in found.items():
        table.add_row(key, describe_price(value))
    out.print(table)


@prices_app.command("list")
def list_(
    provider: str = typer.Option(None, "--provider", "-p"),
    config_path: str = CONFIG_OPTION,
) -> None:
    """Every model the catalog prices (of one provider), then the local overrides."""
    book = load_config(config_path).price_book()
    wanted = canonical_provider(provider) if provider else None
    table = Table("provider", "model", "input/MTok", "cached/MTok", "output/MTok", "source")
    for p, m, found in book.catalog_models(wanted):
        keys = ("input_mtok", "cache_read_mtok", "output_mtok")
        shown = (describe_price(found[k]) if k in found else "" for k in keys)
        table.add_row(p, m, *shown, "catalog")
    for o in book.overrides:
        if wanted in (None, o.provider):
            table.add_row(o.provider, o.model,
                          *(str(o.prices.get(k, "")) for k in ("input_mtok", "cache_read_mtok", "output_mtok")),
                          f"override from {o.start or 'always'}" + (f" until {o.end}" if o.end else ""))
    if not table.rows:
        raise fail(f"no models for provider {provider!r}")
    console().print(table)


@prices_app.command("refresh")
def refresh(
    url: str = typer.Option(CATALOG_URL, "--url", help="Where to fetch the genai-prices catalog (JSON)"),
    from_file: Path = typer.Option(None, "--from-file", help="Use a catalog file already downloaded"),
    output: Path = typer.Option(None, "--output", "-o", help="Where to save it (default: price_catalog, "
                                                             "else ./llmledger-prices.json)"),
    config_path: str = CONFIG_OPTION,
) -> None:
    """Fetch a newer price catalog (the only network access llmledger makes on its own, and only when asked)."""
    config = load_config(config_path)
    if from_file:
        payload = from_file.read_bytes()
    else:
        import httpx2

        try:
            response = httpx2.get(url, timeout=30, follow_redirects=True)
            response.raise_for_status()
        except httpx2.HTTPError as exc:
            raise fail(f"cannot fetch the catalog from {url}: {exc}") from None
        payload = response.content
    try:
        raw = json.loads(payload)
        if not isinstance(raw, list):
            raise ValueError("expected a JSON list of providers")
        models = validate_catalog(raw)
    except ValueError as exc:
        raise fail(f"not a genai-prices catalog: {exc}") from None
    target = output or Path(config.price_catalog or "llmledger-prices.json")
    target.write_bytes(payload)
    typer.echo(f"saved {models} models to {target}")
    if config.price_catalog is None or Path(config.price_catalog) != target:
        typer.echo(f"to use it, set `price_catalog: {target}` in llmledger.yaml, then run `llmledger recompute`")


@app.command()
def recompute(
    since: str = typer.Option(..., "--since", help="Re-price events from: 30d, or a date"),
    until: str = typer.Option(None, "--until"),
    where: list[str] = typer.Option([], "--where", help="Only events matching NAME=VALUE"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Re-price stored events with today's catalog and overrides (after prices change or an unpriced model gets
    a price)."""
    config = load_config(config_path)
    try:
        query = ReportQuery(since=parse_since(since), until=parse_since(until) if until else None,
                            where=parse_where(where))
    except ConfigError as exc:
        raise fail(str(exc)) from None
    with open_ledger(db, config) as ledger:
        checked, changed = ledger.recompute(config.price_book(), query)
    typer.echo(f"re-priced {checked} events; {changed} changed")
