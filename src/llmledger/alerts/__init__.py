"""Alerts: rules over the ledger, evaluated on a schedule (inside `llmledger serve`, or `llmledger alerts check`
from cron), delivered to channels, every one kept in the ledger with its evidence.

    alerts:
      channels: [{name: oncall, type: slack, url: env:SLACK_WEBHOOK_URL}, …]
      rules:    [{kind: budget, budget: acme-daily, at: [0.5, 0.8, 1.0], notify: [oncall]}, …]

An alert is claimed by its fingerprint before it is sent, so two evaluators running at once (two gateway
replicas on one database) send it once. A delivery that fails is retried with backoff, and every attempt's
outcome is stored with the alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..budgets import Budget
from ..config import Config
from ..errors import ConfigError
from ..ledger import Ledger
from .channels import Alert, Channel, DeliveryFailed, build_channel
from .rules import Context, Finding, Rule, build_rule
from .store import AlertStore

__all__ = ["AlertSettings", "Evaluator", "Alert", "alert_of"]

log = logging.getLogger("llmledger.alerts")


@dataclass(frozen=True)
class AlertSettings:
    channels: dict[str, Channel] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    interval: float = 60.0  # seconds between evaluations inside `serve`
    dashboard_url: str | None = None
    cooldowns: dict[str, float] = field(default_factory=dict)  # rule name → minutes between messages

    @classmethod
    def from_config(cls, config: Config, stored: Sequence[Mapping[str, Any]] = ()) -> AlertSettings:
        """The config's channels and rules, plus `stored` rule specs (from `llmledger alerts add`)."""
        where = str(config.path or "llmledger.yaml")
        raw = config.raw.get("alerts") or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: alerts must be a mapping with channels: and rules:")
        unknown = set(raw) - {"channels", "rules", "interval_seconds", "dashboard_url"}
        if unknown:
            raise ConfigError(f"{where}: alerts: unknown setting(s) {', '.join(sorted(unknown))}")
        channels: dict[str, Channel] = {}
        for i, spec in enumerate(raw.get("channels") or []):
            channel = build_channel(spec if isinstance(spec, Mapping) else {}, f"{where}: alerts.channels[{i}]")
            if channel.name in channels:
                raise ConfigError(f"{where}: alerts.channels: the name {channel.name!r} is used twice")
            channels[channel.name] = channel
        specs = [spec if isinstance(spec, Mapping) else {} for spec in raw.get("rules") or []]
        specs += list(stored)
        rules = tuple(build_rule(spec, i, f"{where}: alerts") for i, spec in enumerate(specs))
        cooldowns = {}
        for rule, spec in zip(rules, specs, strict=True):
            minutes = spec.get("cooldown_minutes", 0)
            if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 0:
                raise ConfigError(f"{where}: alert rule {rule.name!r}: cooldown_minutes must be 0 or more")
            cooldowns[rule.name] = float(minutes)
        for rule in rules:
            missing = [n for n in rule.notify if n not in channels]
            if missing:
                raise ConfigError(f"{where}: alert rule {rule.name!r} notifies unknown channel(s) "
                                  f"{', '.join(missing)}; channels: {', '.join(channels) or 'none'}")
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: alert rule names must be unique (give each a name:)")
        interval = raw.get("interval_seconds", 60)
        if not isinstance(interval, int | float) or interval <= 0:
            raise ConfigError(f"{where}: alerts.interval_seconds must be a positive number")
        return cls(channels, rules, float(interval), raw.get("dashboard_url"), cooldowns)


def alert_of(rule: Rule, finding: Finding, now: datetime, link: str | None = None) -> Alert:
    """The alert a rule's finding raises at `now`."""
    return Alert(rule.name, rule.kind, rule.severity, finding.title, finding.scope, finding.evidence,
                 finding.fingerprint, now.isoformat(timespec="seconds"), link=link)


class Evaluator:
    """Runs every rule, claims and sends new alerts, and resolves those whose condition cleared."""

    def __init__(
        self, ledger: Ledger, settings: AlertSettings, *, budgets: Callable[[], Sequence[Budget]] = tuple,
        retries: int = 3, backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep,
        reload: Callable[[], AlertSettings] | None = None,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.reload = reload  # re-read the rules before each run (rules added with `alerts add` while serving)
        self.budgets = budgets
        self.store = AlertStore(ledger.store)
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self._last_sent: dict[str, datetime] = {}

    def _cooling(self, rule: str, now: datetime) -> bool:
        """True while the rule's cooldown since its last message (here, or recorded by another evaluator) runs."""
        minutes = self.settings.cooldowns.get(rule, 0)
        if not minutes:
            return False
        last = self._last_sent.get(rule) or self.store.last_sent(rule)
        return last is not None and now - last < timedelta(minutes=minutes)

    def run(self, now: datetime | None = None) -> list[Alert]:
        """One evaluation; returns the alerts this evaluator sent (fired or resolved)."""
        now = now or datetime.now(UTC)
        if self.reload is not None:
            self.settings = self.reload()
        ctx = Context(self.ledger, now, {b.name: b for b in self.budgets()})
        sent: list[Alert] = []
        for rule in self.settings.rules:
            try:
                findings = rule.evaluate(ctx)
            except ConfigError:
                raise
            except Exception:  # noqa: BLE001 - one broken rule must not silence the others
                log.exception("alert rule %s failed", rule.name)
                continue
            for finding in findings:
                alert = alert_of(rule, finding, now, self.settings.dashboard_url)
                if self.store.claim(alert):
                    if self._cooling(rule.name, now):
                        self.store.add_deliveries(alert.fingerprint, [{"channel": None, "ok": False,
                                                                       "suppressed": "cooldown"}])
                        continue
                    self.deliver(alert, rule.notify)
                    self._last_sent[rule.name] = now
                    sent.append(alert)
            if rule.clears:
                current = {f.fingerprint for f in findings}
                for record in self.store.firing(rule.name):
                    if record["fingerprint"] not in current and self.store.resolve(record["fingerprint"]):
                        alert = Alert(rule.name, rule.kind, rule.severity, record["title"], record["scope"],
                                      record["evidence"], record["fingerprint"], record["fired_at"], "resolved",
                                      self.settings.dashboard_url)
                        self.deliver(alert, rule.notify)
                        sent.append(alert)
        return sent

    def deliver(self, alert: Alert, notify: Sequence[str]) -> list[dict[str, Any]]:
        """Send to each channel, retrying with backoff; every outcome is stored with the alert."""
        outcomes = []
        for name in notify:
            channel = self.settings.channels[name]
            error = None
            for attempt in range(1, self.retries + 1):
                try:
                    channel.send(alert)
                    error = None
                    break
                except DeliveryFailed as exc:
                    error = str(exc)
                    log.warning("alert %s to %s failed (attempt %d of %d): %s", alert.fingerprint, name, attempt,
                                self.retries, exc)
                    if attempt < self.retries:
                        self.sleep(self.backoff * 2 ** (attempt - 1))
            outcomes.append({"channel": name, "state": alert.state, "ok": error is None, "attempts": attempt,
                             "error": error, "at": datetime.now(UTC).isoformat(timespec="seconds")})
            if error is not None:
                log.error("alert %s could not be delivered to %s after %d attempts: %s", alert.fingerprint, name,
                          self.retries, error)
        self.store.add_deliveries(alert.fingerprint, outcomes)
        return outcomes
