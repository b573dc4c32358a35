"""The dashboard's JSON API over a big ledger: milliseconds per panel over real HTTP, against a plain GROUP BY and a
trivial request in the same run.

    python bench/bench_dashboard.py                               # 1,000,000 events over 90 days, 5 rounds
    python bench/bench_dashboard.py --quick                       # smoke run (50,000 events)
    python bench/bench_dashboard.py --db /tmp/ledger1m-dash.db    # keep the built file and reuse it next time
    python bench/bench_dashboard.py --db /tmp/ledger1m-dash.db --postgres   # also PostgreSQL, same events

Target: every Overview panel (summary, month, timeseries, the breakdowns) < 300 ms (median) over 1,000,000 events.
The dashboard is served in this process (uvicorn in a thread, on a free 127.0.0.1 port) and read with httpx2; its
clock is pinned to the newest event, so "the last 30 days" (the pages' default range) is always the data's last 30
days, however old a reused file is. A diagnosis follows the table: each panel's handler called directly (no HTTP),
with the time its SQL statements took (execute + fetch, per statement) apart from the Python around them.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from _events import FEATURES, TENANTS, chunks, make_events, median, ratio, table, timed, verdict
from bench_report import stored
from llmledger.budgets import Budget
from llmledger.budgets.stored import BudgetStore
from llmledger.dashboard import DashboardAuth, build_dashboard
from llmledger.dashboard.app import _json, selection
from llmledger.events import UsageEvent
from llmledger.ledger import Ledger
from llmledger.ledger.sqlite import SQLiteDialect
from llmledger.outcomes import Outcome, OutcomeStore
from llmledger.pricing import PriceBook

TARGET_MS = 300.0
TENANT = TENANTS[7]
# The Overview page's panels (the target), then the other pages' reads (no target).
OVERVIEW: tuple[tuple[str, str], ...] = (
    ("summary", "/api/v1/summary"),
    ("month", "/api/v1/month"),
    ("timeseries day x model", "/api/v1/timeseries?unit=day&group=model"),
    ("breakdown by tenant", "/api/v1/breakdown?by=tenant"),
    ("breakdown by team", "/api/v1/breakdown?by=team"),
    ("breakdown by feature", "/api/v1/breakdown?by=feature"),
    ("breakdown by model", "/api/v1/breakdown?by=model"),
    ("breakdown by provider", "/api/v1/breakdown?by=provider"),
    ("breakdown by user, top 10", "/api/v1/breakdown?by=user&limit=10"),
    ("breakdown by session, top 10", "/api/v1/breakdown?by=session&limit=10"),
)
OTHERS: tuple[tuple[str, str], ...] = (
    ("live, 6 hours", "/api/v1/live?hours=6"),
    ("dimensions", "/api/v1/dimensions"),
    ("events, page of 100", "/api/v1/events?limit=100"),
    ("histogram input_tokens", "/api/v1/histogram?field=input_tokens"),
    ("sessions, top 20", "/api/v1/sessions?limit=20"),
    ("outcomes", "/api/v1/outcomes"),
)
FILTERED: tuple[tuple[str, str], ...] = tuple(
    (f"{name} | tenant", f"{path}{'&' if '?' in path else '?'}where=tenant={TENANT}") for name, path in OVERVIEW)
ME = "/api/v1/me"
BASELINE_SQL = "SELECT substr(ts, 1, 10), COUNT(*), SUM(cost_total) FROM usage_events WHERE ts >= ? GROUP BY 1"

# _events.py has no teams and no sessions. A team owns features (so the rollup's keys gain no cardinality), and one
# call in three belongs to an agent session of 5 calls (same tenant, user, feature), 1 session in 4 reaching an outcome.
TEAMS = {"chat": "team-assistant", "search": "team-search", "summarize": "team-docs", "classify": "team-ml",
         "agent": "team-assistant", "extract": "team-docs", "translate": "team-i18n", "autocomplete": "team-ml"}
assert set(TEAMS) == set(FEATURES)
SESSION_BLOCK, SESSION_EVERY = 15, 3  # in each run of 15 consecutive calls, every 3rd is one session's call
OUTCOME_NAMES = ("ticket_resolved", "answer_accepted", "report_written")


# -- the data -------------------------------------------------------------------------------------------------------
def with_sessions(events: list[UsageEvent], slice_no: int, rng: random.Random) -> tuple[list[UsageEvent],
                                                                                          list[Outcome]]:
    """Teams on every event; session ids on 1 in 3 (5 calls each, sharing the first call's tags); outcomes."""
    out, outcomes = [], []
    shared: dict[str, str] = {}
    for i, event in enumerate(events):
        block, pos = divmod(i, SESSION_BLOCK)
        if pos % SESSION_EVERY:
            out.append(replace(event, tags={**event.tags, "team": TEAMS[event.tags["feature"]]}))
            continue
        if pos == 0:
            shared = {**event.tags, "team": TEAMS[event.tags["feature"]]}
        session = f"sess-{slice_no:03d}-{block:05d}"
        out.append(replace(event, tags=dict(shared), session_id=session))
        last = pos == SESSION_BLOCK - SESSION_EVERY or i + SESSION_EVERY >= len(events)
        if last and block % 4 == 0:
            outcomes.append(Outcome(rng.choice(OUTCOME_NAMES), session, ts=event.ts + timedelta(seconds=1),
                                    tags={"tenant": shared["tenant"], "feature": shared["feature"]}))
    return out, outcomes


def generate(n: int, days: float, end: datetime) -> Iterator[tuple[list[UsageEvent], list[Outcome]]]:
    """Like bench_report.build: slices of 20,000 events (seed = slice number), spread over `days` up to `end`."""
    book, step = PriceBook(), 20_000
    slices = -(-n // step)
    rng = random.Random(7)
    for i, start in enumerate(range(0, n, step)):
        slice_end = end - timedelta(days=days * (slices - 1 - i) / slices)
        events = make_events(min(step, n - start), book, seed=i, days=days / slices, end=slice_end)
        yield with_sessions(events, i, rng)


def build(url: str, n: int, days: float, end: datetime) -> None:
    """Write the events in one-transaction batches of 2,000 (as bench_report does), the outcomes, and two monthly
    budgets (the whole org, and TENANT) set at 1.2 x the last 30 days' spend."""
    started = time.perf_counter()
    with Ledger.open(url) as ledger:
        outcomes = OutcomeStore(ledger.store)
        for events, found in generate(n, days, end):
            for batch in chunks(events, 2_000):
                ledger.write(batch)
            outcomes.add_all(found)
        set_budgets(ledger, end)
        count = ledger.count()
    print(f"built {url} with {count:,} events in {time.perf_counter() - started:.1f} s")


def set_budgets(ledger: Ledger, now: datetime) -> None:
    budgets = BudgetStore(ledger.store)
    month_ago = now - timedelta(days=30)
    for name, scope in (("org-monthly", {}), (f"{TENANT}-monthly", {"tenant": TENANT})):
        spend = ledger.spend(month_ago, until=now, scope=scope)
        budgets.set(Budget((spend * Decimal("1.2")).quantize(Decimal(1)), "month", scope, name=name, mode="soft"))


def sessions_stored(path: Path) -> int:
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT COUNT(*) FROM usage_events WHERE session_id IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def newest(path: Path) -> datetime:
    with sqlite3.connect(path) as conn:
        (ts,) = conn.execute("SELECT MAX(ts) FROM usage_events").fetchone()
    return SQLiteDialect().ts_out(ts)


def copy_to_postgres(source: str, target: str) -> None:
    """The SQLite ledger's events (ids included), outcomes and budgets into a PostgreSQL ledger, batches of 2,000."""
    started = time.perf_counter()
    with Ledger.open(source) as src, Ledger.open(target) as dst:
        batch: list[UsageEvent] = []
        for event in src.events():
            batch.append(event)
            if len(batch) == 2_000:
                dst.write(batch)
                batch = []
        dst.write(batch)
        OutcomeStore(dst.store).add_all(OutcomeStore(src.store).list())
        for budget in BudgetStore(src.store).list():
            BudgetStore(dst.store).set(budget)
        dst.store.execute("ANALYZE")  # what autovacuum would have done to a table this size by now
        count = dst.count()
    print(f"copied {count:,} events into PostgreSQL in {time.perf_counter() - started:.1f} s")


# -- serving and timing -------------------------------------------------------------------------------------------
@dataclass
class Served:
    dashboard: Any
    server: Any
    thread: threading.Thread
    base: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def serve(ledger: Ledger, now: datetime, loop: str) -> Served:
    import uvicorn
    from tests.servers import free_port

    dashboard = build_dashboard(ledger, DashboardAuth(admin_token=None, open_access=True),
                                budgets=BudgetStore(ledger.store).list, clock=lambda: now)
    port = free_port()
    config = uvicorn.Config(dashboard, host="127.0.0.1", port=port, loop=loop, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bench-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the dashboard server did not start")
        time.sleep(0.01)
    return Served(dashboard, server, thread, f"http://127.0.0.1:{port}")


def get(client: Any, path: str) -> int:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
    return len(response.content)


@dataclass
class Timings:
    times: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def measure(client: Any, endpoints: tuple[tuple[str, str], ...], rounds: int, baseline: Callable[[], object]
            ) -> tuple[Timings, list[float], list[float]]:
    """One warm-up request per endpoint, then `rounds` rounds; each round also runs the SQL baseline and GET /me,
    so load on the machine hits every side alike."""
    out = Timings({path: [] for _, path in endpoints})
    base: list[float] = []
    me: list[float] = []
    get(client, ME)
    for _, path in endpoints:
        out.sizes[path] = get(client, path)
    for _ in range(rounds):
        base.append(timed(baseline))
        me.append(timed(lambda: get(client, ME)))
        for _, path in endpoints:
            out.times[path].append(timed(lambda path=path: get(client, path)))
    return out, base, me


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def rows_for(endpoints: tuple[tuple[str, str], ...], t: Timings, b: float, target: bool) -> list[tuple]:
    rows = []
    for name, path in endpoints:
        ts = t.times[path]
        mark = verdict(median(ts) * 1000 < TARGET_MS) if target else ""
        rows.append((name, ms(median(ts)), ms(max(ts)), ratio(median(ts), b), f"{t.sizes[path]:,}", mark))
    return rows


# -- diagnosis: a panel's handler called directly, its SQL timed statement by statement ----------------------------
class _TimedCursor:
    def __init__(self, cursor: Any, log: list[list[Any]]) -> None:
        self._cursor, self._log, self._entry = cursor, log, [None, 0.0]

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._entry = [sql, 0.0, params]
        self._log.append(self._entry)
        start = time.perf_counter()
        try:
            return self._cursor.execute(sql, params)
        finally:
            self._entry[1] += time.perf_counter() - start

    def _fetch(self, name: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self._cursor, name)(*args)
        finally:
            self._entry[1] += time.perf_counter() - start

    def fetchall(self) -> Any:
        return self._fetch("fetchall")

    def fetchmany(self, *args: Any) -> Any:
        return self._fetch("fetchmany", *args)

    def fetchone(self) -> Any:
        return self._fetch("fetchone")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _TimedConnection:
    def __init__(self, conn: Any, log: list[list[Any]]) -> None:
        self._conn, self._log = conn, log

    def cursor(self, *args: Any, **kwargs: Any) -> _TimedCursor:
        return _TimedCursor(self._conn.cursor(*args, **kwargs), self._log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class Probe:
    """Wraps the store's read connections (this process only) so every statement's execute + fetch is logged."""

    def __init__(self, ledger: Ledger) -> None:
        self.log: list[list[Any]] = []
        store = ledger.store
        read, refresh = store._read_connection, store.refresh_rollup
        self.refresh = 0.0

        def timed_refresh() -> None:
            start = time.perf_counter()
            try:
                refresh()
            finally:
                self.refresh += time.perf_counter() - start

        store._read_connection = lambda: _TimedConnection(read(), self.log)  # type: ignore[method-assign]
        store.refresh_rollup = timed_refresh  # type: ignore[method-assign]

    def reset(self) -> None:
        self.log.clear()
        self.refresh = 0.0


def request_for(path: str) -> Any:
    from starlette.requests import Request

    route, _, query = path.partition("?")
    return Request({"type": "http", "method": "GET", "path": route, "query_string": query.encode(), "headers": []})


@dataclass
class Diagnosis:
    name: str
    path: str
    direct: float  # handler, median
    json: float  # the payload written as JSON
    sql: float  # all statements, execute + fetch
    refresh: float  # the rollup refresh (two small statements when nothing is new)
    log: list[list[Any]]  # [sql, seconds, params] of each statement
    profile: str = ""

    @property
    def statements(self) -> int:
        return len(self.log)

    @property
    def slowest(self) -> list[Any]:
        return max(self.log, key=lambda e: e[1]) if self.log else ["", 0.0, ()]


def diagnose(served: Served, ledger: Ledger, probe: Probe, name: str, path: str, rounds: int, profile: bool
             ) -> Diagnosis:
    d = served.dashboard
    handler = getattr(d, path.split("?")[0].removeprefix("/api/v1/"))
    request = request_for(path)
    who = d.auth.read(None, None)
    samples: list[tuple[float, float, float, list[list[Any]], Any]] = []
    for _ in range(rounds):
        probe.reset()
        sel = selection(request, who, d.clock())
        result: list[Any] = []
        seconds = timed(lambda sel=sel, result=result: result.append(handler(request, who, sel)))
        samples.append((seconds, sum(e[1] for e in probe.log), probe.refresh, list(probe.log), result[0]))
    samples.sort(key=lambda s: s[0])
    seconds, sql, refresh, log, result = samples[len(samples) // 2]
    json_seconds = timed(lambda: _json(result[0]))
    text = ""
    if profile:
        prof = cProfile.Profile()
        sel = selection(request, who, d.clock())
        prof.runcall(handler, request, who, sel)
        lines = _top(prof)
        text = "\n".join(lines)
    return Diagnosis(name, path, seconds, json_seconds, sql, refresh, log, text)


def _top(prof: cProfile.Profile, count: int = 8) -> list[str]:
    stats = pstats.Stats(prof)
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:count]  # type: ignore[attr-defined]
    out = []
    for (file, line, func), (_, calls, tottime, cumtime, _) in entries:
        where = f"{Path(file).name}:{line}" if file != "~" else ""
        out.append(f"      {tottime * 1000:8.1f} ms own {cumtime * 1000:8.1f} ms cum {calls:>9,} calls  "
                   f"{func} {where}")
    return out


def explain(ledger: Ledger, sql: str, params: Any, postgres: bool) -> list[str]:
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    try:
        rows = ledger.store.fetch(prefix + sql.replace("%s", "?"), list(params))
    except Exception as exc:  # noqa: BLE001 - a plan is a nicety: say why there is none
        return [f"(no plan: {exc})"]
    return [str(r[-1]) if not postgres else str(r[0]) for r in rows]


def short(sql: str, width: int = 110) -> str:
    sql = " ".join(sql.split())
    ranked = sql.startswith("SELECT * FROM (")  # a top-N report: the report, ordered and cut
    if ranked:
        sql = sql.removeprefix("SELECT * FROM (")
    if sql.startswith("SELECT") and " FROM usage_" in sql and "SUM(" in sql.partition(" FROM ")[0]:
        head, _, tail = sql.partition(" FROM ")
        dims = head[:head.index("SUM(")].removeprefix("SELECT ").rstrip(", ")
        sql = f"{'(top) ' if ranked else ''}SELECT {dims or '(totals)'}{', ' if dims else ' '}SUM(...) FROM {tail}"
    return sql if len(sql) <= width else sql[:width - 3] + "..."


def _param(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text[:19] if len(text) >= 19 and text[4:5] == "-" else text[:24]


def print_diagnosis(results: list[Diagnosis], http: dict[str, float], ledger: Ledger, postgres: bool) -> None:
    rows = []
    for r in results:
        rows.append((r.name, ms(http[r.path]), ms(r.direct), ms(r.sql), ms(r.refresh), ms(r.direct - r.sql - r.refresh),
                     ms(r.json), ms(http[r.path] - r.direct - r.json), r.statements, ms(r.slowest[1])))
    print(table(("panel", "HTTP ms", "handler ms", "SQL ms", "refresh ms", "Python ms", "JSON ms", "rest ms",
                 "statements", "slowest SQL ms"), rows))
    print("  handler: the panel's function called directly (median); SQL: its statements' execute + fetch; refresh:"
          " the rollup's catch-up check; Python: handler - SQL - refresh; JSON: writing the payload; rest: HTTP -"
          " handler - JSON (uvicorn, Starlette, the thread hop, httpx2).")
    for r in results:
        if not r.profile:
            continue
        print(f"\n  {r.name} ({r.path}): handler {ms(r.direct)} ms, SQL {ms(r.sql)} ms in {r.statements} statements:")
        groups: list[list[Any]] = []  # consecutive runs of one statement (a session's calls, one per session)
        for sql, seconds, params in r.log:
            if groups and groups[-1][0] == sql:
                groups[-1][1] += seconds
                groups[-1][3] += 1
            else:
                groups.append([sql, seconds, params, 1])
        for sql, seconds, params, count in groups:
            times = f"{count} x, " if count > 1 else ""
            more = ", ..." if count > 1 else ""
            print(f"    {ms(seconds):>8} ms  {times}{short(sql)}  [{', '.join(_param(v) for v in params)}{more}]")
        sql, _, params = r.slowest
        print("    plan of the slowest:")
        for line in explain(ledger, sql, params, postgres):
            print(f"      {line}")
        print("    profile (own time, top 8):")
        print(r.profile)


# -- a run ----------------------------------------------------------------------------------------------------------
def run(label: str, url: str, sqlite_path: Path, now: datetime, n: int, rounds: int, loop: str,
        reset_rollup: bool, postgres: bool) -> None:
    import httpx2

    ledger = Ledger.open(url)
    served = serve(ledger, now, loop)
    since = now - timedelta(days=30)
    if postgres:
        import psycopg

        raw: Any = psycopg.connect(url, autocommit=True)
        baseline_params: tuple[Any, ...] = (since,)
        baseline_sql = BASELINE_SQL.replace("substr(ts, 1, 10)", "date_trunc('day', ts)").replace("?", "%s")
    else:
        raw = sqlite3.connect(sqlite_path)
        baseline_params, baseline_sql = (SQLiteDialect().ts_in(since),), BASELINE_SQL
    baseline = lambda: raw.execute(baseline_sql, baseline_params).fetchall()  # noqa: E731
    try:
        with httpx2.Client(base_url=served.base, timeout=600) as client:
            get(client, ME)  # the connection, the thread pool, the read connection's first open
            if reset_rollup:  # as bench_report: fold every stored event on the first request, from an empty rollup
                with raw:
                    raw.execute("DELETE FROM usage_daily")
                    raw.execute("UPDATE llmledger_rollup_state SET watermark = 0")
            cold = timed(lambda: get(client, "/api/v1/summary"))
            everything = OVERVIEW + OTHERS + FILTERED
            t, base, me = measure(client, everything, rounds, baseline)
        b = median(base)
        print(f"\ndashboard benchmark ({label}): {n:,} events, 'now' pinned at {now:%Y-%m-%d %H:%M:%S} UTC (the newest"
              f" event), since=30d, {rounds} rounds each, uvicorn loop={loop}")
        headers = ("GET", "median ms", "max ms", "x baseline", "bytes", f"target < {TARGET_MS:g} ms")
        rows = rows_for(OVERVIEW, t, b, target=True)
        rows.append(("-- other pages (no target)", "", "", "", "", ""))
        rows += rows_for(OTHERS, t, b, target=False)
        rows.append((f"-- Overview with where=tenant={TENANT} (no target)", "", "", "", "", ""))
        rows += rows_for(FILTERED, t, b, target=False)
        rows.append(("-- reference", "", "", "", "", ""))
        rows.append(("first request, cold: /api/v1/summary" + (" (folds all events into the rollup)"
                                                                if reset_rollup else ""), ms(cold), ms(cold),
                     ratio(cold, b), "", ""))
        rows.append(("HTTP overhead: GET /api/v1/me", ms(median(me)), ms(max(me)), ratio(median(me), b), "", ""))
        rows.append(("baseline: plain GROUP BY day: COUNT, SUM(cost) since 30d", ms(b), ms(max(base)), "1.0x", "", ""))
        print(table(headers, rows))
        missed = [name for name, path in OVERVIEW if median(t.times[path]) * 1000 >= TARGET_MS]
        worst = max(OVERVIEW, key=lambda e: median(t.times[e[1]]))
        print(f"\ntarget: every Overview panel < {TARGET_MS:g} ms over {n:,} events: {verdict(not missed)} "
              f"(slowest: {worst[0]}, {ms(median(t.times[worst[1]]))} ms median)"
              + (f"; missed by: {', '.join(missed)}" if missed else ""))

        print(f"\ndiagnosis ({label}): each panel's handler in-process, no HTTP; profiles for panels over "
              f"{TARGET_MS:g} ms")
        probe = Probe(ledger)
        http = {path: median(ts) for path, ts in t.times.items()}
        results = [diagnose(served, ledger, probe, name, path, rounds, profile=http[path] * 1000 >= TARGET_MS)
                   for name, path in everything]
        print_diagnosis(results, http, ledger, postgres)
    finally:
        served.stop()
        raw.close()
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("-n", type=int, default=1_000_000, help="events in the ledger")
    parser.add_argument("--days", type=float, default=90, help="the events' time span, up to now")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, help="SQLite file to build (or reuse when it already holds n events)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default=None,
                        help="uvicorn's event loop (default: uvloop when installed, as uvicorn picks)")
    parser.add_argument("--postgres", action="store_true", help="also a PostgreSQL ledger of the same events")
    args = parser.parse_args()
    n, rounds = (50_000, 3) if args.quick else (args.n, args.rounds)
    loop = args.loop
    if loop is None:
        try:
            import uvloop  # noqa: F401

            loop = "uvloop"
        except ImportError:
            loop = "asyncio"

    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp:
        path = args.db or Path(tmp) / "ledger.db"
        have = stored(path)
        if have == n and sessions_stored(path):
            print(f"reusing {path} with {n:,} events")
        else:
            if have:
                raise SystemExit(f"{path} holds {have:,} events{'' if have != n else ' but no sessions'}, not the "
                                 f"{n:,} this benchmark builds: remove it or pass another --db")
            build(f"sqlite:///{path}", n, args.days, datetime.now(UTC))
        now = newest(path) + timedelta(seconds=1)
        run("SQLite", f"sqlite:///{path}", path, now, n, rounds, loop, reset_rollup=True, postgres=False)
        if args.postgres:
            run_postgres(f"sqlite:///{path}", path, now, n, rounds, loop)


def run_postgres(source: str, path: Path, now: datetime, n: int, rounds: int, loop: str) -> None:
    try:
        from tests.servers import start_postgres

        server = start_postgres()
    except Exception as exc:  # noqa: BLE001 - no server binaries on this machine: report and go on
        print(f"\nPostgreSQL skipped: {exc}")
        return
    try:
        url = server.create_database("dashboard")
        copy_to_postgres(source, url)
        run("PostgreSQL", url, path, now, n, rounds, loop, reset_rollup=False, postgres=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
