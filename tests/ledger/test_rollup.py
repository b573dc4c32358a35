"""The daily rollup must always answer exactly what the events answer."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmledger.ledger import Ledger, ReportQuery, parse_where
from llmledger.ledger.query import DAILY, DIMS, EVENTS
from llmledger.ledger.rollup import plan
from llmledger.pricing import PriceBook
from llmledger.usage import Usage

from .helpers import T0, make_event


@pytest.fixture
def ledger(tmp_path):
    """The rollup is SQLite's: these tests run on SQLite only."""
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", spool_dir=tmp_path / "spool",
                     flush_interval=0.02) as opened:
        yield opened


@pytest.fixture
def ledger_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.db'}"


MODELS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5"), ("openai", "unknown-model-x")]


def random_events(prices: PriceBook, n: int, seed: int):
    rng = random.Random(seed)
    events = []
    for _ in range(n):
        provider, model = rng.choice(MODELS)
        tags = {k: rng.choice(["a", "b"]) for k in ("feature", "tenant", "user", "q") if rng.random() < 0.7}
        usage = Usage(input=rng.randint(0, 5000), cache_read=rng.randint(0, 2000), output=rng.randint(0, 800),
                      reasoning=rng.randint(0, 300), cache_write_1h=rng.choice([0, 0, 100]))
        events.append(make_event(prices, provider=provider, model=model, usage=usage, tags=tags,
                                 at=T0 + timedelta(minutes=rng.randint(0, 60 * 24 * 10)),
                                 status=rng.choice(["ok", "ok", "error"]), session_id=rng.choice([None, "s1"])))
    return events


QUERIES = [
    ReportQuery(),
    ReportQuery(by=("feature", "day")),
    ReportQuery(by=("model", "week"), where=parse_where(["tenant=a"])),
    ReportQuery(by=("user",), since=T0 + timedelta(hours=30), until=T0 + timedelta(days=6, hours=5)),
    ReportQuery(by=("month", "cost_status"), since=T0 + timedelta(days=2)),
    ReportQuery(by=("status",), where=parse_where(["feature!=a"]), until=T0 + timedelta(days=3, minutes=7)),
    ReportQuery(by=("q",)),  # a JSON tag: the rollup cannot answer, the events do
    ReportQuery(by=("hour",), since=T0 + timedelta(days=1), until=T0 + timedelta(days=1, hours=6)),
]


@pytest.mark.parametrize("query", QUERIES)
def test_rollup_answers_exactly_what_the_events_answer(ledger, prices, query):
    events = random_events(prices, 400, seed=3)
    for i in range(0, len(events), 97):
        ledger.write(events[i:i + 97])
    ledger.write(events[:150])  # duplicates must not count twice in the rollup
    assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
    assert ledger.store.report(query)


def test_rollup_follows_recompute(ledger, prices):
    from llmledger.pricing import PriceOverride

    events = random_events(prices, 200, seed=5)
    ledger.write(events)
    book = PriceBook([PriceOverride.from_mapping({"provider": "openai", "model": "unknown-*", "input_mtok": 1,
                                                   "output_mtok": 2})])
    ledger.recompute(book, ReportQuery(since=T0 - timedelta(days=1)))
    query = ReportQuery(by=("model", "day"))
    assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
    assert all(row["unpriced"] == 0 for row in ledger.report(query))


def test_rollup_follows_spool_replay(ledger_url, prices, tmp_path):
    events = random_events(prices, 50, seed=9)
    with Ledger.open(ledger_url, spool_dir=tmp_path / "spool", flush_interval=0.01) as ledger:
        ledger.write(events[:20])
        ledger.writer._spool(events, RuntimeError("simulated"))
        assert ledger.flush(timeout=10)
        query = ReportQuery(by=("feature", "day"))
        assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
        assert sum(r["requests"] for r in ledger.report(query)) == 50


