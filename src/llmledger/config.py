"""The config file (``llmledger.yaml``), read only at the edges (CLI, serve). Any value may be ``env:NAME``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .pricing import PriceBook, PriceOverride

__all__ = ["Config", "load_config", "DEFAULT_CONFIG_FILE"]

DEFAULT_CONFIG_FILE = "llmledger.yaml"
_KNOWN_KEYS = {"database", "redis", "providers", "prices", "price_catalog", "spool_dir", "policy", "budgets", "alerts",
               "auth", "admin_token", "rate_limits", "gateway", "dashboard"}


@dataclass(frozen=True)
class Config:
    database: str | None = None
    prices: tuple[PriceOverride, ...] = ()
    price_catalog: str | None = None
    spool_dir: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def price_book(self) -> PriceBook:
        return PriceBook(self.prices, catalog_file=self.price_catalog)


def load_config(path: str | Path | None = None) -> Config:
    """Load `path`, else ``$LLMLEDGER_CONFIG``, else ``./llmledger.yaml`` if it exists, else defaults."""
    explicit = path or os.environ.get("LLMLEDGER_CONFIG")
    candidate = Path(explicit) if explicit else Path(DEFAULT_CONFIG_FILE)
    if not candidate.exists():
        if explicit:
            raise ConfigError(f"config file {candidate} does not exist")
        return Config()
    try:
        raw = yaml.safe_load(candidate.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{candidate} is not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{candidate} must hold a mapping of settings (database:, prices:, …)")
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{candidate}: unknown setting(s) {', '.join(sorted(unknown))}; known: "
                          + ", ".join(sorted(_KNOWN_KEYS)))
    raw = _resolve_env(raw, str(candidate))
    prices = raw.get("prices") or []
    if not isinstance(prices, list):
        raise ConfigError(f"{candidate}: 'prices' must be a list of price entries")
    return Config(
        database=_optional_str(raw, "database", candidate),
        prices=tuple(PriceOverride.from_mapping(p, f"{candidate}: prices[{i}]") for i, p in enumerate(prices)),
        price_catalog=_optional_str(raw, "price_catalog", candidate),
        spool_dir=_optional_str(raw, "spool_dir", candidate),
        raw=raw,
        path=candidate,
    )


def _optional_str(raw: Mapping[str, Any], key: str, where: Path) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    return value


def _resolve_env(value: Any, where: str) -> Any:
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} (from {value!r}) is not set")
        return os.environ[name]
    if isinstance(value, Mapping):
        return {k: _resolve_env(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, where) for v in value]
    return value
