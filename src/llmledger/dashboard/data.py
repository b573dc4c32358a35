"""What the dashboard's panels show, read from the ledger: each function takes a selection and returns plain data
(money stays Decimal; app.py writes it as exact strings). Every number is aggregated by the database — through
`Ledger.report()`, which reads SQLite's daily rollup for whole days — never by walking events in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..alerts.store import AlertStore
from ..analytics.forecast import Forecast, forecast_month, month_bounds
from ..analytics.sessions import SessionSummary, session_calls, sessions, summarize
from ..budgets import Budget
from ..errors import ConfigError
from ..events import UsageEvent
from ..ledger import Filter, Ledger, ReportQuery
from ..ledger.query import METRICS
from ..outcomes import OutcomeStore

Row = dict[str, Any]
BREAKDOWN_DIMENSIONS = ("provider", "model", "tenant", "team", "feature", "user", "environment", "prompt_version",
                        "status", "cost_status", "source", "session", "key")
_VALUE_DIMENSIONS = ("provider", "model", "tenant", "team", "feature", "environment", "status", "cost_status")
SERIES_SHOWN = 8  # named series in a chart; the rest are summed as "other"
_CENT = Decimal("0.000001")


@dataclass(frozen=True)
class Selection:
    """The calls a panel covers: [since, until) and filters (a tenant's own filter already added)."""

    since: datetime
    until: datetime
    where: tuple[Filter, ...] = ()

    @property
    def query(self) -> ReportQuery:
        return ReportQuery(since=self.since, until=self.until, where=self.where)

    def tenant(self) -> str | None:
        return next((f.value for f in self.where
                     if f.dimension == "tenant" and not f.negate and isinstance(f.value, str)), None)


def _totals(ledger: Ledger, query: ReportQuery) -> Row:
    rows = ledger.report(replace(query, by=()))
    if rows:
        return rows[0]
    return {m: (Decimal(0) if m.endswith(("cost", "_share")) else 0) for m in METRICS}


def _with_rates(row: Row) -> Row:
    tokens = row["input_tokens"] + row["output_tokens"]
    priced_calls = row["requests"] - row["unpriced"]
    return {**row,
            "cost_per_request": (row["cost"] / priced_calls).quantize(_CENT) if priced_calls else Decimal(0),
            "cost_per_1k_tokens": (row["cost"] * 1000 / tokens).quantize(_CENT) if tokens else Decimal(0)}


def summary(ledger: Ledger, sel: Selection) -> Row:
    """Totals for the selection: calls, the token and dollar split, cache share, rates, unpriced and failed calls."""
    return {"since": sel.since, "until": sel.until, **_with_rates(_totals(ledger, sel.query))}


def month(ledger: Ledger, sel: Selection, now: datetime, budgets: Sequence[Budget]) -> Row:
    """This month to date against the same days of last month, the month-end forecast, and the monthly budget."""
    start, end = month_bounds(None, now)
    last_start, _ = month_bounds(f"{(start - timedelta(days=1)):%Y-%m}", now)
    same_point = min(last_start + (now - start), start)
    where = sel.where
    to_date = _totals(ledger, ReportQuery(since=start, until=now, where=where))["cost"]
    before = _totals(ledger, ReportQuery(since=last_start, until=same_point, where=where))["cost"]
    last_total = _totals(ledger, ReportQuery(since=last_start, until=start, where=where))["cost"]
    budget = monthly_budget(budgets, where)
    forecast = _forecast(ledger, where, now, budget)
    return {
        "month": f"{start:%Y-%m}", "month_to_date": to_date, "last_month_same_period": before,
        "last_month_total": last_total,
        "change": ((to_date - before) / before).quantize(Decimal("0.0001")) if before else None,
        "forecast": None if forecast is None else {"expected": forecast.projected, "low": forecast.low,
                                                   "high": forecast.high},
        "budget": None if budget is None else {"name": budget.name, "limit": budget.limit_usd, "window": "month"},
        "exhaustion": forecast.exhaustion if forecast and forecast.exhaustion else None,
        "end": end,
    }


def monthly_budget(budgets: Sequence[Budget], where: Sequence[Filter]) -> Budget | None:
    """The monthly budget whose scope is exactly the selection's positive filters (the whole org when none)."""
    wanted = {f.dimension: f.value for f in where if not f.negate}
    for budget in budgets:
        if budget.window == "month" and dict(budget.scope) == wanted:
            return budget
    return None


def _forecast(ledger: Ledger, where: tuple[Filter, ...], now: datetime, budget: Budget | None) -> Forecast | None:
    start, end = month_bounds(None, now)
    daily = {date.fromisoformat(r["day"]): r["cost"]
             for r in ledger.report(ReportQuery(by=("day",), since=start - timedelta(days=28), until=now,
                                                where=where))}
    if not daily:
        return None
    return forecast_month(daily, start=start, end=end, today=now.date(),
                          budget=budget.limit_usd if budget else None)


def timeseries(ledger: Ledger, sel: Selection, unit: str, group: str | None, now: datetime,
               budgets: Sequence[Budget]) -> Row:
    """Spend per bucket (split by `group`, the costliest SERIES_SHOWN named and the rest as "other"), and for days
    also the month-to-date spend at each bucket's end, the monthly budget, and the forecast to the month's end."""
    if unit not in ("hour", "day"):
        raise ConfigError(f"unit {unit!r}: use day or hour")
    by = (unit, group) if group else (unit,)
    rows = ledger.report(replace(sel.query, by=by))
    buckets = _buckets(sel.since, sel.until, unit)
    index = {b: i for i, b in enumerate(buckets)}
    per: dict[Any, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(buckets))
    for row in rows:
        if row[unit] in index:
            per[row[group] if group else "total"][index[row[unit]]] += row["cost"]
    ranked = sorted(per, key=lambda name: (-sum(per[name]), str(name)))
    series = [{"name": name, "values": per[name]} for name in ranked[:SERIES_SHOWN]]
    if len(ranked) > SERIES_SHOWN:
        other = [sum(values, Decimal(0)) for values in zip(*(per[n] for n in ranked[SERIES_SHOWN:]), strict=True)]
        series.append({"name": "other", "values": other})
    total = [sum((per[n][i] for n in per), Decimal(0)) for i in range(len(buckets))]
    calls = [0] * len(buckets)
    for row in rows:
        if row[unit] in index:
            calls[index[row[unit]]] += row["requests"]
    out: Row = {"unit": unit, "group": group, "buckets": buckets, "series": series, "total": total, "calls": calls,
                "cumulative": None, "budget_line": None, "forecast": None}
    if unit == "day" and buckets:
        out["cumulative"] = _month_to_date(ledger, sel, buckets, total)
        budget = monthly_budget(budgets, sel.where)
        out["budget_line"] = [budget.limit_usd] * len(buckets) if budget else None
        forecast = _forecast(ledger, sel.where, now, budget)
        if forecast is not None and sel.until >= now - timedelta(hours=1):
            out["forecast"] = [{"bucket": day.isoformat(), "expected": expected, "low": low, "high": high}
                               for day, expected, low, high in forecast.path()]
    return out


def _month_to_date(ledger: Ledger, sel: Selection, buckets: list[str], total: list[Decimal]) -> list[Decimal]:
    """Spend from the start of each bucket's month to the bucket's end (so it restarts each month)."""
    first = datetime.fromisoformat(buckets[0]).replace(tzinfo=UTC)
    month_start = first.replace(day=1)
    running = _totals(ledger, ReportQuery(since=month_start, until=sel.since, where=sel.where))["cost"] \
        if month_start < sel.since else Decimal(0)
    out = []
    for i, bucket in enumerate(buckets):
        if i and bucket[:7] != buckets[i - 1][:7]:
            running = Decimal(0)
        running += total[i]
        out.append(running)
    return out


def _buckets(since: datetime, until: datetime, unit: str) -> list[str]:
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    moment = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        moment = moment.replace(hour=0)
    out: list[str] = []
    while moment < until and len(out) < 5000:
        out.append(f"{moment:%Y-%m-%d}" if unit == "day" else f"{moment:%Y-%m-%dT%H}:00")
        moment += step
    return out


def breakdown(ledger: Ledger, sel: Selection, by: Sequence[str], limit: int) -> Row:
    """Report rows grouped by one or two dimensions, costliest first, with the selection's totals."""
    if not 1 <= len(by) <= 2:
        raise ConfigError("by: give one or two dimensions, e.g. by=feature or by=feature,model")
    rows = ledger.report(replace(sel.query, by=tuple(by), limit=limit + 1))
    return {"by": list(by), "rows": rows[:limit], "total": _totals(ledger, sel.query),
            "truncated": len(rows) > limit}


def live(ledger: Ledger, sel: Selection, now: datetime, hours: int, spool: Callable[[], Row]) -> Row:
    """The last hours in 5-minute buckets (tokens per second, dollars per hour), what is spending now, alerts firing,
    unpriced calls of the last day, and the writer's backlog."""
    step = 5
    start = (now - timedelta(hours=hours)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % step)
    window = ReportQuery(since=start, until=now, where=sel.where)
    count = int((now - start).total_seconds() // (step * 60)) + 1
    buckets = [start + timedelta(minutes=step * i) for i in range(count)]
    tokens, cost = [0] * count, [Decimal(0)] * count
    for row in ledger.report(replace(window, by=("minute",))):
        moment = datetime.fromisoformat(row["minute"]).replace(tzinfo=UTC)
        i = int((moment - start).total_seconds() // (step * 60))
        if 0 <= i < count:
            tokens[i] += row["input_tokens"] + row["output_tokens"]
            cost[i] += row["cost"]
    last_hour = ReportQuery(since=now - timedelta(hours=1), until=now, where=sel.where)
    totals = _totals(ledger, last_hour)
    top = {}
    for dimension in ("tenant", "user", "model"):
        rows = ledger.report(replace(last_hour, by=(dimension,), limit=5))
        top[dimension] = [{"name": r[dimension], "cost": r["cost"], "requests": r["requests"],
                           "unpriced": r["unpriced"], "tokens": r["input_tokens"] + r["output_tokens"]} for r in rows]
    day = ReportQuery(since=now - timedelta(days=1), until=now,
                      where=(*sel.where, Filter("cost_status", "unpriced")), by=("provider", "model"))
    unpriced = ledger.report(day)
    return {
        "hours": hours, "bucket_minutes": step, "buckets": buckets,
        "tokens_per_second": [round(t / (step * 60), 6) for t in tokens],
        "usd_per_hour": [c * (60 // step) for c in cost],
        "last_hour": {"requests": totals["requests"], "tokens": totals["input_tokens"] + totals["output_tokens"],
                      "cost": totals["cost"]},
        "top_now": top,
        "alerts": alerts(ledger, sel, "firing", 50),
        "unpriced": {"count_24h": sum(r["requests"] for r in unpriced),
                     "models": [{"provider": r["provider"], "model": r["model"], "requests": r["requests"]}
                                for r in unpriced]},
        "spool": spool(),
        "generated_at": now,
    }


def alerts(ledger: Ledger, sel: Selection, state: str | None, limit: int) -> list[Row]:
    """Alerts, newest first; a tenant sees only alerts scoped to its own tenant."""
    tenant = sel.tenant()
    records = AlertStore(ledger.store).history(state=state, limit=limit if tenant is None else 10_000)
    if tenant is not None:
        records = [r for r in records if r["scope"].get("tenant") == tenant][:limit]
    return [{k: r[k] for k in ("fingerprint", "rule", "kind", "severity", "title", "scope", "state", "fired_at",
                               "resolved_at")} for r in records]


def event_row(event: UsageEvent) -> Row:
    u = event.usage
    return {
        "id": event.id, "ts": event.ts, "provider": event.provider, "model": event.model,
        "input_tokens": u.total_input, "cache_read_tokens": u.cache_read,
        "cache_write_tokens": u.cache_write_5m + u.cache_write_1h, "output_tokens": u.total_output,
        "reasoning_tokens": u.reasoning, "cost": event.cost.total, "cost_status": event.cost.status,
        "status": event.status, "http_status": event.http_status, "latency_ms": event.latency_ms,
        "session_id": event.session_id, "estimated": event.estimated, "tags": dict(event.tags),
    }


def events_page(ledger: Ledger, sel: Selection, limit: int, cursor: str | None) -> Row:
    """A page of the request table, newest first; `next_cursor` continues it."""
    before = None
    if cursor:
        ts, sep, event_id = cursor.partition("|")
        try:
            before = (datetime.fromisoformat(ts), event_id)
        except ValueError:
            raise ConfigError(f"cursor {cursor!r} is not one this API gave out; start again without it") from None
        if not sep:
            raise ConfigError(f"cursor {cursor!r} is not one this API gave out; start again without it")
    rows = ledger.store.page(sel.query, limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"rows": [event_row(e) for e in rows],
            "next_cursor": f"{rows[-1].ts.isoformat()}|{rows[-1].id}" if more else None}


def histogram(ledger: Ledger, sel: Selection, name: str) -> Row:
    return {"field": name, "bins": [{"low": low, "high": high, "count": n}
                                    for low, high, n in ledger.store.histogram(sel.query, name)]}


def session_row(s: SessionSummary) -> Row:
    return {"session_id": s.session_id, "parent_id": s.parent_id, "calls": s.calls, "cost": s.cost,
            "unpriced": s.unpriced, "first": s.first, "last": s.last, "growth": round(s.growth, 2),
            "input_per_call": list(s.input_per_call), "tags": s.tags}


def session_list(ledger: Ledger, sel: Selection, limit: int) -> Row:
    return {"sessions": [session_row(s) for s in sessions(ledger, sel.query, limit=limit)]}


def session_view(ledger: Ledger, sel: Selection, session_id: str) -> Row | None:
    """One session's calls in order, with the spend so far at each; None when it has no calls (for this tenant)."""
    calls = session_calls(ledger, session_id, ReportQuery(where=sel.where))
    if not calls:
        return None
    running, rows = Decimal(0), []
    for event in calls:
        running += event.cost.total or Decimal(0)
        row = event_row(event)
        rows.append({**{k: row[k] for k in ("id", "ts", "model", "provider", "input_tokens", "cache_read_tokens",
                                            "output_tokens", "reasoning_tokens", "cost", "status", "cost_status")},
                     "cumulative_cost": running})
    found = OutcomeStore(ledger.store).list(session_id=session_id)
    return {"session": session_row(summarize(session_id, calls)), "calls": rows,
            "outcomes": [{"name": o.name, "ts": o.ts, "value": o.value} for o in found]}


def outcomes(ledger: Ledger, sel: Selection, by: str | None) -> Row:
    """Cost per outcome: for each outcome name (and `by` value), the outcomes recorded in the selection, the
    sessions they name, and what those sessions' calls cost in all."""
    found = OutcomeStore(ledger.store).list(sel.since, sel.until, sel.where)
    groups: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for item in found:
        groups[(item.name, item.tags.get(by) if by else None)].append(item)
    costs = ledger.store.session_costs(sorted({o.session_id for o in found if o.session_id}))
    rows = []
    for (name, value), items in groups.items():
        ids = {o.session_id for o in items if o.session_id}
        cost = sum((costs[s][1] for s in ids if s in costs), Decimal(0))
        row: Row = {"outcome": name}
        if by:
            row[by] = value
        row.update(outcomes=len(items), sessions=len(ids), cost=cost,
                   cost_per_outcome=(cost / len(items)).quantize(_CENT) if ids else None)
        rows.append(row)
    rows.sort(key=lambda r: (r["outcome"], -r["outcomes"]))
    return {"rows": rows, "note": "cost is what the sessions that reached each outcome spent on their calls; an "
                                  "outcome recorded outside a session has no cost"}


def dimensions(ledger: Ledger, sel: Selection) -> Row:
    """Every dimension a filter or grouping can use (custom tags included), with the top values of the common ones."""
    values = {}
    for name in _VALUE_DIMENSIONS:
        rows = ledger.report(replace(sel.query, by=(name,), limit=100))
        values[name] = [r[name] for r in rows if r[name] is not None]
    custom: set[str] = set()
    for event in ledger.store.page(sel.query, 2000):
        custom.update(k for k in event.tags if k not in BREAKDOWN_DIMENSIONS)
    return {"dimensions": [*BREAKDOWN_DIMENSIONS, *sorted(custom)], "values": values}
