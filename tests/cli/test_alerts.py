"""`llmledger alerts`: list, check (twice: nothing new), history, test a channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llmledger import Ledger

from ..alerts.receiver import Receiver
from ..alerts.test_rules import event


def test_alerts_commands(run: Any, receiver: Receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'l.db'}"
    now = datetime.now(UTC)
    with Ledger.open(db) as ledger:
        ledger.write([event(now - timedelta(minutes=5), "30", tenant="acme"),
                      event(now - timedelta(minutes=5), "0", status="unpriced")])
    config = tmp_path / "llmledger.yaml"
    config.write_text(f"""
budgets:
  - {{name: acme-daily, scope: {{tenant: acme}}, window: day, limit_usd: 50}}
alerts:
  channels:
    - {{name: hook, type: webhook, url: "{receiver.url()}"}}
    - {{name: log, type: log}}
  rules:
    - {{name: acme-budget, kind: budget, budget: acme-daily, at: [0.5, 0.8, 1.0], notify: [hook]}}
    - {{name: prices, kind: unpriced, notify: [hook, log]}}
""")
    args = ("--db", db, "--config", str(config))
    listed = run("alerts", "list", "--config", str(config)).stdout
    assert "acme-budget" in listed and "unpriced" in listed and "hook (webhook)" in listed
    out = run("alerts", "check", *args).stdout
    assert "Budget acme-daily at 60%" in out and "have no price" in out and "2 alert(s) sent" in out
    assert "nothing new" in run("alerts", "check", *args).stdout
    history = json.loads(run("alerts", "history", "--format", "json", *args).stdout)
    assert {h["rule"] for h in history} == {"acme-budget", "prices"}
    assert all(d["ok"] for h in history for d in h["deliveries"])
    assert len(receiver.requests) == 2
    assert "sent a test alert to hook" in run("alerts", "test", "hook", "--config", str(config)).stdout
    assert receiver.requests[-1]["json"]["title"].startswith("Test alert")
    refused = run("alerts", "test", "nope", "--config", str(config), code=1)
    assert "no channel 'nope'" in refused.stderr


def test_alerts_add_and_remove(run: Any, receiver: Receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'l.db'}"
    config = tmp_path / "llmledger.yaml"
    config.write_text(f"""
budgets:
  - {{name: acme-daily, scope: {{tenant: acme}}, window: day, limit_usd: 50}}
alerts:
  channels: [{{name: hook, type: webhook, url: "{receiver.url()}"}}]
""")
    args = ("--db", db, "--config", str(config))
    out = run("alerts", "add", "budget", "--name", "acme", "--notify", "hook", "--set", "budget=acme-daily",
              "--set", "at=0.5,1.0", *args).stdout
    assert "alert rule acme (budget) saved" in out
    assert "acme" in run("alerts", "list", *args).stdout
    with Ledger.open(db) as ledger:
        ledger.write([event(datetime.now(UTC) - timedelta(minutes=1), "30", tenant="acme")])
    assert "Budget acme-daily at 60%" in run("alerts", "check", *args).stdout
    bad = run("alerts", "add", "budget", "--name", "x", "--notify", "pager", "--set", "budget=acme-daily", *args,
              code=1)
    assert "unknown channel(s) pager" in bad.stderr
    assert "removed alert rule acme" in run("alerts", "remove", "acme", *args).stdout
    assert "no rule 'acme'" in run("alerts", "remove", "acme", *args, code=1).stderr
