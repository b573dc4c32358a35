"""The dashboard's JSON API over a ledger with known contents (SQLite and PostgreSQL): every figure checked
against the events themselves, exports against the JSON, and the OpenAPI description against the routes."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmledger.alerts.channels import Alert
from llmledger.alerts.store import AlertStore

from .conftest import NOW, Served
from .oracle import money, pick, totals

MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
LAST_MONTH = datetime(2026, 10, 1, tzinfo=UTC)


def test_summary_matches_the_events(served: Served) -> None:
    with served.admin() as api:
        got = api.get("/api/v1/summary").json()
        week = api.get("/api/v1/summary", params={"since": "7d", "where": "tenant=acme"}).json()
    want = totals(pick(served.events, NOW - timedelta(days=30), NOW))
    assert {k: got[k] for k in want if k != "cost"} == {k: v for k, v in want.items() if k != "cost"}
    assert money(got["cost"]) == want["cost"] and want["unpriced"] > 0 and want["errors"] > 0
    priced = want["requests"] - want["unpriced"]
    assert money(got["cost_per_request"]) == (want["cost"] / priced).quantize(Decimal("0.000001"))
    tokens = want["input_tokens"] + want["output_tokens"]
    assert money(got["cost_per_1k_tokens"]) == (want["cost"] * 1000 / tokens).quantize(Decimal("0.000001"))
    assert Decimal(got["cached_share"]) == (Decimal(want["cache_read_tokens"]) / want["input_tokens"]).quantize(
        Decimal("0.0001"))
    acme = totals(pick(served.events, NOW - timedelta(days=7), NOW, tenant="acme"))
    assert (week["requests"], money(week["cost"])) == (acme["requests"], acme["cost"])


def test_the_split_adds_up(served: Served) -> None:
    with served.admin() as api:
        s = api.get("/api/v1/summary", params={"since": "60d"}).json()
    events = pick(served.events, NOW - timedelta(days=60), NOW)
    assert money(s["cache_read_cost"]) == sum((e.cost.cache_read or 0 for e in events), Decimal(0)) > 0
    assert money(s["reasoning_cost"]) == sum((e.cost.reasoning or 0 for e in events), Decimal(0)) > 0
    assert money(s["input_cost"]) + money(s["output_cost"]) == money(s["cost"])


def test_breakdown_by_one_and_two_dimensions(served: Served) -> None:
    since = NOW - timedelta(days=30)
    with served.admin() as api:
        by_tenant = api.get("/api/v1/breakdown", params={"by": "tenant"}).json()
        pairs = api.get("/api/v1/breakdown", params={"by": "feature,model", "limit": 3}).json()
        users = api.get("/api/v1/breakdown", params={"by": "user", "limit": 5}).json()
    for row in by_tenant["rows"]:
        want = totals(pick(served.events, since, NOW, tenant=row["tenant"]))
        assert (row["requests"], money(row["cost"])) == (want["requests"], want["cost"])
    assert money(by_tenant["total"]["cost"]) == totals(pick(served.events, since, NOW))["cost"]
    assert pairs["by"] == ["feature", "model"] and len(pairs["rows"]) == 3 and pairs["truncated"]
    groups: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in pick(served.events, since, NOW):
        groups[(e.tags["feature"], e.model)] += e.cost.total or 0
    top = sorted(groups.items(), key=lambda kv: -kv[1])[:3]
    assert [((r["feature"], r["model"]), money(r["cost"])) for r in pairs["rows"]] == top
    costs = [money(r["cost"]) for r in users["rows"]]
    assert len(costs) == 5 and costs == sorted(costs, reverse=True)


def test_timeseries_days_cumulative_budget_and_forecast(served: Served) -> None:
    with served.admin() as api:
        ts = api.get("/api/v1/timeseries", params={"unit": "day", "group": "model"}).json()
        hours = api.get("/api/v1/timeseries", params={"unit": "hour", "since": "24h"}).json()
    since = NOW - timedelta(days=30)
    assert ts["buckets"][0] == "2026-10-21" and ts["buckets"][-1] == "2026-11-20" and len(ts["buckets"]) == 31
    assert {s["name"] for s in ts["series"]} == {"gpt-4o-mini", "claude-sonnet-4-5", "gpt-4.1", "llama-local"}
    per_day: dict[str, Decimal] = defaultdict(Decimal)
    for e in pick(served.events, since, NOW):
        per_day[e.ts.strftime("%Y-%m-%d")] += e.cost.total or 0
    assert [money(v) for v in ts["total"]] == [per_day.get(b, Decimal(0)) for b in ts["buckets"]]
    assert sum(money(v) for s in ts["series"] for v in s["values"]) == sum(per_day.values())
    assert sum(ts["calls"]) == totals(pick(served.events, since, NOW))["requests"]  # unpriced calls count too
    # month to date at each day's end, restarting on the 1st
    assert money(ts["cumulative"][-1]) == totals(pick(served.events, MONTH_START, NOW))["cost"]
    october_end = ts["buckets"].index("2026-10-31")
    assert money(ts["cumulative"][october_end]) == totals(pick(served.events, LAST_MONTH, MONTH_START))["cost"]
    assert ts["budget_line"] == ["50"] * 31
    days = [f["bucket"] for f in ts["forecast"]]
    assert days[0] == "2026-11-20" and days[-1] == "2026-11-30"
    assert all(money(f["low"]) <= money(f["expected"]) <= money(f["high"]) for f in ts["forecast"])
    assert len(hours["buckets"]) == 24 and hours["buckets"][-1] == "2026-11-20T11:00"
    assert sum(money(v) for v in hours["total"]) == totals(pick(served.events, NOW - timedelta(hours=24), NOW))["cost"]


def test_month_against_last_month_with_budget(served: Served) -> None:
    with served.admin() as api:
        m = api.get("/api/v1/month").json()
        acme = api.get("/api/v1/month", params={"where": "tenant=acme"}).json()
    mtd = totals(pick(served.events, MONTH_START, NOW))["cost"]
    before = totals(pick(served.events, LAST_MONTH, LAST_MONTH + (NOW - MONTH_START)))["cost"]
    assert (m["month"], money(m["month_to_date"]), money(m["last_month_same_period"])) == ("2026-11", mtd, before)
    assert money(m["last_month_total"]) == totals(pick(served.events, LAST_MONTH, MONTH_START))["cost"]
    assert Decimal(m["change"]) == ((mtd - before) / before).quantize(Decimal("0.0001"))
    assert m["budget"] == {"name": "org-monthly", "limit": "50", "window": "month"}
    assert money(m["forecast"]["low"]) <= money(m["forecast"]["expected"]) <= money(m["forecast"]["high"])
    assert acme["budget"]["name"] == "acme-monthly"
    assert money(acme["month_to_date"]) == totals(pick(served.events, MONTH_START, NOW, tenant="acme"))["cost"]


def test_request_table_pages_cover_every_call_once(served: Served) -> None:
    seen, cursor = [], None
    with served.admin() as api:
        while True:
            page = api.get("/api/v1/events", params={"limit": 37, **({"cursor": cursor} if cursor else {})}).json()
            seen += page["rows"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    want = sorted(pick(served.events, NOW - timedelta(days=30), NOW), key=lambda e: (e.ts, e.id), reverse=True)
    assert [r["id"] for r in seen] == [e.id for e in want]
    unpriced = next(r for r in seen if r["cost_status"] == "unpriced")
    assert unpriced["cost"] is None  # never shown as $0
    first = want[0]
    assert seen[0]["input_tokens"] == first.usage.total_input and seen[0]["tags"] == first.tags


def test_histograms_count_every_call_in_its_bin(served: Served) -> None:
    with served.admin() as api:
        inputs = api.get("/api/v1/histogram", params={"field": "input_tokens"}).json()
        costs = api.get("/api/v1/histogram", params={"field": "cost"}).json()
    events = pick(served.events, NOW - timedelta(days=30), NOW)
    for bins, value in ((inputs["bins"], lambda e: e.usage.total_input),
                        (costs["bins"], lambda e: e.cost.total)):
        counted = Counter()
        for e in events:
            v = value(e)
            if v is None:
                continue
            index = next(i for i, b in enumerate(bins)
                         if Decimal(str(b["low"])) <= v and (b["high"] is None or v < Decimal(str(b["high"]))))
            counted[index] += 1
        assert [b["count"] for b in bins] == [counted[i] for i in range(len(bins))]
    assert sum(b["count"] for b in costs["bins"]) == sum(e.cost.total is not None for e in events)


def test_sessions_and_one_session_in_order(served: Served) -> None:
    with served.admin() as api:
        listed = api.get("/api/v1/sessions").json()["sessions"]
        view = api.get("/api/v1/sessions/run-acme-1").json()
        missing = api.get("/api/v1/sessions/no-such-run")
    assert [s["session_id"] for s in listed] == ["run-acme-1", "run-globex-1"]
    calls = [e for e in served.events if e.session_id == "run-acme-1"]
    assert view["session"]["calls"] == 6 and view["session"]["input_per_call"] == [1000 * (k + 1) for k in range(6)]
    running = Decimal(0)
    for row, event in zip(view["calls"], calls, strict=True):
        running += event.cost.total
        assert (row["id"], money(row["cumulative_cost"])) == (event.id, running)
    assert money(view["session"]["cost"]) == running
    assert sorted(o["name"] for o in view["outcomes"]) == ["escalated", "ticket_resolved"]
    assert missing.status_code == 404 and "no-such-run" in missing.json()["error"]["message"]


def test_cost_per_outcome(served: Served) -> None:
    with served.admin() as api:
        rows = api.get("/api/v1/outcomes").json()["rows"]
        by_tenant = api.get("/api/v1/outcomes", params={"by": "tenant"}).json()["rows"]
    cost = {s: sum((e.cost.total for e in served.events if e.session_id == s), Decimal(0))
            for s in ("run-acme-1", "run-globex-1")}
    resolved = next(r for r in rows if r["outcome"] == "ticket_resolved")
    assert (resolved["outcomes"], resolved["sessions"]) == (3, 2)
    assert money(resolved["cost"]) == cost["run-acme-1"] + cost["run-globex-1"]
    assert money(resolved["cost_per_outcome"]) == (money(resolved["cost"]) / 3).quantize(Decimal("0.000001"))
    escalated = next(r for r in rows if r["outcome"] == "escalated")
    assert money(escalated["cost"]) == cost["run-acme-1"]
    acme = next(r for r in by_tenant if r["outcome"] == "ticket_resolved" and r["tenant"] == "acme")
    assert (acme["outcomes"], money(acme["cost"])) == (2, cost["run-acme-1"])


def test_dimensions_offer_custom_tags_and_values(served: Served) -> None:
    with served.admin() as api:
        dims = api.get("/api/v1/dimensions").json()
    assert "region" in dims["dimensions"] and "tenant" in dims["dimensions"]
    assert sorted(dims["values"]["tenant"]) == ["acme", "globex"]
    assert "llama-local" in dims["values"]["model"]


def test_live_rates_add_up_to_the_last_hours(served: Served) -> None:
    with served.admin() as api:
        live = api.get("/api/v1/live", params={"hours": 6}).json()
    start = datetime.fromisoformat(live["buckets"][0])
    events = pick(served.events, start, NOW)
    assert sum(money(v) for v in live["usd_per_hour"]) / 12 == totals(events)["cost"]
    want = totals(events)
    assert round(sum(live["tokens_per_second"]) * 300) == want["input_tokens"] + want["output_tokens"]
    hour = totals(pick(served.events, NOW - timedelta(hours=1), NOW))
    assert live["last_hour"]["requests"] == hour["requests"]
    assert live["unpriced"]["count_24h"] == totals(pick(served.events, NOW - timedelta(days=1), NOW))["unpriced"]
    assert live["spool"] == {"files": 0, "queued": 0}
    assert {row["name"] for row in live["top_now"]["model"]} >= {"gpt-4o-mini", "llama-local"}
    for row in live["top_now"]["model"]:
        want = totals(pick([e for e in served.events if e.model == row["name"]], NOW - timedelta(hours=1), NOW))
        assert (row["requests"], row["unpriced"], money(row["cost"])) == (want["requests"], want["unpriced"],
                                                                         want["cost"])


def test_alerts_listed(served: Served) -> None:
    store = AlertStore(served.ledger.store)
    for fingerprint, scope in (("budget:org", {}), ("budget:acme", {"tenant": "acme"})):
        store.claim(Alert("budgets", "budget", "page", f"over {fingerprint}", scope, {}, fingerprint,
                          NOW.isoformat()))
    with served.admin() as api:
        firing = api.get("/api/v1/alerts").json()["alerts"]
        live = api.get("/api/v1/live").json()["alerts"]
    assert sorted(a["fingerprint"] for a in firing) == ["budget:acme", "budget:org"] == sorted(
        a["fingerprint"] for a in live)


def test_exports_hold_the_same_rows(served: Served) -> None:
    with served.admin() as api:
        table = api.get("/api/v1/breakdown", params={"by": "tenant", "format": "csv"})
        rows = api.get("/api/v1/breakdown", params={"by": "tenant"}).json()["rows"]
        events_csv = api.get("/api/v1/events", params={"format": "csv", "where": "tenant=globex"})
        parquet = api.get("/api/v1/events", params={"format": "parquet", "since": "60d"})
        series = api.get("/api/v1/timeseries", params={"format": "csv", "group": "feature"})
    assert table.headers["content-disposition"] == 'attachment; filename="breakdown.csv"'
    read = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["tenant"], Decimal(r["cost"]), int(r["requests"])) for r in read] == \
        [(r["tenant"], money(r["cost"]), r["requests"]) for r in rows]
    exported = list(csv.DictReader(io.StringIO(events_csv.text)))
    globex = pick(served.events, NOW - timedelta(days=30), NOW, tenant="globex")
    assert sorted(r["id"] for r in exported) == sorted(e.id for e in globex)
    assert {r["tenant"] for r in exported} == {"globex"} and all(r["tags"] in ('{"region": "eu"}', '{"region": "us"}',
                                                                                 "{}") for r in exported)
    file = pq.read_table(io.BytesIO(parquet.content))
    assert file.num_rows == len(served.events)
    assert sum(v for v in file.column("cost").to_pylist() if v is not None) == totals(served.events)["cost"]
    days = list(csv.DictReader(io.StringIO(series.text)))
    assert {"day", "chat", "search", "total", "month_to_date", "budget"} <= set(days[0])


def test_openapi_describes_every_route(served: Served) -> None:
    with served.admin() as api:
        spec = api.get("/api/v1/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        for path, item in spec["paths"].items():
            params = {p["name"]: "x" for p in item["get"]["parameters"] if p["required"] and p["in"] == "query"}
            params = {k: "tenant" for k in params}
            url = path.replace("{session_id}", "run-acme-1")
            response = api.get(url, params=params)
            assert response.status_code == 200, (path, response.text)


BAD = [
    ("/api/v1/summary", {"where": "tenant"}, "expected NAME=VALUE"),
    ("/api/v1/summary", {"since": "yesterday-ish"}, "cannot read the time"),
    ("/api/v1/summary", {"since": "1d", "until": "2d"}, "must be before"),
    ("/api/v1/breakdown", {"by": "a,b,c"}, "one or two dimensions"),
    ("/api/v1/breakdown", {"by": "bad name!"}, "not a valid dimension"),
    ("/api/v1/breakdown", {"by": "tenant", "limit": "lots"}, "whole number"),
    ("/api/v1/timeseries", {"unit": "fortnight"}, "use day or hour"),
    ("/api/v1/timeseries", {"unit": "hour", "since": "60d"}, "at most 31 days"),
    ("/api/v1/events", {"cursor": "garbage"}, "cursor"),
    ("/api/v1/histogram", {"field": "latency"}, "no histogram"),
    ("/api/v1/summary", {"format": "parquet"}, "/api/v1/events only"),
    ("/api/v1/summary", {"format": "xml"}, "use json or csv"),
    ("/api/v1/alerts", {"state": "angry"}, "firing, resolved or all"),
    ("/api/v1/live", {"hours": "100"}, "from 1 to 48"),
]


def test_bad_input_says_what_to_do(served: Served) -> None:
    with served.admin() as api:
        unknown = api.get("/api/v1/nothing-here")
        assert unknown.status_code == 404 and "openapi.json" in unknown.json()["error"]["message"]
        assert api.delete("/api/v1/summary").status_code == 405
        for path, params, fragment in BAD:
            response = api.get(path, params=params)
            assert response.status_code == 400, (path, params, response.text)
            error = response.json()["error"]
            assert fragment in error["message"] and error["type"] == "invalid_request_error", (path, error)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(since=_TEXT, where=st.lists(_TEXT, max_size=3), by=_TEXT, unit=_TEXT)
def test_any_query_is_answered_or_refused_clearly(served: Served, since: str, where: list[str], by: str,
                                                  unit: str) -> None:
    with served.admin() as api:
        for path, params in (("/api/v1/summary", {"since": since, "where": where}),
                             ("/api/v1/breakdown", {"by": by, "where": where}),
                             ("/api/v1/timeseries", {"unit": unit, "group": by})):
            response = api.get(path, params=params)
            assert response.status_code in (200, 400), (path, params, response.text)
            if response.status_code == 400:
                assert response.json()["error"]["message"]
