"""Ledger ingest: events/s into SQLite and PostgreSQL, against a plain insert of 5-column rows in the same run.

    python bench/bench_ingest.py                  # 200,000 events, 3 rounds, SQLite and PostgreSQL
    python bench/bench_ingest.py --quick          # smoke run
    python bench/bench_ingest.py --no-postgres    # SQLite only

Targets: SQLite >= 100,000 events/s, PostgreSQL >= 50,000 events/s (batched).
Each round writes into a fresh database; events are built and priced before timing.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from _events import chunks, make_events, median, ratio, table, timed, verdict
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.ledger.schema import to_row
from llmledger.ledger.sqlite import SQLiteDialect
from llmledger.pricing import PriceBook

TARGETS = {"sqlite": 100_000, "postgres": 50_000}
MINIMAL = {
    "sqlite": "CREATE TABLE t (id TEXT PRIMARY KEY, ts TEXT NOT NULL, model TEXT NOT NULL, "
              "input_tokens INTEGER NOT NULL, cost_total INTEGER)",
    "postgres": "CREATE TABLE t (id TEXT PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, model TEXT NOT NULL, "
                "input_tokens BIGINT NOT NULL, cost_total NUMERIC(30, 12))",
}


def ledger_modes(events: list[UsageEvent], batch: int) -> dict[str, Callable[[Ledger], None]]:
    def write(ledger: Ledger) -> None:
        for chunk in chunks(events, batch):
            ledger.write(chunk)

    def record(ledger: Ledger) -> None:
        for event in events:
            ledger.record(event)
        assert ledger.flush(600)

    return {f"Ledger.write, batches of {batch:,}": write, "Ledger.record + flush (background writer)": record}


def run_ledger(url: str, fn: Callable[[Ledger], None], n: int, batch: int) -> float:
    ledger = Ledger.open(url, batch_size=batch)  # migrations run before timing
    try:
        seconds = timed(lambda: fn(ledger))
        assert ledger.count() == n, (ledger.count(), n)
        return seconds
    finally:
        ledger.close()


def sqlite_baseline(path: Path, rows: list[tuple], batch: int) -> float:
    conn = sqlite3.connect(path, isolation_level="DEFERRED")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(MINIMAL["sqlite"])

    def insert() -> None:
        for chunk in chunks(rows, batch):
            with conn:
                conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", chunk)

    seconds = timed(insert)
    conn.close()
    return seconds


def postgres_baseline(url: str, rows: list[tuple], batch: int) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MINIMAL["postgres"])
        cur = conn.cursor()

        def copy() -> None:
            for chunk in chunks(rows, batch):
                with conn.transaction(), cur.copy("COPY t FROM STDIN") as out:
                    for row in chunk:
                        out.write_row(row)

        return timed(copy)


def bench(backend: str, make_url: Callable[[str], str], events: list[UsageEvent], batch: int, rounds: int,
          baseline: Callable[[str], float]) -> list[tuple]:
    n = len(events)
    modes = ledger_modes(events, batch)
    times: dict[str, list[float]] = {name: [] for name in modes}
    base: list[float] = []
    for r in range(rounds):  # interleaved, so load on the machine hits every side alike
        base.append(baseline(make_url(f"base_{r}")))
        for i, (name, fn) in enumerate(modes.items()):
            times[name].append(run_ledger(make_url(f"mode{i}_{r}"), fn, n, batch))
    b = median(base)
    rows = [(f"{backend}: {name}", median(ts), n / median(ts), ratio(median(ts), b),
             verdict(n / median(ts) >= TARGETS[backend])) for name, ts in times.items()]
    label = "executemany" if backend == "sqlite" else "COPY"
    rows.append((f"{backend}: baseline, plain {label} of 5-column rows", b, n / b, "1.0x", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("-n", type=int, default=200_000, help="events per round")
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    n, rounds = (10_000, 1) if args.quick else (args.n, args.rounds)

    events = make_events(n, PriceBook())
    d = SQLiteDialect()
    lite_rows = [(e.id, d.ts_in(e.ts), e.model, e.usage.input, d.money_in(e.cost.total)) for e in events]
    pg_rows = [(e.id, e.ts, e.model, e.usage.input, e.cost.total) for e in events]
    print(f"ingest benchmark: {n:,} priced events x {rounds} rounds, batches of {args.batch:,}")
    results: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp:
        lite = lambda name: f"sqlite:///{Path(tmp) / name}.db"  # noqa: E731
        results += bench("sqlite", lite, events, args.batch, rounds,
                         lambda url: sqlite_baseline(Path(url.removeprefix("sqlite:///")), lite_rows, args.batch))
    mapped = timed(lambda: [to_row(e, d) for e in events])
    results.append(("  (part of the above: event -> SQLite row tuples)", mapped, n / mapped, "", ""))
    note = ""
    if not args.no_postgres:
        try:
            from tests.servers import start_postgres

            server = start_postgres()
        except Exception as exc:  # noqa: BLE001 - no server binaries on this machine: report and go on
            note = f"PostgreSQL skipped: {exc}"
        else:
            try:
                results += bench("postgres", server.create_database, events, args.batch, rounds,
                                 lambda url: postgres_baseline(url, pg_rows, args.batch))
            finally:
                server.stop()
    print()
    print(table(("measure", "seconds (median)", "events/s", "x baseline", "target"), results))
    print(f"\ntargets: SQLite >= {TARGETS['sqlite']:,}/s, PostgreSQL >= {TARGETS['postgres']:,}/s. {note}")


if __name__ == "__main__":
    main()
