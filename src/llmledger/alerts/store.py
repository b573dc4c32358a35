"""Alerts fired, kept in the ledger database (table `alerts`): claimed once by fingerprint, with their deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..ledger.store import SQLStore
from .channels import Alert

__all__ = ["AlertStore", "RuleStore"]

_COLUMNS = "fingerprint, rule, kind, severity, title, scope, evidence, state, fired_at, resolved_at, deliveries"


class AlertStore:
    def __init__(self, store: SQLStore) -> None:
        self.store = store

    def claim(self, alert: Alert) -> bool:
        """Record a new alert; False when it is known already (this or another evaluator fired it)."""
        return self.store.execute(
            f"INSERT INTO alerts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (fingerprint) DO NOTHING",
            (alert.fingerprint, alert.rule, alert.kind, alert.severity, alert.title, json.dumps(alert.scope),
             json.dumps(alert.evidence, default=str), "firing", alert.fired_at, None, "[]"),
        ) == 1

    def resolve(self, fingerprint: str) -> bool:
        """Mark a firing alert resolved; False when it was not firing (or another evaluator resolved it)."""
        return self.store.execute("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE fingerprint = ? "
                                  "AND state = 'firing'",
                                  (datetime.now(UTC).isoformat(timespec="seconds"), fingerprint)) == 1

    def add_deliveries(self, fingerprint: str, deliveries: list[dict[str, Any]]) -> None:
        rows = self.store.fetch("SELECT deliveries FROM alerts WHERE fingerprint = ?", (fingerprint,))
        known = json.loads(rows[0][0]) if rows else []
        self.store.execute("UPDATE alerts SET deliveries = ? WHERE fingerprint = ?",
                           (json.dumps(known + deliveries), fingerprint))

    def last_sent(self, rule: str) -> datetime | None:
        """When the rule's newest delivered (not suppressed) alert fired."""
        for record in self.history(rule=rule, limit=20):
            if any(d.get("channel") for d in record["deliveries"]):
                return datetime.fromisoformat(record["fired_at"])
        return None

    def firing(self, rule: str) -> list[dict[str, Any]]:
        return self.history(rule=rule, state="firing", limit=10_000)

    def history(self, *, rule: str | None = None, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        where, params = [], []
        if rule is not None:
            where.append("rule = ?")
            params.append(rule)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.store.fetch(f"SELECT {_COLUMNS} FROM alerts{clause} ORDER BY fired_at DESC, fingerprint "
                                f"LIMIT {int(limit)}", params)
        out = []
        for row in rows:
            record = dict(zip(_COLUMNS.split(", "), row, strict=True))
            for key in ("scope", "evidence", "deliveries"):
                record[key] = json.loads(record[key])
            out.append(record)
        return out


class RuleStore:
    """Rules added with `llmledger alerts add` (table `alert_rules`): name → spec, as in llmledger.yaml."""

    def __init__(self, store: SQLStore) -> None:
        self.store = store

    def add(self, spec: dict[str, Any]) -> None:
        values = (json.dumps(spec, sort_keys=True), datetime.now(UTC).isoformat(timespec="seconds"), spec["name"])
        if not self.store.execute("UPDATE alert_rules SET spec = ?, updated_at = ? WHERE name = ?", values):
            self.store.execute("INSERT INTO alert_rules (spec, updated_at, name) VALUES (?, ?, ?)", values)

    def remove(self, name: str) -> bool:
        return self.store.execute("DELETE FROM alert_rules WHERE name = ?", (name,)) > 0

    def list(self) -> list[dict[str, Any]]:
        return [json.loads(spec) for (spec,) in self.store.fetch("SELECT spec FROM alert_rules ORDER BY name")]
