"""`llmledger alerts`: evaluate the rules now (for cron), list them, show what fired, test a channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.table import Table

from ..alerts import Alert, AlertSettings, Evaluator
from ..alerts.store import AlertStore, RuleStore
from ..budgets import Budget
from ..budgets.stored import BudgetStore
from ..config import Config, load_config
from ..ledger import Ledger
from . import CONFIG_OPTION, DB_OPTION, app, console, fail, open_ledger

alerts_app = typer.Typer(help="Alert rules and channels: check, list, history, test.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


def evaluator(ledger: Ledger, config: Config) -> Evaluator:
    from ..gateway.settings import GatewaySettings

    configured = [b for b in GatewaySettings.from_config(config).limits if isinstance(b, Budget)]
    stored = BudgetStore(ledger.store)
    settings = AlertSettings.from_config(config, RuleStore(ledger.store).list())
    return Evaluator(ledger, settings, budgets=lambda: [*configured, *stored.list()])


@alerts_app.command("add")
def add(
    kind: str = typer.Argument(..., help="budget, daily_vs_rolling_avg, anomaly, burn_rate, forecast, "
                                         "runaway_session or unpriced"),
    name: str = typer.Option(..., "--name", help="The rule's name (adding it again replaces it)"),
    notify: list[str] = typer.Option([], "--notify", help="A channel name from alerts.channels (repeatable)"),
    severity: str = typer.Option(None, "--severity", help="page or ticket"),
    setting: list[str] = typer.Option([], "--set", help="A rule setting NAME=VALUE, e.g. budget=acme-daily, "
                                                        "at=0.5,0.8,1.0, by=feature, factor=2 (repeatable)"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Add an alert rule (kept in the ledger database; rules in llmledger.yaml are edited there)."""
    spec: dict[str, object] = {"kind": kind, "name": name, "notify": list(notify)}
    if severity:
        spec["severity"] = severity
    for item in setting:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: write NAME=VALUE", param_hint="--set")
        spec[key.strip()] = [v.strip() for v in value.split(",")] if key.strip() in ("at", "windows") else value
    config = load_config(config_path)
    AlertSettings.from_config(config, [spec])  # check it (and its channels) before storing it
    with open_ledger(db, config) as ledger:
        RuleStore(ledger.store).add(spec)
    typer.echo(f"alert rule {name} ({kind}) saved; gateways pick it up at their next evaluation")


@alerts_app.command("remove")
def remove(name: str = typer.Argument(...), db: str = DB_OPTION, config_path: str = CONFIG_OPTION) -> None:
    """Remove a rule added with `alerts add`."""
    with open_ledger(db, load_config(config_path)) as ledger:
        if not RuleStore(ledger.store).remove(name):
            raise fail(f"no rule {name!r} was added with `llmledger alerts add`")
    typer.echo(f"removed alert rule {name}")


@alerts_app.command("check")
def check(db: str = DB_OPTION, config_path: str = CONFIG_OPTION) -> None:
    """Evaluate every rule once and send what is new (run it from cron if no gateway runs the evaluator)."""
    config = load_config(config_path)
    with open_ledger(db, config) as ledger:
        sent = evaluator(ledger, config).run()
    for alert in sent:
        typer.echo(f"{alert.state}: [{alert.severity}] {alert.title}  ({alert.rule})")
    typer.echo(f"{len(sent)} alert(s) sent" if sent else "nothing new")


@alerts_app.command("list")
def list_rules(db: str = DB_OPTION, config_path: str = CONFIG_OPTION) -> None:
    """The rules (from llmledger.yaml and `alerts add`) and channels."""
    config = load_config(config_path)
    with open_ledger(db, config) as ledger:
        settings = AlertSettings.from_config(config, RuleStore(ledger.store).list())
    if not settings.rules:
        console().print("no alert rules: add alerts.rules to llmledger.yaml (see README)")
        return
    table = Table("rule", "kind", "severity", "notify")
    for rule in settings.rules:
        table.add_row(rule.name, rule.kind, rule.severity, ", ".join(rule.notify))
    console().print(table)
    console().print("channels: " + (", ".join(f"{n} ({type(c).__name__.removesuffix('Channel').lower()})"
                                              for n, c in settings.channels.items()) or "none"))


@alerts_app.command("history")
def history(
    limit: int = typer.Option(50, "--limit", min=1),
    rule: str = typer.Option(None, "--rule"),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Alerts fired, newest first, with their evidence and deliveries."""
    with open_ledger(db, load_config(config_path)) as ledger:
        records = AlertStore(ledger.store).history(rule=rule, limit=limit)
    if fmt == "json":
        typer.echo(json.dumps(records, indent=2, default=str))
        return
    if not records:
        console().print("no alerts fired yet")
        return
    table = Table("fired (UTC)", "state", "severity", "rule", "title", "delivered")
    for r in records:
        delivered = ", ".join(f"suppressed ({d['suppressed']})" if d.get("suppressed") else
                              f"{d['channel']}{'' if d['ok'] else ' FAILED'}" for d in r["deliveries"]) or "—"
        table.add_row(r["fired_at"][:19], r["state"], r["severity"], r["rule"], r["title"], delivered)
    console().print(table)


@alerts_app.command("test")
def test_channel(
    channel: str = typer.Argument(..., help="A channel name from alerts.channels"),
    config_path: str = CONFIG_OPTION,
) -> None:
    """Send a sample alert to a channel, to check it is wired up."""
    settings = AlertSettings.from_config(load_config(config_path))
    if channel not in settings.channels:
        raise fail(f"no channel {channel!r}; channels: {', '.join(settings.channels) or 'none'}")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    sample = Alert("test", "test", "ticket", "Test alert from llmledger: this channel works", {"tenant": "example"},
                   {"spent_usd": "12.50", "limit_usd": "25.00"}, f"test:{now}", now, link=settings.dashboard_url)
    settings.channels[channel].send(sample)
    typer.echo(f"sent a test alert to {channel}")
