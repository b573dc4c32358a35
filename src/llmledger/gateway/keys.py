"""Virtual keys: what clients of the gateway authenticate with, each with default tags, a budget and rate limits.

A key's secret is shown once, at creation; the ledger keeps only its SHA-256 (keys are 192 random bits, so a
fast hash is enough) and an 8-character prefix to recognise it by. The provider's own key never leaves the
gateway.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..attribution import validate_tags
from ..budgets import WINDOWS, Budget, Limit, RateLimit
from ..errors import ConfigError
from ..ledger.store import SQLStore

__all__ = ["VirtualKey", "KeyStore", "parse_budget", "new_secret"]

SECRET_PREFIX = "llk_"
_BUDGET = re.compile(r"^\s*\$?(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*$")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(24)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_budget(text: str) -> tuple[Decimal, str]:
    """``50/day`` → (Decimal(50), "day")."""
    match = _BUDGET.match(text)
    if not match or match.group(2) not in WINDOWS:
        raise ConfigError(f"budget {text!r}: write DOLLARS/WINDOW, e.g. 50/day (windows: {', '.join(WINDOWS)})")
    return Decimal(match.group(1)), match.group(2)


@dataclass(frozen=True)
class VirtualKey:
    id: str
    prefix: str
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # tenant, team, user… attributed to every call
    budget_usd: Decimal | None = None
    budget_window: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    created_at: str = ""
    revoked_at: str | None = None

    def limits(self) -> tuple[Limit, ...]:
        """This key's own budget and rate limits, scoped to the key."""
        scope = {"key": self.id}
        out: list[Limit] = []
        if self.budget_usd is not None and self.budget_window is not None:
            out.append(Budget(self.budget_usd, self.budget_window, scope, name=f"key:{self.id}/{self.budget_window}"))
        if self.rpm is not None:
            out.append(RateLimit(self.rpm, "requests", scope, name=f"key:{self.id}/rpm"))
        if self.tpm is not None:
            out.append(RateLimit(self.tpm, "tokens", scope, name=f"key:{self.id}/tpm"))
        return tuple(out)

    def public(self) -> dict[str, Any]:
        """What `keys list` and the admin API show (never the secret, never its hash)."""
        return {
            "id": self.id, "prefix": self.prefix, "name": self.name, "tags": self.tags,
            "budget": f"{self.budget_usd}/{self.budget_window}" if self.budget_usd is not None else None,
            "rpm": self.rpm, "tpm": self.tpm, "created_at": self.created_at, "revoked_at": self.revoked_at,
        }


_COLUMNS = "id, prefix, name, tags, budget_usd, budget_window, rpm, tpm, created_at, revoked_at"


def _key(row: tuple[Any, ...]) -> VirtualKey:
    id_, prefix, name, tags, budget, window, rpm, tpm, created, revoked = row
    return VirtualKey(id_, prefix, name, json.loads(tags), Decimal(budget) if budget else None, window,
                      rpm, tpm, created, revoked)


class KeyStore:
    """Keys in the ledger database; `verify` answers from a short-lived cache (a revocation is seen within
    `ttl` seconds by every gateway replica, at once by the one that revoked)."""

    def __init__(self, store: SQLStore, *, ttl: float = 5.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, VirtualKey | None]] = {}
        self._lock = threading.Lock()

    def create(
        self, *, name: str | None = None, tags: dict[str, Any] | None = None, budget: str | None = None,
        rpm: int | None = None, tpm: int | None = None,
    ) -> tuple[VirtualKey, str]:
        """A new key and its secret (the only time the secret exists outside the caller)."""
        checked = validate_tags(dict(tags or {}), where="key tags")
        budget_usd, window = parse_budget(budget) if budget else (None, None)
        for label, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ConfigError(f"--{label} must be a whole number above 0, got {value!r}")
        secret = new_secret()
        key = VirtualKey(
            id=f"key_{secrets.token_hex(6)}", prefix=secret[:8], name=name, tags=checked, budget_usd=budget_usd,
            budget_window=window, rpm=rpm, tpm=tpm, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.store.execute(
            f"INSERT INTO gateway_keys (secret_hash, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (secret_hash(secret), key.id, key.prefix, key.name, json.dumps(checked, sort_keys=True),
             None if budget_usd is None else str(budget_usd), window, rpm, tpm, key.created_at, None),
        )
        return key, secret

    def list(self, *, include_revoked: bool = False) -> list[VirtualKey]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = self.store.fetch(f"SELECT {_COLUMNS} FROM gateway_keys{where} ORDER BY created_at, id")
        return [_key(r) for r in rows]

    def get(self, key_id: str) -> VirtualKey | None:
        rows = self.store.fetch(f"SELECT {_COLUMNS} FROM gateway_keys WHERE id = ?", (key_id,))
        return _key(rows[0]) if rows else None

    def revoke(self, key_id: str) -> bool:
        changed = self.store.execute("UPDATE gateway_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                     (datetime.now(UTC).isoformat(timespec="seconds"), key_id))
        with self._lock:
            self._cache.clear()
        return changed > 0

    def verify(self, secret: str) -> VirtualKey | None:
        """The live key with this secret, or None."""
        digest = secret_hash(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        rows = self.store.fetch(
            f"SELECT {_COLUMNS} FROM gateway_keys WHERE secret_hash = ? AND revoked_at IS NULL", (digest,)
        )
        key = _key(rows[0]) if rows else None
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[digest] = (now + self.ttl, key)
        return key
