"""`instrument(client)`: meter every call an openai or anthropic client makes, at its HTTP layer.

The client's own httpx2 transport is wrapped in place (its timeouts, proxies and limits stay as they were), so
every endpoint is covered, sync and async, streamed or not, with ``with_raw_response`` too. Events go to a
ledger through its background writer: the caller never waits on the database.

With no `ledger` given, calls go to the default ledger, set by `configure()` or opened on first use from
``LLMLEDGER_DB`` (else ``./llmledger.db``), with a spool directory beside it so an outage loses nothing; it is
flushed when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2

from ..attribution import propagate_to_threads, validate_tags
from ..budgets import Budget, Limit
from ..budgets.memory import MemoryBudgets
from ..capture import Capture
from ..errors import BudgetExceeded, ConfigError
from ..ledger import DEFAULT_DB, Ledger, default_spool_dir
from ..pricing import PriceBook
from .transport import AsyncLedgerTransport, LedgerTransport

__all__ = ["instrument", "configure", "default_ledger", "capture_of"]

log = logging.getLogger("llmledger.sdk")
T = TypeVar("T")

# Provider API hosts an OpenAI- or Anthropic-style client may point at.
_HOSTS = {
    "api.openai.com": "openai", "api.anthropic.com": "anthropic", "api.deepseek.com": "deepseek",
    "api.groq.com": "groq", "api.mistral.ai": "mistral", "openrouter.ai": "openrouter", "api.x.ai": "x-ai",
    "api.together.xyz": "together", "api.fireworks.ai": "fireworks", "api.perplexity.ai": "perplexity",
    "api.cerebras.ai": "cerebras", "generativelanguage.googleapis.com": "google",
}


class _Defaults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ledger: Ledger | None = None
        self.prices: PriceBook | None = None
        self.database: str | None = None
        self.spool_dir: str | Path | None = None


_defaults = _Defaults()
_flushed_at_exit: set[int] = set()


def configure(
    *, database: str | None = None, spool_dir: str | Path | None = None, prices: PriceBook | None = None,
    ledger: Ledger | None = None,
) -> None:
    """Set where instrumented clients record by default: a database URL (or a `Ledger`) and the prices used.

    Call it before `instrument()`; a default ledger opened earlier is closed (flushed) and replaced.
    """
    with _defaults.lock:
        old = _defaults.ledger
        _defaults.database, _defaults.spool_dir = database, spool_dir
        _defaults.prices = prices
        _defaults.ledger = ledger
    if old is not None and old is not ledger:
        old.close()


def default_ledger() -> Ledger:
    """The ledger instrumented clients use when given none (opened on first use)."""
    with _defaults.lock:
        if _defaults.ledger is None:
            url = _defaults.database or os.environ.get("LLMLEDGER_DB") or DEFAULT_DB
            spool = _defaults.spool_dir or os.environ.get("LLMLEDGER_SPOOL") or default_spool_dir(url)
            _defaults.ledger = Ledger.open(url, spool_dir=spool)
        ledger = _defaults.ledger
    _flush_at_exit(ledger)
    return ledger


def _flush_at_exit(ledger: Ledger) -> None:
    with _defaults.lock:
        if id(ledger) in _flushed_at_exit:
            return
        _flushed_at_exit.add(id(ledger))
    atexit.register(ledger.flush, 30)


def instrument(
    client: T, *, ledger: Ledger | None = None, prices: PriceBook | None = None,
    tags: Mapping[str, Any] | None = None, budget: Budget | Sequence[Budget] | None = None,
    provider: str | None = None, propagate_threads: bool = True, store_content: bool = False,
) -> T:
    """Meter every call `client` makes; returns the same client.

    `client` is an ``openai.OpenAI``/``AsyncOpenAI`` (or Azure), ``anthropic.Anthropic``/``AsyncAnthropic``, or a
    bare ``httpx2.Client``/``AsyncClient``. `tags` are defaults under the ones set with `llmledger.tags()`.
    `budget` guards the calls client-side: a call whose worst case would cross a hard budget raises
    `BudgetExceeded` before it is sent. `provider` overrides the provider id guessed from the client and its
    base URL (e.g. ``deepseek`` for an OpenAI client pointed at DeepSeek). Prompt and completion text is kept
    only with ``store_content=True`` (read it back with `Ledger.content(event_id)`).
    """
    http = getattr(client, "_client", client)
    if not isinstance(http, httpx2.Client | httpx2.AsyncClient):
        raise ConfigError(
            f"cannot instrument {type(client).__module__}.{type(client).__name__}: expected an openai or anthropic "
            "client (OpenAI, AsyncOpenAI, Anthropic, AsyncAnthropic) or an httpx2.Client/AsyncClient"
        )
    if isinstance(http._transport, LedgerTransport | AsyncLedgerTransport):
        log.warning("the client is instrumented already; instrument() left it as it was")
        return client
    ledger = ledger or default_ledger()
    _flush_at_exit(ledger)
    prices = prices or _defaults.prices or PriceBook()
    budgets = _guard(budget, ledger, _sdk_error(client))
    capture = Capture(
        sink=ledger.record, later=ledger.record_later, prices=prices, provider=provider or _provider_of(client),
        default_tags=validate_tags(dict(tags or {}), where="instrument(tags=…)"), budgets=budgets,
        store_content=store_content,
    )
    wrap: Any = AsyncLedgerTransport if isinstance(http, httpx2.AsyncClient) else LedgerTransport
    http._transport = wrap(http._transport, capture)
    http._mounts = {pattern: None if t is None else wrap(t, capture) for pattern, t in http._mounts.items()}
    if propagate_threads:
        propagate_to_threads()
    return client


def capture_of(client: Any) -> Capture:
    """The `Capture` metering an instrumented client (its `stats` count recorded, estimated and failed events)."""
    http = getattr(client, "_client", client)
    transport = getattr(http, "_transport", None)
    if not isinstance(transport, LedgerTransport | AsyncLedgerTransport):
        raise ConfigError("this client is not instrumented; call llmledger.instrument(client) first")
    return transport.capture


def _provider_of(client: Any) -> str:
    module = type(client).__module__.split(".")[0]
    base_url = getattr(client, "base_url", None)
    host = urlsplit(str(base_url)).hostname if base_url is not None else None
    if module == "openai" and type(client).__name__.startswith(("AzureOpenAI", "AsyncAzureOpenAI")):
        return "azure"
    if host in _HOSTS:
        return _HOSTS[host]
    if host and host.endswith(".openai.azure.com"):
        return "azure"
    return "anthropic" if module == "anthropic" else "openai"


def _sdk_error(client: Any) -> type[BudgetExceeded]:
    """`BudgetExceeded` mixed with the client SDK's own base error, which the SDK re-raises unchanged (rather
    than retrying it as a connection failure)."""
    module = __import__(type(client).__module__.split(".")[0])
    base = getattr(module, "OpenAIError", None) or getattr(module, "AnthropicError", None)
    if not isinstance(base, type) or not issubclass(base, Exception):
        return BudgetExceeded
    return _mixed(base)


_MIXED: dict[type, type[BudgetExceeded]] = {}


def _mixed(base: type) -> type[BudgetExceeded]:
    if base not in _MIXED:
        _MIXED[base] = type("BudgetExceeded", (BudgetExceeded, base), {"__module__": BudgetExceeded.__module__})
    return _MIXED[base]


def _guard(budget: Budget | Sequence[Budget] | None, ledger: Ledger, error: type[BudgetExceeded]
           ) -> MemoryBudgets | None:
    if budget is None:
        return None
    budgets = [budget] if isinstance(budget, Budget) else list(budget)
    if not all(isinstance(b, Budget) for b in budgets):
        raise ConfigError("instrument(budget=…) takes an llmledger.Budget or a list of them")

    def spent_since(b: Limit, start: datetime) -> Decimal:
        ledger.flush(10)  # this process's queued calls count too
        return ledger.spend(start, scope=b.scope)

    return MemoryBudgets(budgets, spent_since=spent_since, error=error)
