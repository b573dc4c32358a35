"""`PriceBook`: exact prices from the genai-prices catalog plus local overrides, as Decimal per cost component.

The catalog ships inside genai-prices (no network at import). `llmledger prices refresh` saves a newer catalog
file, which a PriceBook loads only when given its path. Overrides (custom, negotiated, fine-tuned, self-hosted
prices, with effective dates) win over the catalog.

Each usage field is priced with the most specific price the model has, falling back to the general one where the
provider bills it so: a cache read without a cache price costs the input price, reasoning without a reasoning
price costs the output price. A count with no price at all (audio, web searches) makes the cost `partial`; a
model with no price makes it `unpriced`. Never a silent $0.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, NamedTuple

from genai_prices import data_snapshot
from genai_prices import types as gp

from .errors import ConfigError, UnknownModel
from .providers import canonical_provider
from .usage import Usage

__all__ = ["PriceBook", "Cost", "PriceOverride", "COMPONENTS", "PRICE_KEYS", "describe_price"]

COMPONENTS: tuple[str, ...] = (
    "input", "cache_read", "cache_write", "output", "reasoning", "audio_in", "audio_out", "web_search", "requests",
)

# (cost component, usage field, price keys from the most specific to the fallback, units per price)
_PLAN: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("input", "input", ("input_mtok",), 1_000_000),
    ("cache_read", "cache_read", ("cache_read_mtok", "input_mtok"), 1_000_000),
    ("cache_write", "cache_write_5m", ("cache_write_5m_mtok", "cache_write_mtok", "input_mtok"), 1_000_000),
    ("cache_write", "cache_write_1h", ("cache_write_1h_mtok", "cache_write_mtok", "input_mtok"), 1_000_000),
    ("output", "output", ("output_mtok",), 1_000_000),
    ("reasoning", "reasoning", ("output_reasoning_mtok", "output_mtok"), 1_000_000),
    # Audio costs many times text (gpt-4o audio: $40 vs $2.50 per MTok): no fallback to the text price.
    ("audio_in", "audio_in", ("input_audio_mtok",), 1_000_000),
    ("audio_out", "audio_out", ("output_audio_mtok",), 1_000_000),
    ("web_search", "web_searches", ("web_searches_kcount",), 1_000),
    ("requests", "requests", ("requests_kcount",), 1_000),
)
PRICE_KEYS: tuple[str, ...] = tuple(dict.fromkeys(key for *_, keys, _ in _PLAN for key in keys))
# Most models have no per-request fee: a missing request price means nothing is billed per request.
_FREE_WHEN_UNPRICED = frozenset({"requests"})
_INDEX = {component: i for i, component in enumerate(COMPONENTS)}
_ZERO = Decimal(0)
_CATALOG = f"genai-prices {package_version('genai-prices')}"


class Cost(NamedTuple):
    """The cost of one call: one Decimal per component (None when unpriced), the total and where prices came from.

    `status` is ``priced``, ``partial`` (some counts had no price; `reason` names them), ``unpriced`` (no price
    at all; `reason` says why), or ``reported`` (the catalog has no price, and the total is the one the source
    reported, e.g. an imported log's own cost).

    Immutable (one instance may be shared, like a cached ``unpriced`` result). A named tuple rather than a frozen
    dataclass because pricing builds one per call, and a tuple is built several times faster.
    """

    status: str
    total: Decimal | None
    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    output: Decimal | None = None
    reasoning: Decimal | None = None
    audio_in: Decimal | None = None
    audio_out: Decimal | None = None
    web_search: Decimal | None = None
    requests: Decimal | None = None
    currency: str = "USD"
    price_version: str | None = None
    priced_as: str | None = None
    reason: str | None = None

    @classmethod
    def unpriced(cls, reason: str) -> Cost:
        return cls(status="unpriced", total=None, reason=reason)

    def components(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in COMPONENTS}


# Pricing builds Cost positionally: its fields must stay (status, total, *COMPONENTS, currency, …).
assert Cost._fields == ("status", "total", *COMPONENTS, "currency", "price_version", "priced_as", "reason")
_new_cost: Callable[..., Cost] = Cost


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A local price for (provider, model glob) from a date on (and optionally until a date, exclusive)."""

    provider: str
    model: str
    prices: Mapping[str, Decimal]
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "prices") -> PriceOverride:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: each price must be a mapping like {{provider: …, model: …, input_mtok: …}}")
        unknown = set(raw) - {"provider", "model", "from", "until", *PRICE_KEYS}
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: provider, model, from, until, "
                + ", ".join(PRICE_KEYS)
            )
        for key in ("provider", "model"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ConfigError(f"{where}: '{key}' is required and must be a string")
        prices: dict[str, Decimal] = {}
        for key in PRICE_KEYS:
            if key in raw:
                prices[key] = _decimal(raw[key], f"{where}.{key}")
        if not prices:
            raise ConfigError(f"{where}: give at least one price, e.g. input_mtok: 0.30 (USD per million tokens)")
        return cls(
            provider=canonical_provider(raw["provider"]),
            model=raw["model"].lower(),
            prices=prices,
            start=_date(raw.get("from"), f"{where}.from"),
            end=_date(raw.get("until"), f"{where}.until"),
        )

    def applies(self, provider: str | None, model: str, day: date) -> bool:
        return (
            (provider is None or self.provider in (provider, "*"))
            and fnmatch.fnmatchcase(model, self.model)
            and (self.start is None or self.start <= day)
            and (self.end is None or day < self.end)
        )


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ConfigError(f"{where}: a price must be a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise ConfigError(f"{where}: {value!r} is not a number") from None
    if not result.is_finite() or result < 0:
        raise ConfigError(f"{where}: a price must be a finite number ≥ 0, got {value!r}")
    return result


def _date(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: expected a date like 2026-01-01, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class _Rates:
    """A model's resolved prices on one day: the plan to price any usage, compiled once and cached."""

    flat: tuple[tuple[int, str, Decimal], ...]  # (component index, usage field, price per unit)
    tiered: tuple[tuple[int, str, gp.TieredPrices, int], ...]  # priced by total input tokens
    missing: tuple[tuple[str, str], ...]  # (usage field, component) with no price at all
    price_version: str
    priced_as: str


class PriceBook:
    """Prices usage. Build once, share everywhere; look-ups are cached per model, tier and day."""

    def __init__(
        self,
        overrides: Iterable[PriceOverride] = (),
        *,
        catalog_file: str | Path | None = None,
    ) -> None:
        self.overrides: tuple[PriceOverride, ...] = tuple(overrides)
        self._snapshot = _load_catalog(catalog_file) if catalog_file else data_snapshot.get_snapshot()
        self.catalog_version = _CATALOG + (f" (refreshed file {catalog_file})" if catalog_file else "")
        self._cache: dict[tuple[Any, ...], _Rates | Cost] = {}  # a Cost here is the model's `unpriced` result
        self._by_minute: set[tuple[str | None, str]] = set()

    # -- look-up --------------------------------------------------------------------------------------------------
    def find(
        self, provider: str | None, model: str, *, at: datetime | None = None,
        service_tier: str | None = None, batch: bool = False,
    ) -> tuple[Mapping[str, Decimal | gp.TieredPrices], str, str]:
        """The prices that apply: (price key → price, price version, what the model was priced as)."""
        at = _utc(at) if at else datetime.now(UTC)
        provider = canonical_provider(provider) if provider else None
        override = self._override(provider, model.lower(), at.date())
        if override is not None:
            return override.prices, _override_version(override), f"{override.provider}/{override.model}"
        try:
            found_provider, info = self._snapshot.find_provider_model(model, None, provider, None)
        except LookupError:
            who = f"provider {provider!r}" if provider else "any provider"
            raise UnknownModel(
                f"no price for model {model!r} from {who} in {self.catalog_version} or the local overrides; "
                "add one under 'prices:' in llmledger.yaml (then run `llmledger recompute`)"
            ) from None
        context: dict[str, str] = {}
        if service_tier:
            context["service_tier"] = service_tier
        if batch or service_tier == "batch":
            context["processing"] = "batch"
        prices = info.get_prices(at, context or None)
        resolved = {key: value for key in PRICE_KEYS if (value := getattr(prices, key, None)) is not None}
        return resolved, self.catalog_version, f"{found_provider.id}/{info.id}"

    def _override(self, provider: str | None, model: str, day: date) -> PriceOverride | None:
        matches = [o for o in self.overrides if o.applies(provider, model, day)]
        return max(matches, key=lambda o: o.start or date.min) if matches else None

    def _rates(
        self, provider: str | None, model: str, at: datetime, service_tier: str | None, batch: bool
    ) -> _Rates | Cost:
        # Catalog prices change by UTC date, so one compiled plan serves a whole day; the few models with
        # time-of-day prices (off-peak discounts) are keyed by the minute instead.
        key: tuple[Any, ...] = (provider, model, service_tier, batch, at.toordinal())
        if self._by_minute and (provider, model) in self._by_minute:
            key = (*key[:4], at.replace(second=0, microsecond=0))
        cached = self._cache.get(key)
        if cached is None:
            provider = canonical_provider(provider) if provider else None
            if self._time_of_day_priced(provider, model):
                self._by_minute.add((key[0], model))
                key = (*key[:4], at.replace(second=0, microsecond=0))
            try:
                cached = self._compile(provider, model, at, service_tier, batch)
            except UnknownModel as exc:
                cached = Cost.unpriced(str(exc))  # immutable: one instance serves every call
            self._cache[key] = cached
        return cached

    def _time_of_day_priced(self, provider: str | None, model: str) -> bool:
        try:
            _, info = self._snapshot.find_provider_model(model, None, provider, None)
        except LookupError:
            return False
        return isinstance(info.prices, list) and any(
            isinstance(p.constraint, gp.TimeOfDateConstraint) for p in info.prices
        )

    def _compile(self, provider: str | None, model: str, at: datetime, service_tier: str | None, batch: bool) -> _Rates:
        prices, version, priced_as = self.find(provider, model, at=at, service_tier=service_tier, batch=batch)
        flat: list[tuple[int, str, Decimal]] = []
        tiered: list[tuple[int, str, gp.TieredPrices, int]] = []
        missing: list[tuple[str, str]] = []
        for component, field, keys, per in _PLAN:
            price = next((prices[k] for k in keys if k in prices), None)
            if price is None:
                if field not in _FREE_WHEN_UNPRICED:
                    missing.append((field, component))
            elif isinstance(price, gp.TieredPrices):
                tiered.append((_INDEX[component], field, price, per))
            else:
                flat.append((_INDEX[component], field, price / per))
        return _Rates(tuple(flat), tuple(tiered), tuple(missing), version, priced_as)

    # -- pricing --------------------------------------------------------------------------------------------------
    def price(
        self, usage: Usage, *, provider: str | None, model: str, at: datetime | None = None,
        service_tier: str | None = None, batch: bool = False,
    ) -> Cost:
        """The cost of `usage`; an unknown model gives an ``unpriced`` Cost with the reason, never an exception."""
        if at is None:
            at = datetime.now(UTC)
        elif at.tzinfo is not UTC:
            at = _utc(at)
        rates = self._rates(provider, model.lower(), at, service_tier, batch)
        if isinstance(rates, Cost):
            return rates
        parts = [_ZERO] * len(COMPONENTS)
        total = _ZERO
        for index, field, unit_price in rates.flat:
            n = getattr(usage, field)
            if n:
                amount = unit_price * n
                parts[index] += amount
                total += amount
        if rates.tiered:
            total_input = usage.total_input
            for index, field, tiers, per in rates.tiered:
                n = getattr(usage, field)
                if n:
                    amount = gp.calc_unit_price(tiers, n, total_input, per)
                    parts[index] += amount
                    total += amount
        unpriced = [(f, c) for f, c in rates.missing if getattr(usage, f)] if rates.missing else None
        if not unpriced:
            return _new_cost("priced", total, *parts, "USD", rates.price_version, rates.priced_as)
        lacking = {_INDEX[component] for _, component in unpriced}
        shown: list[Decimal | None] = [None if i in lacking else v for i, v in enumerate(parts)]
        return _new_cost(
            "partial",
            sum((v for v in shown if v is not None), _ZERO),
            *shown,
            "USD",
            rates.price_version,
            rates.priced_as,
            f"no price for {', '.join(f'{f} ({getattr(usage, f)})' for f, _ in unpriced)} on {rates.priced_as}",
        )

    # -- listing --------------------------------------------------------------------------------------------------
    def catalog_models(self, provider: str | None = None) -> list[tuple[str, str, Mapping[str, Any]]]:
        """(provider id, model id, current prices) for every catalog model, optionally of one provider."""
        now = datetime.now(UTC)
        rows: list[tuple[str, str, Mapping[str, Any]]] = []
        for p in self._snapshot.providers:
            if provider and p.id != provider:
                continue
            for m in p.models:
                prices = m.get_prices(now)
                rows.append((p.id, m.id, {k: v for k in PRICE_KEYS if (v := getattr(prices, k, None)) is not None}))
        return rows


def _utc(at: datetime) -> datetime:
    """Prices change by UTC date: every look-up works in UTC (a naive time is taken as UTC)."""
    if at.tzinfo is UTC:
        return at
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def describe_price(value: Decimal | gp.TieredPrices) -> str:
    """A price for people: ``3`` or ``3 (6 above 200,000 input tokens)``."""
    if isinstance(value, gp.TieredPrices):
        tiers = ", ".join(f"{t.price} above {t.start:,} input tokens" for t in value.tiers)
        return f"{value.base} ({tiers})"
    return str(value)


def _override_version(override: PriceOverride) -> str:
    return f"override {override.provider}/{override.model} from {override.start or 'always'}"


def _load_catalog(path: str | Path) -> data_snapshot.DataSnapshot:
    try:
        raw = json.loads(Path(path).read_text())
        providers = gp._providers_from_raw(raw)  # noqa: SLF001 - the library's own loader for its JSON format
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the price catalog file {path}: {exc}") from None
    return data_snapshot.DataSnapshot(providers=providers, from_auto_update=True)


def validate_catalog(raw: Sequence[Any]) -> int:
    """Check a downloaded catalog payload; returns its number of models."""
    providers = gp._providers_from_raw(raw)  # noqa: SLF001
    return sum(len(p.models) for p in providers)
