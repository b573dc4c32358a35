"""The gateway's settings, read from `llmledger.yaml` (providers, auth, policy, budgets, rate limits, limits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..attribution import validate_tags
from ..budgets import Budget, Limit, RateLimit
from ..config import Config
from ..errors import ConfigError

__all__ = ["Upstream", "Policy", "GatewaySettings"]

# Where each route forwards when the config names no base_url. Keys come from the config (or env:NAME) only.
_DEFAULT_UPSTREAMS = {
    "openai": ("https://api.openai.com/v1", "openai"),
    "anthropic": ("https://api.anthropic.com", "anthropic"),
}


@dataclass(frozen=True)
class Upstream:
    name: str  # the provider id events are recorded under
    base_url: str
    api_key: str | None
    family: str  # openai | anthropic: how to authenticate and how errors look

    def auth_headers(self) -> dict[str, str]:
        if not self.api_key:
            return {}
        if self.family == "anthropic":
            return {"x-api-key": self.api_key}
        return {"authorization": f"Bearer {self.api_key}"}


@dataclass(frozen=True)
class Policy:
    required_tags: tuple[str, ...] = ()
    max_tokens_default: int | None = None
    # (scope, cap): the smallest cap whose scope matches a call applies
    max_tokens_caps: tuple[tuple[dict[str, str], int], ...] = ()

    def max_tokens_for(self, tags: Mapping[str, str]) -> int | None:
        caps = [cap for scope, cap in self.max_tokens_caps if all(tags.get(k) == v for k, v in scope.items())]
        return min(caps) if caps else self.max_tokens_default


@dataclass(frozen=True)
class GatewaySettings:
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    auth: str = "keys"  # keys | none
    admin_token: str | None = None
    policy: Policy = field(default_factory=Policy)
    limits: tuple[Limit, ...] = ()
    redis: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    upstream_timeout: float = 600.0
    connect_timeout: float = 10.0
    limits_refresh: float = 5.0  # seconds between re-reads of budgets set with `llmledger budgets set`

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> GatewaySettings:
        raw = config.raw
        where = str(config.path or "llmledger.yaml")
        auth = raw.get("auth", "keys")
        if auth not in ("keys", "none"):
            raise ConfigError(f"{where}: auth must be 'keys' (virtual keys required) or 'none', got {auth!r}")
        gateway = _mapping(raw.get("gateway"), f"{where}: gateway")
        values: dict[str, Any] = dict(
            upstreams=_upstreams(raw.get("providers"), where),
            auth=auth,
            admin_token=raw.get("admin_token"),
            policy=_policy(raw.get("policy"), where),
            limits=(*_budgets(raw.get("budgets"), where), *_rate_limits(raw.get("rate_limits"), where)),
            redis=raw.get("redis"),
        )
        for name, kind in (("max_body_bytes", int), ("upstream_timeout", float), ("connect_timeout", float),
                           ("limits_refresh", float)):
            if name in gateway:
                if not isinstance(gateway[name], int | float) or gateway[name] <= 0:
                    raise ConfigError(f"{where}: gateway.{name} must be a positive number")
                values[name] = kind(gateway[name])
        values.update(overrides)
        return cls(**values)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping")
    return value


# Paths the gateway answers itself (the dashboard, its API and assets, health and metrics).
_RESERVED = frozenset({"api", "static", "login", "logout", "healthz", "metrics"})


def _upstreams(value: Any, where: str) -> dict[str, Upstream]:
    configured = _mapping(value, f"{where}: providers")
    out = {}
    for name in {*_DEFAULT_UPSTREAMS, *configured}:
        if name in _RESERVED:
            raise ConfigError(f"{where}: providers.{name}: the name is taken by the gateway's own pages "
                              f"({', '.join(sorted(_RESERVED))}); choose another")
        entry = _mapping(configured.get(name), f"{where}: providers.{name}")
        default_url, default_family = _DEFAULT_UPSTREAMS.get(name, (None, "openai"))
        base_url = entry.get("base_url", default_url)
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: providers.{name}.base_url must be an http(s) URL, got {base_url!r}")
        family = entry.get("api", default_family)
        if family not in ("openai", "anthropic"):
            raise ConfigError(f"{where}: providers.{name}.api must be openai or anthropic, got {family!r}")
        key = entry.get("api_key")
        if key is not None and not isinstance(key, str):
            raise ConfigError(f"{where}: providers.{name}.api_key must be a string (or env:NAME)")
        out[name] = Upstream(name, base_url.rstrip("/"), key, family)
    return out


def _policy(value: Any, where: str) -> Policy:
    policy = _mapping(value, f"{where}: policy")
    required = policy.get("required_tags") or []
    if not isinstance(required, list) or not all(isinstance(t, str) for t in required):
        raise ConfigError(f"{where}: policy.required_tags must be a list of tag names")
    validate_tags({t: "x" for t in required}, where=f"{where}: policy.required_tags")
    caps = _mapping(policy.get("max_tokens"), f"{where}: policy.max_tokens")
    default = None
    scoped = []
    for key, cap in caps.items():
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise ConfigError(f"{where}: policy.max_tokens.{key} must be a whole number above 0, got {cap!r}")
        if key == "default":
            default = cap
            continue
        scope = {}
        for part in str(key).split(","):
            name, sep, tag_value = part.partition("=")
            if not sep:
                raise ConfigError(f"{where}: policy.max_tokens key {key!r}: write default or TAG=VALUE[,TAG=VALUE]")
            scope[name.strip()] = tag_value.strip()
        scoped.append((validate_tags(scope, where=f"{where}: policy.max_tokens {key!r}"), cap))
    return Policy(tuple(required), default, tuple(scoped))


def _budgets(value: Any, where: str) -> list[Budget]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: budgets must be a list")
    out = []
    for i, entry in enumerate(value):
        entry = _mapping(entry, f"{where}: budgets[{i}]")
        unknown = set(entry) - {"name", "scope", "window", "limit_usd", "mode", "tolerance_usd"}
        if unknown or "limit_usd" not in entry:
            raise ConfigError(f"{where}: budgets[{i}] needs limit_usd and takes name, scope, window, mode, "
                              f"tolerance_usd (unknown: {', '.join(sorted(unknown)) or 'none'})")
        try:
            out.append(Budget(entry["limit_usd"], entry.get("window", "day"), dict(entry.get("scope") or {}),
                              name=entry.get("name", ""), mode=entry.get("mode", "hard"),
                              tolerance_usd=entry.get("tolerance_usd", 0)))
        except ConfigError as exc:
            raise ConfigError(f"{where}: budgets[{i}]: {exc}") from None
    return out


def _rate_limits(value: Any, where: str) -> list[RateLimit]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: rate_limits must be a list of {{scope: …, rpm: …, tpm: …}}")
    out = []
    for i, entry in enumerate(value):
        entry = _mapping(entry, f"{where}: rate_limits[{i}]")
        scope = dict(entry.get("scope") or {})
        label = ",".join(f"{k}={v}" for k, v in sorted(scope.items())) or "global"
        try:
            if "rpm" in entry:
                out.append(RateLimit(entry["rpm"], "requests", scope, name=f"{label}/rpm"))
            if "tpm" in entry:
                out.append(RateLimit(entry["tpm"], "tokens", scope, name=f"{label}/tpm"))
        except ConfigError as exc:
            raise ConfigError(f"{where}: rate_limits[{i}]: {exc}") from None
    return out
