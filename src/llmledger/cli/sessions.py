"""`llmledger sessions`: agent runs — their cost, calls, and how their input context grew call after call."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ..analytics.sessions import SessionSummary, session_calls, sessions, summarize
from ..config import load_config
from ..events import UsageEvent
from ..ledger import ReportQuery, parse_where
from ..timeparse import parse_since
from . import CONFIG_OPTION, DB_OPTION, app, console, fail, money, open_ledger

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[int, ...], width: int = 24) -> str:
    """Input tokens per call as bars (sampled down to `width` calls)."""
    if not values:
        return ""
    if len(values) > width:
        values = tuple(values[round(i * (len(values) - 1) / (width - 1))] for i in range(width))
    top = max(values) or 1
    return "".join(_BARS[min(len(_BARS) - 1, v * len(_BARS) // (top + 1))] for v in values)


@app.command("sessions")
def sessions_command(
    session_id: str = typer.Argument(None, help="Show this session's calls in order"),
    since: str = typer.Option(None, "--since", help="From: 30d, 12h, 2w, or a date"),
    where: list[str] = typer.Option([], "--where", help="Filter NAME=VALUE or NAME!=VALUE (repeatable)"),
    limit: int = typer.Option(20, "--limit", min=1, help="How many sessions (most expensive first)"),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    db: str = DB_OPTION,
    config_path: str = CONFIG_OPTION,
) -> None:
    """Agent runs (llmledger.session()): cost, calls, and input tokens call by call (growth = last ÷ first)."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter(f"{fmt!r}: use table or json", param_hint="--format")
    query = ReportQuery(since=parse_since(since) if since else None, where=parse_where(where))
    with open_ledger(db, load_config(config_path)) as ledger:
        if session_id is not None:
            calls = session_calls(ledger, session_id, query)
            if not calls:
                raise fail(f"no calls recorded for session {session_id!r}; `llmledger sessions` lists them")
            _show(summarize(session_id, calls), calls, fmt)
            return
        found = sessions(ledger, query, limit=limit)
    if fmt == "json":
        typer.echo(json.dumps([_plain(s) for s in found], indent=2))
        return
    out = console()
    if not found:
        out.print("no sessions recorded for this selection: wrap agent runs in `with llmledger.session(...)`")
        return
    table = Table("session", "calls", "cost $", "input tokens per call", "first → last input", "growth", "tags")
    for s in found:
        table.add_row(
            s.session_id, str(s.calls), money(s.cost, 6), sparkline(s.input_per_call),
            f"{s.input_per_call[0]:,} → {s.input_per_call[-1]:,}", f"×{s.growth:.1f}",
            ", ".join(f"{k}={v}" for k, v in sorted(s.tags.items())),
        )
    out.print(table)


def _show(summary: SessionSummary, calls: list[UsageEvent], fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps({**_plain(summary), "calls": [e.to_dict() for e in calls]}, indent=2))
        return
    out = console()
    parent = f" (inside {summary.parent_id})" if summary.parent_id else ""
    out.print(f"session {summary.session_id}{parent}: {summary.calls} calls, {money(summary.cost)}, "
              f"input ×{summary.growth:.1f} from first to last call")
    table = Table("#", "time (UTC)", "model", "input tok", "cached", "output tok", "cost $", "status")
    for i, e in enumerate(calls, 1):
        table.add_row(str(i), e.ts.strftime("%Y-%m-%d %H:%M:%S"), e.model, f"{e.usage.total_input:,}",
                      f"{e.usage.cache_read:,}", f"{e.usage.total_output:,}", money(e.cost.total, 6),
                      e.status + (" (estimated)" if e.estimated else ""))
    out.print(table)


def _plain(s: SessionSummary) -> dict[str, object]:
    return {
        "session_id": s.session_id, "parent_id": s.parent_id, "calls": s.calls, "cost": format(s.cost, "f"),
        "unpriced": s.unpriced, "estimated": s.estimated, "first": s.first.isoformat(), "last": s.last.isoformat(),
        "input_per_call": list(s.input_per_call), "growth": round(s.growth, 3), "tags": s.tags,
    }
