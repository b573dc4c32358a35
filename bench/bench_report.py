"""Reports over a big SQLite ledger: Ledger.report() seconds, against a plain GROUP BY in the same run.

    python bench/bench_report.py                          # 1,000,000 events over 90 days, 5 rounds
    python bench/bench_report.py --quick                  # smoke run (50,000 events)
    python bench/bench_report.py --db /tmp/ledger1m.db    # keep the built file and reuse it next time

Target: report by feature x day over 1,000,000 events in < 1 s (median).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _events import TENANTS, chunks, make_events, median, ratio, table, timed, verdict
from llmledger.ledger import Ledger, ReportQuery, parse_where
from llmledger.pricing import PriceBook

TARGET_SECONDS = 1.0
BASELINE_SQL = ("SELECT feature, substr(ts, 1, 10), COUNT(*), SUM(input_tokens) FROM usage_events "
                "GROUP BY 1, 2")


def build(path: Path, n: int, days: float) -> None:
    """Write n priced events (spread over `days` up to now, in time order as a live ledger gets them) in
    one-transaction batches of 2,000."""
    started = time.perf_counter()
    book, now, step = PriceBook(), datetime.now(UTC), 20_000
    slices = -(-n // step)
    with Ledger.open(f"sqlite:///{path}") as ledger:
        for i, start in enumerate(range(0, n, step)):
            end = now - timedelta(days=days * (slices - 1 - i) / slices)
            events = make_events(min(step, n - start), book, seed=i, days=days / slices, end=end)
            for batch in chunks(events, 2_000):
                ledger.write(batch)
        count = ledger.count()
    print(f"built {path} with {count:,} events in {time.perf_counter() - started:.1f} s")


def stored(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT COUNT(*) FROM usage_events").fetchone()[0]
    except sqlite3.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("-n", type=int, default=1_000_000, help="events in the ledger")
    parser.add_argument("--days", type=float, default=90, help="the events' time span, up to now")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, help="SQLite file to build (or reuse when it already holds n events)")
    args = parser.parse_args()
    n, rounds = (50_000, 3) if args.quick else (args.n, args.rounds)

    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp:
        path = args.db or Path(tmp) / "ledger.db"
        have = stored(path)
        if have == n:
            print(f"reusing {path} with {n:,} events")
        else:
            if have:
                raise SystemExit(f"{path} holds {have:,} events, not {n:,}: remove it or pass another --db")
            build(path, n, args.days)
        run(path, n, rounds, args.days)


def run(path: Path, n: int, rounds: int, days: float) -> None:
    since = datetime.now(UTC) - timedelta(days=30)
    queries = {
        "report --by feature,day": ReportQuery(by=("feature", "day")),
        "report --by model": ReportQuery(by=("model",)),
        f"report --by feature,day --where tenant={TENANTS[7]}": ReportQuery(
            by=("feature", "day"), where=parse_where([f"tenant={TENANTS[7]}"])),
        "report --by feature,day --since 30d": ReportQuery(by=("feature", "day"), since=since),
    }
    ledger = Ledger.open(f"sqlite:///{path}")
    raw = sqlite3.connect(path)
    # The same report read from the events alone, without the daily rollup.
    main_query = queries["report --by feature,day"]

    # The rollup fills itself lazily: the first report after writes folds every new event in. Time that once,
    # from an empty rollup (every stored event new).
    with raw:
        raw.execute("DELETE FROM usage_daily")
        raw.execute("UPDATE llmledger_rollup_state SET watermark = 0")
    first_report = timed(lambda: ledger.report(main_query))

    times: dict[str, list[float]] = {name: [] for name in queries}
    base: list[float] = []
    sql_only: list[float] = []
    sizes: dict[str, int] = {}
    for _ in range(rounds):  # interleaved, so load on the machine hits every side alike
        base.append(timed(lambda: raw.execute(BASELINE_SQL).fetchall()))
        sql_only.append(timed(lambda: ledger.store.report(main_query, use_rollup=False)))
        for name, query in queries.items():
            result: list = []
            times[name].append(timed(lambda query=query, result=result: result.extend(ledger.report(query))))
            sizes[name] = len(result)
    ledger.close()
    raw.close()

    b = median(base)
    rows = [(name, median(ts), min(ts), ratio(median(ts), b), sizes[name]) for name, ts in times.items()]
    rows.append(("  the same, from the events alone (no rollup)", median(sql_only), min(sql_only),
                 ratio(median(sql_only), b), ""))
    rows.append(("  first report, folding all events into the rollup", first_report, first_report,
                 ratio(first_report, b), ""))
    rows.append(("baseline: GROUP BY feature, substr(ts,1,10): COUNT, SUM", b, min(base), "1.0x", ""))
    print(f"\nreport benchmark: {n:,} events over {days:g} days in {path}, {rounds} rounds each")
    print(table(("query", "median s", "best s", "x baseline", "rows"), rows))
    main_time = median(times["report --by feature,day"])
    print(f"\ntarget: report by feature x day < {TARGET_SECONDS:g} s over {n:,} events: "
          f"{verdict(main_time < TARGET_SECONDS)} ({main_time:.3f} s median)")


if __name__ == "__main__":
    main()
