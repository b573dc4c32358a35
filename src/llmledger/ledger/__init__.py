"""The ledger: where priced events are stored and read back.

`Ledger` is the facade: it opens a store from a URL (SQLite file by default, PostgreSQL for shared
deployments), applies migrations, queues events to the one background `BatchWriter`, and answers reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..events import UsageEvent
from ..pricing import PriceBook
from .query import Filter, ReportQuery, parse_where
from .store import SQLStore
from .writer import BatchWriter

__all__ = ["Ledger", "open_store", "ReportQuery", "Filter", "parse_where", "DEFAULT_DB", "default_spool_dir"]

DEFAULT_DB = "sqlite:///llmledger.db"


def default_spool_dir(url: str) -> str:
    """Where events wait when the database is down: beside an SQLite file, else ./llmledger-spool."""
    if url.startswith(("postgresql://", "postgres://")):
        return "llmledger-spool"
    path = url.removeprefix("sqlite:///")
    return "llmledger-spool" if path in ("", ":memory:") else f"{path}-spool"


def open_store(url: str) -> SQLStore:
    """A store for ``sqlite:///path``, ``sqlite:///:memory:``, a plain file path, or ``postgresql://…``."""
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
    elif "://" in url:
        raise ConfigError(f"unsupported database URL {url.split('://')[0]}://…; use sqlite:///FILE or postgresql://…")
    else:
        path = url
    from .sqlite import SQLiteStore

    return SQLiteStore(path or "llmledger.db")


class Ledger:
    """Records and reads usage events. Build once (with `open`) and share; close it at shutdown."""

    def __init__(self, store: SQLStore, *, spool_dir: str | Path | None = None, **writer_options: Any) -> None:
        self.store = store
        self.writer = BatchWriter(store, spool_dir=spool_dir, idle=store.refresh_rollup, **writer_options)

    @classmethod
    def open(cls, url: str = DEFAULT_DB, *, migrate: bool = True, **options: Any) -> Ledger:
        store = open_store(url)
        if migrate:
            store.migrate()
        return cls(store, **options)

    def record(self, event: UsageEvent) -> None:
        """Queue an event for the background writer; returns at once."""
        self.writer.put(event)

    def record_later(self, make: Callable[[], UsageEvent | None]) -> None:
        """Queue a function that makes the event; the writer's thread runs it (see `BatchWriter.put_later`)."""
        self.writer.put_later(make)

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(timeout)

    def write(self, events: Sequence[UsageEvent]) -> int:
        """Write events now, all or nothing, in one transaction; returns how many were new (imports use this)."""
        return self.store.write(events)

    def report(self, query: ReportQuery) -> list[dict[str, Any]]:
        return self.store.report(query)

    def spend(self, since: datetime, *, until: datetime | None = None, scope: Mapping[str, str] | None = None
              ) -> Decimal:
        """Dollars spent in [since, until) by the calls matching `scope` (tags, model, provider, key…)."""
        where = tuple(Filter(k, v) for k, v in (scope or {}).items())
        return sum((row["cost"] for row in self.report(ReportQuery(since=since, until=until, where=where))),
                   Decimal(0))

    def events(self, query: ReportQuery | None = None) -> Iterator[UsageEvent]:
        return self.store.events(query)

    def count(self) -> int:
        return self.store.count()

    def content(self, event_id: str) -> dict[str, Any] | None:
        """An event's request and response, stored only when content capture was opted in."""
        return self.store.content(event_id)

    def recompute(self, prices: PriceBook, query: ReportQuery | None = None, *, batch: int = 2000) -> tuple[int, int]:
        """Re-price stored events with `prices`; returns (events checked, events whose cost changed)."""
        checked = changed = 0
        pending = []
        for event in self.events(query):
            checked += 1
            cost = prices.price(
                event.usage, provider=event.provider, model=event.model, at=event.ts,
                service_tier=event.service_tier, batch=event.batch,
            )
            if event.reported_cost is not None and cost.status == "unpriced":
                continue  # the imported cost stays until the catalog can price the model
            if cost != event.cost:
                pending.append((event, cost))
                if len(pending) >= batch:
                    changed += self.store.update_costs(pending)
                    pending.clear()
        changed += self.store.update_costs(pending)
        return checked, changed

    def close(self) -> None:
        self.writer.close()
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
