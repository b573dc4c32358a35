"""Where alerts go: Slack incoming webhooks, signed JSON webhooks, email (SMTP), and the log.

Every channel sends one `Alert` at a time and raises `DeliveryFailed` when it could not; the evaluator retries
with backoff and records the outcome. Webhook bodies are signed with HMAC-SHA256 over ``"<timestamp>.<body>"``
(header ``X-Ledger-Signature: t=<timestamp>,v1=<hex>``), so a receiver can check both origin and freshness.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import logging
import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx2

from ..errors import ConfigError, LedgerError

__all__ = ["Alert", "Channel", "DeliveryFailed", "build_channel", "sign"]

log = logging.getLogger("llmledger.alerts")


class DeliveryFailed(LedgerError):
    """A channel could not deliver an alert (the receiver refused it or could not be reached)."""


@dataclass(frozen=True)
class Alert:
    """One alert as channels send it (`evidence` holds the figures that tripped it)."""

    rule: str
    kind: str
    severity: str  # page | ticket
    title: str
    scope: dict[str, str]
    evidence: dict[str, Any]
    fingerprint: str
    fired_at: str
    state: str = "firing"  # firing | resolved
    link: str | None = None

    def payload(self) -> dict[str, Any]:
        """The documented webhook body (schema ``llmledger.alert/v1``)."""
        return {"schema": "llmledger.alert/v1", "rule": self.rule, "kind": self.kind, "severity": self.severity,
                "state": self.state, "title": self.title, "scope": self.scope, "evidence": self.evidence,
                "fingerprint": self.fingerprint, "fired_at": self.fired_at, "link": self.link}


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    try:
        response = httpx2.post(url, content=body, headers={"content-type": "application/json", **headers},
                               timeout=timeout)
    except httpx2.HTTPError as exc:
        raise DeliveryFailed(f"cannot reach {urlsplit(url).netloc}: {exc}") from None
    if response.status_code >= 300:
        raise DeliveryFailed(f"{urlsplit(url).netloc} answered {response.status_code}: {response.text[:200]}")


@dataclass(frozen=True)
class WebhookChannel:
    name: str
    url: str
    secret: str | None = None
    timeout: float = 10.0

    def send(self, alert: Alert) -> None:
        body = json.dumps(alert.payload(), sort_keys=True, default=str).encode()
        headers = {"x-ledger-signature": sign(self.secret, int(time.time()), body)} if self.secret else {}
        _post(self.url, body, headers, self.timeout)


@dataclass(frozen=True)
class SlackChannel:
    name: str
    url: str
    timeout: float = 10.0

    def send(self, alert: Alert) -> None:
        icon = ":white_check_mark:" if alert.state == "resolved" else (
            ":rotating_light:" if alert.severity == "page" else ":warning:")
        scope = ", ".join(f"{k}={v}" for k, v in alert.scope.items()) or "all usage"
        facts = "\n".join(f"• *{k.replace('_', ' ')}*: {v}" for k, v in alert.evidence.items())
        text = f"{icon} {'RESOLVED: ' if alert.state == 'resolved' else ''}{alert.title}"
        context = f"rule `{alert.rule}` · {alert.severity} · {alert.fired_at}"
        if alert.link:
            context += f" · <{alert.link}|open>"
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*\nScope: {scope}\n{facts}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ]
        _post(self.url, json.dumps({"text": text, "blocks": blocks}).encode(), {}, self.timeout)


@dataclass(frozen=True)
class EmailChannel:
    name: str
    to: tuple[str, ...]
    smtp: str  # smtp://host:port (or smtps://…, with user:password@ if the server needs them)
    sender: str = "llmledger@localhost"
    timeout: float = 10.0

    def send(self, alert: Alert) -> None:
        message = EmailMessage(policy=email.policy.SMTP)
        message["Subject"] = f"[llmledger {alert.severity}] {'RESOLVED: ' if alert.state == 'resolved' else ''}" \
                             f"{alert.title}"
        message["From"], message["To"] = self.sender, ", ".join(self.to)
        lines = [alert.title, "", f"Scope: {alert.scope or 'all usage'}", ""]
        lines += [f"{k}: {v}" for k, v in alert.evidence.items()]
        lines += ["", f"Rule {alert.rule} ({alert.kind}), fired {alert.fired_at}"]
        message.set_content("\n".join(lines))
        url = urlsplit(self.smtp)
        try:
            server_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
            with server_class(url.hostname or "localhost", url.port or 25, timeout=self.timeout) as server:
                if url.username:
                    server.login(url.username, url.password or "")
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"cannot send email through {url.hostname}:{url.port}: {exc}") from None


@dataclass(frozen=True)
class LogChannel:
    name: str

    def send(self, alert: Alert) -> None:
        log.warning("ALERT %s [%s] %s scope=%s evidence=%s", alert.state, alert.severity, alert.title, alert.scope,
                    alert.evidence)


def build_channel(spec: Mapping[str, Any], where: str) -> Channel:
    """A channel from its config entry: ``{name, type: slack|webhook|email|log, …}``."""
    name, kind = spec.get("name"), spec.get("type")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: every channel needs a name")
    try:
        if kind == "slack":
            return SlackChannel(name, _url(spec, where))
        if kind == "webhook":
            return WebhookChannel(name, _url(spec, where), spec.get("secret"))
        if kind == "email":
            to = spec.get("to")
            if isinstance(to, str):
                to = [to]
            if not to or not isinstance(spec.get("smtp"), str):
                raise ConfigError(f"{where}: an email channel needs to: [addresses] and smtp: smtp://host:port")
            return EmailChannel(name, tuple(to), spec["smtp"], spec.get("from", "llmledger@localhost"))
        if kind == "log":
            return LogChannel(name)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    raise ConfigError(f"{where}: channel type {kind!r} is not one of slack, webhook, email, log")


def _url(spec: Mapping[str, Any], where: str) -> str:
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: url must be an http(s) URL (or env:NAME), got {url!r}")
    return url