def test_migration_fills_the_rollup_from_existing_events(ledger_url, prices):
    with Ledger.open(ledger_url) as ledger:
        ledger.write(random_events(prices, 120, seed=11))
        conn = ledger.store._write_connection()
        with ledger.store._transaction(conn):
            cur = conn.cursor()
            cur.execute("DROP TABLE usage_daily")
            cur.execute("DROP TABLE llmledger_rollup_state")
            cur.execute("DELETE FROM llmledger_migrations WHERE name = '0002_usage_daily'")
        assert ledger.store.migrate() == ["0002_usage_daily"]
        query = ReportQuery(by=("tenant", "day"))
        assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)


def test_plan_reads_whole_days_from_the_rollup_and_edges_from_events():
    since = datetime(2026, 11, 1, 15, tzinfo=UTC)
    until = datetime(2026, 11, 5, 9, tzinfo=UTC)
    parts = plan(ReportQuery(by=("feature", "model", "day"), since=since, until=until))
    assert [(s, q.since, q.until) for s, q in parts] == [
        (DAILY, datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)),
        (EVENTS, since, datetime(2026, 11, 2, tzinfo=UTC)),
        (EVENTS, datetime(2026, 11, 5, tzinfo=UTC), until),
    ]
    # one dimension (or none: totals) at most, grouped and filtered: the per-dimension rollup
    assert plan(ReportQuery(by=("day",), since=datetime(2026, 11, 1, tzinfo=UTC)))[0][0] == DIMS.of("provider")
    assert [s for s, _ in plan(ReportQuery(by=("session",)))] == [DIMS.of("session")]
    assert [s for s, _ in plan(ReportQuery(by=("user", "week"), where=parse_where(["user!=a"])))] == [DIMS.of("user")]
    assert [s for s, _ in plan(ReportQuery(by=("user",), where=parse_where(["tenant=a"])))] == [EVENTS]
    assert [s for s, _ in plan(ReportQuery(by=("tenant",), where=parse_where(["model=m"])))] == [DAILY]
    assert [s for s, _ in plan(ReportQuery(by=("hour",)))] == [EVENTS]
    assert [s for s, _ in plan(ReportQuery(since=since, until=since + timedelta(hours=3)))] == [EVENTS]


_BOOK = PriceBook()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    by=st.lists(st.sampled_from(["feature", "tenant", "user", "model", "day", "week", "month", "status",
                                 "cost_status", "provider", "session"]), max_size=3, unique=True),
    since_h=st.one_of(st.none(), st.integers(0, 240)),
    span_h=st.one_of(st.none(), st.integers(1, 240)),
    where=st.lists(st.sampled_from(["tenant=a", "feature!=b", "user=b", "model=gpt-4o-mini", "session=s1",
                                    "user!=a"]), max_size=2),
    limit=st.one_of(st.none(), st.integers(1, 3)),
)
def test_any_rollup_report_equals_the_events_report(tmp_path_factory, seed, by, since_h, span_h, where, limit):
    path = tmp_path_factory.mktemp("rollup") / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger:
        ledger.write(random_events(_BOOK, 150, seed))
        since = T0 + timedelta(hours=since_h, minutes=13) if since_h is not None else None
        until = (since or T0) + timedelta(hours=span_h) if span_h is not None else None
        query = ReportQuery(by=tuple(by), since=since, until=until, where=parse_where(where))
        full = ledger.store.report(query, use_rollup=False)
        assert ledger.store.report(query) == full
        if limit is not None:  # the costliest rows, ranked exactly (ties in the report's own order)
            top = replace(query, limit=limit)
            assert ledger.store.report(top) == ledger.store.report(top, use_rollup=False) == full[:limit]


def test_the_writer_folds_the_rollup_when_idle(ledger, prices):
    for event in random_events(prices, 30, seed=2):
        ledger.record(event)
    assert ledger.flush(timeout=10)
    deadline = time.monotonic() + 10
    conn = ledger.store._read_connection()
    while conn.execute("SELECT watermark FROM llmledger_rollup_state").fetchone()[0] == 0:
        assert time.monotonic() < deadline, "the idle writer never folded the rollup"
        time.sleep(0.02)
    assert conn.execute("SELECT SUM(calls) FROM usage_daily").fetchone()[0] == 30


