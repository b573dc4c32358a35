"""Who may read the dashboard: the admin token, or users from the config; a user with a tenant sees only that
tenant's spend. A login gives a signed, expiring session cookie (HMAC-SHA256); nothing about sessions is stored.

```yaml
admin_token: env:LLMLEDGER_ADMIN_TOKEN     # log in as "admin" with this token; scripts send it as a Bearer token
dashboard:
  session_hours: 12
  session_secret: env:LLMLEDGER_SESSION_SECRET   # optional: defaults to one derived from admin_token
  users:
    - {name: finance, password: env:FINANCE_PASSWORD}              # sees everything
    - {name: acme, password: env:ACME_PASSWORD, tenant: acme}      # sees tenant acme only
```
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

__all__ = ["Principal", "DashboardAuth", "COOKIE"]

COOKIE = "llmledger_session"
_MIN_PASSWORD = 8


@dataclass(frozen=True)
class Principal:
    name: str
    tenant: str | None = None  # a tenant user reads only this tenant's calls

    @property
    def role(self) -> str:
        return "admin" if self.tenant is None else "tenant"


@dataclass(frozen=True)
class _User:
    name: str
    password: str
    tenant: str | None


class DashboardAuth:
    def __init__(self, *, admin_token: str | None, users: Mapping[str, _User] | None = None,
                 secret: bytes | None = None, session_hours: float = 12, open_access: bool = False) -> None:
        self.admin_token = admin_token
        self.users = dict(users or {})
        self.session_seconds = int(session_hours * 3600)
        self.open_access = open_access  # the demo: everyone reads everything, no login
        if secret is None:
            secret = (hashlib.sha256(b"llmledger-dashboard-session\0" + admin_token.encode()).digest()
                      if admin_token else secrets.token_bytes(32))
        self._secret = secret

    @classmethod
    def from_config(cls, raw: Mapping[str, Any], *, open_access: bool = False) -> DashboardAuth:
        section = raw.get("dashboard") or {}
        where = "dashboard"
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where}: expected a mapping (users:, session_hours:, session_secret:)")
        unknown = set(section) - {"users", "session_hours", "session_secret"}
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}; known: session_hours, "
                              "session_secret, users")
        users: dict[str, _User] = {}
        for i, item in enumerate(section.get("users") or []):
            here = f"{where}.users[{i}]"
            if not isinstance(item, Mapping) or set(item) - {"name", "password", "tenant"}:
                raise ConfigError(f"{here}: expected name, password and optionally tenant")
            name, password, tenant = item.get("name"), item.get("password"), item.get("tenant")
            if not isinstance(name, str) or not name or name == "admin" or name in users:
                raise ConfigError(f"{here}: name must be a unique non-empty string other than 'admin'")
            if not isinstance(password, str) or len(password) < _MIN_PASSWORD:
                raise ConfigError(f"{here}: password must be a string of at least {_MIN_PASSWORD} characters "
                                  "(write env:NAME to read it from the environment)")
            if tenant is not None and (not isinstance(tenant, str) or not tenant):
                raise ConfigError(f"{here}: tenant must be a non-empty string")
            users[name] = _User(name, password, tenant)
        hours = section.get("session_hours", 12)
        if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 24 * 30:
            raise ConfigError(f"{where}.session_hours: a number of hours between 0 and 720")
        secret = section.get("session_secret")
        if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
            raise ConfigError(f"{where}.session_secret: a string of at least 16 characters")
        token = raw.get("admin_token")
        return cls(admin_token=token if isinstance(token, str) and token else None, users=users,
                   secret=secret.encode() if secret else None, session_hours=hours, open_access=open_access)

    @property
    def configured(self) -> bool:
        """Whether anyone can log in at all."""
        return self.open_access or bool(self.admin_token or self.users)

    def login(self, name: str, password: str) -> Principal | None:
        if name == "admin":
            ok = self.admin_token is not None and hmac.compare_digest(password.encode(), self.admin_token.encode())
            return Principal("admin") if ok else None
        user = self.users.get(name)
        if user is None:
            hmac.compare_digest(password.encode(), b"x" * len(password))  # the same work for unknown names
            return None
        return Principal(user.name, user.tenant) if hmac.compare_digest(password.encode(),
                                                                       user.password.encode()) else None

    def issue(self, who: Principal, *, now: float | None = None) -> str:
        """The session cookie's value: the principal and its expiry, signed."""
        body = json.dumps({"n": who.name, "t": who.tenant, "e": int((now or time.time()) + self.session_seconds)},
                          separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str | None, authorization: str | None, *, now: float | None = None) -> Principal | None:
        """The principal behind a request's session cookie or ``Authorization: Bearer <admin token>``."""
        if self.open_access:
            return Principal("demo")
        if authorization and self.admin_token:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.admin_token.encode()):
                return Principal("admin")
        if not cookie or "." not in cookie:
            return None
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or data.get("e", 0) < (now or time.time()):
            return None
        name, tenant = data.get("n"), data.get("t")
        # A user removed from the config, or moved to another tenant, loses access at once.
        if name == "admin":
            return Principal("admin") if self.admin_token else None
        user = self.users.get(name) if isinstance(name, str) else None
        return Principal(user.name, user.tenant) if user is not None and user.tenant == tenant else None

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
