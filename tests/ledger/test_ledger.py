"""The same ledger tests run against SQLite and a real PostgreSQL server (the `ledger` fixture)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from llmledger.errors import ConfigError, StoreUnavailable
from llmledger.ledger import Ledger, ReportQuery, open_store, parse_where
from llmledger.ledger.migrations import MIGRATIONS
from llmledger.pricing import Cost
from llmledger.usage import Usage

from .helpers import T0, make_event, spread


def test_events_round_trip_exactly(ledger, prices):
    event = make_event(
        prices, tags={"feature": "search", "tenant": "acme", "user": "u42", "query_type": "faq"},
        session_id="s1", trace_id="t1", parent_id="p0", latency_ms=812, key_id="vk_1", request_id="req_9",
        service_tier="default", source="gateway",
    )
    assert ledger.write([event]) == 1
    (stored,) = ledger.events()
    assert stored == event
    assert stored.cost.total == event.cost.total  # exact Decimal, not a float
    assert isinstance(stored.cost.total, Decimal)


def test_write_is_idempotent(ledger, prices):
    events = spread(prices, 5)
    assert ledger.write(events) == 5
    assert ledger.write(events) == 0
    assert ledger.write([*events, *events]) == 0
    assert ledger.count() == 5


def test_duplicate_ids_within_one_batch_store_one_row(ledger, prices):
    event = make_event(prices)
    assert ledger.write([event, event, event]) == 1


def test_unpriced_event_is_stored_as_unpriced_not_zero(ledger, prices):
    event = make_event(prices, model="my-own-model-v9", provider="openai")
    assert event.cost.status == "unpriced" and event.cost.total is None
    ledger.write([event])
    (stored,) = ledger.events()
    assert stored.cost.status == "unpriced" and stored.cost.total is None
    (row,) = ledger.report(ReportQuery())
    assert row["unpriced"] == 1 and row["cost"] == 0 and row["requests"] == 1


def test_background_writer_records_and_flushes(ledger, prices):
    for event in spread(prices, 50):
        ledger.record(event)
    assert ledger.flush(timeout=10)
    assert ledger.count() == 50
    assert ledger.writer.stats.written == 50


def test_report_groups_sums_and_filters(ledger, prices):
    acme = [make_event(prices, at=T0 + timedelta(days=d), tags={"feature": "chat", "tenant": "acme"}) for d in range(3)]
    beta = [make_event(prices, model="gpt-4o", at=T0, tags={"feature": "search", "tenant": "beta", "q": "x"})]
    ledger.write([*acme, *beta])

    rows = ledger.report(ReportQuery(by=("feature", "model")))
    by_feature = {r["feature"]: r for r in rows}
    assert by_feature["chat"]["requests"] == 3
    assert by_feature["chat"]["cost"] == sum((e.cost.total for e in acme), Decimal(0))
    assert by_feature["search"]["cost"] == beta[0].cost.total
    assert rows[0]["cost"] >= rows[1]["cost"]  # most expensive first

    usage = acme[0].usage
    chat = by_feature["chat"]
    assert chat["input_tokens"] == 3 * usage.total_input
    assert chat["output_tokens"] == 3 * usage.total_output
    assert chat["cache_read_tokens"] == 3 * usage.cache_read
    assert chat["cached_share"] == (Decimal(usage.cache_read) / usage.total_input).quantize(Decimal("0.0001"))
    cost = acme[0].cost
    assert chat["input_cost"] == 3 * (cost.input + cost.cache_read + cost.cache_write + cost.audio_in)
    assert chat["output_cost"] == 3 * (cost.output + cost.reasoning + cost.audio_out)

    daily = ledger.report(ReportQuery(by=("day",), where=parse_where(["tenant=acme"])))
    assert [r["day"] for r in daily] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert ledger.report(ReportQuery(by=("q",), where=parse_where(["q=x"])))[0]["requests"] == 1
    assert ledger.report(ReportQuery(where=parse_where(["tenant!=acme"])))[0]["requests"] == 1
    assert ledger.report(ReportQuery(where=parse_where(["q!=x"])))[0]["requests"] == 3
    since = ledger.report(ReportQuery(since=T0 + timedelta(days=1)))
    assert since[0]["requests"] == 2
    assert ledger.report(ReportQuery(until=T0 + timedelta(days=1)))[0]["requests"] == 2


def test_report_time_buckets(ledger, prices):
    ledger.write([make_event(prices, at=T0 + timedelta(hours=h)) for h in (0, 1, 1, 24 * 9)])
    hours = ledger.report(ReportQuery(by=("hour",)))
    assert [(r["hour"], r["requests"]) for r in hours] == [
        ("2026-11-01T12:00", 1), ("2026-11-01T13:00", 2), ("2026-11-10T12:00", 1)]
    weeks = ledger.report(ReportQuery(by=("week",)))  # weeks start on Monday
    assert [(r["week"], r["requests"]) for r in weeks] == [("2026-10-26", 3), ("2026-11-09", 1)]
    assert ledger.report(ReportQuery(by=("month",)))[0]["month"] == "2026-11"


def test_empty_ledger_reports_nothing(ledger):
    assert ledger.report(ReportQuery()) == []
    assert ledger.report(ReportQuery(by=("feature",))) == []


@pytest.mark.parametrize("use_rollup", [True, False])
def test_report_money_sums_do_not_overflow(ledger, use_rollup):
    # 100 days × 100 events × $50,000: $500M = 5e20 pico-dollars, far past a 64-bit integer sum.
    big = Cost(status="priced", total=Decimal("50000.000000000001"), input=Decimal("50000.000000000001"))
    from llmledger.events import UsageEvent

    events = [UsageEvent(provider="openai", model="x", usage=Usage(input=1), cost=big, ts=T0 + timedelta(days=d))
              for d in range(100) for _ in range(100)]
    ledger.write(events)
    (row,) = ledger.store.report(ReportQuery(), use_rollup=use_rollup)
    assert row["cost"] == Decimal("500000000.00000001") and row["input_cost"] == row["cost"]


def test_recompute_applies_new_prices(ledger, prices):
    from llmledger.pricing import PriceBook, PriceOverride

    events = [make_event(prices, model="acme-ft-model", at=T0), make_event(prices, at=T0)]
    ledger.write(events)
    assert ledger.report(ReportQuery())[0]["unpriced"] == 1
    book = PriceBook([PriceOverride.from_mapping(
        {"provider": "openai", "model": "acme-ft-*", "input_mtok": "0.30", "output_mtok": 1.2, "from": "2026-01-01"})])
    checked, changed = ledger.recompute(book, ReportQuery(since=T0 - timedelta(days=1)))
    assert (checked, changed) == (2, 1)
    repriced = {e.model: e for e in ledger.events()}["acme-ft-model"]
    u = events[0].usage
    assert repriced.cost.status == "priced"
    assert repriced.cost.input == Decimal(u.input) * Decimal("0.30") / 1_000_000
    assert repriced.cost.cache_read == Decimal(u.cache_read) * Decimal("0.30") / 1_000_000  # no cache price: input
    assert repriced.cost.reasoning == Decimal(u.reasoning) * Decimal("1.2") / 1_000_000
    assert repriced.cost.price_version == "override openai/acme-ft-* from 2026-01-01"
    assert ledger.recompute(book, ReportQuery(since=T0 - timedelta(days=1))) == (2, 0)


def test_migrations_are_recorded_and_not_reapplied(ledger_url):
    store = open_store(ledger_url)
    try:
        assert store.migrate() == [m.name for m in MIGRATIONS]
        assert store.migrate() == []
    finally:
        store.close()


def test_unreachable_databases_fail_clearly(tmp_path):
    with pytest.raises(StoreUnavailable, match="does not exist"):
        Ledger.open(f"sqlite:///{tmp_path}/missing-dir/ledger.db")
    with pytest.raises(StoreUnavailable, match=r"cannot connect to the PostgreSQL ledger at postgresql://u:\*\*\*@"):
        Ledger.open("postgresql://u:secret@127.0.0.1:1/db")
    with pytest.raises(ConfigError, match="unsupported database URL mysql://"):
        Ledger.open("mysql://x")


def test_bad_dimension_names_are_refused():
    with pytest.raises(ConfigError, match="not a valid dimension"):
        parse_where(["x'; DROP TABLE usage_events; --=1"])
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_where(["tenant"])


def test_filters_on_several_values_on_unset_and_a_top_n(ledger, prices):
    from llmledger.ledger import Filter

    events = [make_event(prices, at=T0 + timedelta(minutes=i), tags={"user": u, "q": "x"} if u else {"q": "y"})
              for i, u in enumerate(["a", "a", "b", "c", None, None, None])]
    ledger.write(events)

    def calls(*filters):
        rows = ledger.report(ReportQuery(where=filters))
        return rows[0]["requests"] if rows else 0

    assert calls(Filter("user", ("a", "c"))) == 3
    assert calls(Filter("user", ("a", "c"), negate=True)) == 4  # b and the three without a user
    assert calls(Filter("user", None)) == 3 and calls(Filter("user", None, negate=True)) == 4
    assert calls(Filter("q", ("x",))) == 4 and calls(Filter("q", ("x",), negate=True)) == 3  # a JSON tag
    assert calls(Filter("user", ())) == 0 and calls(Filter("user", (), negate=True)) == 7
    top = ledger.report(ReportQuery(by=("user",), limit=2))
    assert [(r["user"], r["requests"]) for r in top] == [(None, 3), ("a", 2)]


def test_a_top_n_report_is_the_head_of_the_full_report(ledger, prices):
    import random

    rng = random.Random(5)
    ledger.write([make_event(prices, at=T0 + timedelta(minutes=i), model=rng.choice(["gpt-4o-mini", "gpt-4o"]),
                             usage=Usage(input=rng.choice([100, 200, 300]), output=10),
                             tags={k: rng.choice("abcd") for k in ("user", "tenant", "q") if rng.random() < 0.8},
                             session_id=rng.choice([None, "s1", "s2", "s3"]))
                  for i in range(300)])
    for by in (("user",), ("session",), ("q",), ("tenant", "model"), ("day", "user")):
        for where in ((), parse_where(["tenant=a"]), parse_where(["q!=b"])):
            for since in (None, T0 + timedelta(hours=2, minutes=7)):
                query = ReportQuery(by=by, where=where, since=since)
                full = ledger.report(query)
                for limit in (1, 2, 5):
                    assert ledger.report(ReportQuery(by=by, where=where, since=since, limit=limit)) == full[:limit]