@pytest.fixture
def pg_ledger(postgres):
    url = postgres.create_database(f"rollup_pg_{time.monotonic_ns()}")
    with Ledger.open(url) as opened:
        yield opened


def _rollup_sources(ledger, query):
    return {source.table for source, _ in plan(query, ledger.store.stale_days())}


@pytest.mark.postgres
def test_postgres_rollups_answer_exactly_what_the_events_answer(pg_ledger, prices):
    from llmledger.pricing import PriceOverride

    ledger = pg_ledger
    ledger.write(random_events(prices, 300, seed=4))
    stale = ledger.store.stale_days()
    assert len(stale) == 11  # T0 plus ten days: every day written is marked until it is computed
    for query in QUERIES:  # marked days read the events: right before any recompute
        assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
    ledger.store.refresh_rollup()
    assert ledger.store.stale_days() == frozenset()
    assert _rollup_sources(ledger, ReportQuery(by=("user",))) == {"usage_daily_dims"}
    for query in QUERIES:
        assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False), query
        top = replace(query, limit=2)
        assert ledger.store.report(top) == ledger.store.report(query, use_rollup=False)[:2]
    # a late write into an old day marks that day only; reports stay exact before and after it is recomputed
    ledger.write(random_events(prices, 5, seed=8)[:1])
    assert len(ledger.store.stale_days()) == 1
    assert _rollup_sources(ledger, ReportQuery(by=("feature",))) == {"usage_daily_dims", "usage_events"}
    query = ReportQuery(by=("feature", "day"))
    assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
    # re-pricing marks the days it changed
    book = PriceBook([PriceOverride.from_mapping({"provider": "openai", "model": "unknown-*", "input_mtok": 1,
                                                   "output_mtok": 2})])
    ledger.recompute(book)
    assert len(ledger.store.stale_days()) == 11
    ledger.store.refresh_rollup()
    for query in QUERIES:
        assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
    assert all(row["unpriced"] == 0 for row in ledger.report(ReportQuery(by=("model",))))


@pytest.mark.postgres
def test_postgres_rollups_stay_exact_under_concurrent_writes_and_recomputes(postgres, prices):
    import threading

    url = postgres.create_database("rollup_pg_race")
    batches = [random_events(prices, 40, seed=100 + i) for i in range(12)]
    with Ledger.open(url) as writer, Ledger.open(url) as other:
        done = threading.Event()

        def recompute() -> None:
            while not done.is_set():
                other.store.refresh_rollup()

        thread = threading.Thread(target=recompute)
        thread.start()
        try:
            for batch in batches:
                writer.write(batch)
                writer.store.refresh_rollup()
        finally:
            done.set()
            thread.join()
        writer.store.refresh_rollup()
        assert writer.store.stale_days() == frozenset()
        query = ReportQuery(by=("tenant", "day"))
        assert writer.store.report(query) == writer.store.report(query, use_rollup=False)
        assert sum(r["requests"] for r in writer.report(ReportQuery(by=("user",)))) == 480


def test_the_fold_goes_in_slices(ledger, prices, monkeypatch):
    import llmledger.ledger.sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "_FOLD_SLICE", 7)
    folds = []
    fold = ledger.store._fold_new
    monkeypatch.setattr(ledger.store, "_fold_new", lambda conn, most=None: folds.append(most) or fold(conn, most))
    ledger.write(random_events(prices, 100, seed=21))
    ledger.store.refresh_rollup()
    assert folds == [7] * 15  # 14 slices of 7 and one of 2, each in its own transaction
    conn = ledger.store._read_connection()
    assert conn.execute("SELECT watermark FROM llmledger_rollup_state").fetchone()[0] == 100
    for query in QUERIES:
        assert ledger.store.report(query) == ledger.store.report(query, use_rollup=False)
