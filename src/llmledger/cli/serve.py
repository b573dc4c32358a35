"""`llmledger serve`: the gateway (and, later, the dashboard) on one port."""

from __future__ import annotations

import typer

from ..config import load_config
from . import CONFIG_OPTION, DB_OPTION, app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(4000, "--port", help="Port to listen on"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error"),
) -> None:
    """Run the gateway: point OpenAI clients at http://HOST:PORT/v1 and Anthropic clients at
    http://HOST:PORT/anthropic. Every call is metered, attributed and checked against budgets and rate limits."""
    try:
        import uvicorn
    except ImportError:
        raise typer.BadParameter('the gateway needs its extra: pip install "llmledger[gateway]"') from None
    from ..gateway import build_gateway

    gateway = build_gateway(load_config(config_path), database=db)
    typer.echo(f"llmledger gateway on http://{host}:{port}  (OpenAI: /v1, Anthropic: /anthropic)", err=True)
    uvicorn.run(gateway, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=30,
                lifespan="on")
    gateway.ledger.close()
