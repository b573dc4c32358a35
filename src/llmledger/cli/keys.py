"""`llmledger keys`: virtual keys for the gateway (the secret is shown once; only its hash is stored)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ..config import load_config
from ..gateway.keys import KeyStore
from . import CONFIG_OPTION, DB_OPTION, app, console, fail, open_ledger

keys_app = typer.Typer(help="Virtual keys for the gateway: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    name: str = typer.Option(None, "--name", help="A label for people"),
    tenant: str = typer.Option(None, "--tenant"),
    team: str = typer.Option(None, "--team"),
    user: str = typer.Option(None, "--user"),
    tag: list[str] = typer.Option([], "--tag", help="Another tag on every call, NAME=VALUE (repeatable)"),
    budget: str = typer.Option(None, "--budget", help="Hard budget for this key: DOLLARS/WINDOW, e.g. 50/day"),
    rpm: int = typer.Option(None, "--rpm", help="Requests per minute"),
    tpm: int = typer.Option(None, "--tpm", help="Tokens per minute"),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Issue a key. Its secret is printed once: store it now, it cannot be shown again."""
    tags = {k: v for k, v in (("tenant", tenant), ("team", team), ("user", user)) if v}
    for item in tag:
        name_, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: write NAME=VALUE", param_hint="--tag")
        tags[name_.strip()] = value.strip()
    with open_ledger(db, load_config(config_path)) as ledger:
        key, secret = KeyStore(ledger.store).create(name=name, tags=tags, budget=budget, rpm=rpm, tpm=tpm)
    if fmt == "json":
        typer.echo(json.dumps({**key.public(), "secret": secret}))
        return
    typer.echo(f"created {key.id} ({', '.join(f'{k}={v}' for k, v in key.tags.items()) or 'no tags'})")
    typer.echo(f"secret (shown once): {secret}")


@keys_app.command("list")
def list_keys(
    all_: bool = typer.Option(False, "--all", help="Include revoked keys"),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Keys, without their secrets."""
    with open_ledger(db, load_config(config_path)) as ledger:
        keys = KeyStore(ledger.store).list(include_revoked=all_)
    if fmt == "json":
        typer.echo(json.dumps([k.public() for k in keys], indent=2))
        return
    table = Table("id", "prefix", "name", "tags", "budget", "rpm", "tpm", "created", "revoked")
    for k in keys:
        p = k.public()
        table.add_row(k.id, k.prefix + "…", k.name or "", ", ".join(f"{a}={b}" for a, b in k.tags.items()),
                      p["budget"] or "", str(k.rpm or ""), str(k.tpm or ""), k.created_at, k.revoked_at or "")
    console().print(table)


@keys_app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key's id (from `llmledger keys list`)"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Revoke a key: gateways refuse it within seconds."""
    with open_ledger(db, load_config(config_path)) as ledger:
        if not KeyStore(ledger.store).revoke(key_id):
            raise fail(f"no live key {key_id!r}; `llmledger keys list` shows them")
    typer.echo(f"revoked {key_id}")
