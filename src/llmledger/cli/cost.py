"""`llmledger cost FILE`: usage and cost of a saved provider response or stream transcript."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from ..config import load_config
from ..pricing import COMPONENTS
from ..providers import parse_document
from ..timeparse import parse_timestamp
from . import CONFIG_OPTION, app, console, fail, money

EXIT_UNPRICED = 3


@app.command()
def cost(
    file: Path = typer.Argument(..., help="A saved response body (JSON), SSE transcript, or decoded Bedrock stream"),
    provider: str = typer.Option(None, "--provider", "-p", help="openai, anthropic, google, aws, mistral…"),
    model: str = typer.Option(None, "--model", "-m", help="Model id, when the body does not name it"),
    at: str = typer.Option(None, "--at", help="Price as of this time (default: now)"),
    batch: bool = typer.Option(False, "--batch", help="The call went through the provider's batch API"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
    config_path: str = CONFIG_OPTION,
) -> None:
    """Print the normalized usage and the exact cost of one saved response. Exits 3 when the model is unpriced."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}") from None
    when: datetime | None = None
    if at:
        try:
            when = parse_timestamp(at)
        except ValueError:
            raise fail(f"--at {at!r} is not a date or ISO 8601 time") from None
    parsed, stream = parse_document(text, provider=provider, model=model)
    prices = load_config(config_path).price_book()
    # Without --provider the provider was only guessed from the body's shape: let the catalog match the model.
    result = prices.price(parsed.usage, provider=parsed.provider if provider else None, model=parsed.model or "",
                          at=when, service_tier=parsed.service_tier, batch=batch)
    provider_id = parsed.provider if provider or not result.priced_as else result.priced_as.split("/")[0]
    if as_json:
        typer.echo(json.dumps({
            "file": str(file),
            "stream": stream,
            "provider": provider_id,
            "model": parsed.model,
            "request_id": parsed.request_id,
            "service_tier": parsed.service_tier,
            "usage": parsed.usage.as_dict(),
            "cost": {
                "status": result.status,
                "currency": result.currency,
                "total": None if result.total is None else format(result.total, "f"),
                "components": {c: None if (v := getattr(result, c)) is None else format(v, "f") for c in COMPONENTS},
                "price_version": result.price_version,
                "priced_as": result.priced_as,
                "reason": result.reason,
            },
            "warnings": list(parsed.warnings),
        }, indent=2))
    else:
        out = console()
        out.print(f"[bold]{file}[/bold] — {provider_id} {parsed.model}" + (" (stream)" if stream else "")
                      + (f", service tier {parsed.service_tier}" if parsed.service_tier else ""))
        table = Table("component", "tokens", "cost (USD)")
        counts = {
            "input": parsed.usage.input, "cache_read": parsed.usage.cache_read,
            "cache_write": f"{parsed.usage.cache_write_5m} (5m) + {parsed.usage.cache_write_1h} (1h)",
            "output": parsed.usage.output, "reasoning": parsed.usage.reasoning, "audio_in": parsed.usage.audio_in,
            "audio_out": parsed.usage.audio_out, "web_search": parsed.usage.web_searches,
            "requests": parsed.usage.requests,
        }
        for component in COMPONENTS:
            table.add_row(component, str(counts[component]), money(getattr(result, component)))
        table.add_row("[bold]total[/bold]", "", f"[bold]{money(result.total)}[/bold]")
        out.print(table)
        out.print(f"status: {result.status}" + (f" — {result.reason}" if result.reason else ""))
        if result.price_version:
            out.print(f"price: {result.priced_as} from {result.price_version}")
        for warning in parsed.warnings:
            out.print(f"[yellow]warning:[/yellow] {warning}")
    if result.status == "unpriced":
        raise typer.Exit(EXIT_UNPRICED)
