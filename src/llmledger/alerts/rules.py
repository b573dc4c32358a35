"""Alert rules: each reads the ledger and says which conditions hold now (a `Finding` per scope).

A finding's fingerprint names one incident: the same condition in the same scope and window gives the same
fingerprint, so it is sent once (the evaluator's store makes sure of that, across evaluators too). Rules whose
condition can clear (`clears = True`) get a "resolved" message when it does.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from ..analytics.forecast import forecast_month
from ..analytics.sessions import summarize
from ..attribution import validate_tags
from ..budgets import Budget
from ..errors import ConfigError
from ..ledger import Filter, Ledger, ReportQuery

__all__ = ["Finding", "Rule", "build_rule", "RULE_KINDS"]

_ZERO = Decimal(0)
_MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Finding:
    fingerprint: str
    title: str
    scope: dict[str, str]
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Context:
    ledger: Ledger
    now: datetime
    budgets: Mapping[str, Budget]


class Rule(Protocol):
    name: str
    kind: str
    severity: str
    notify: tuple[str, ...]
    clears: bool

    def evaluate(self, ctx: Context) -> list[Finding]: ...


def _spend(ledger: Ledger, since: datetime, until: datetime, scope: Mapping[str, str],
           by: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return ledger.report(ReportQuery(by=by, since=since, until=until,
                                     where=tuple(Filter(k, v) for k, v in scope.items())))


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.0001'))}"


def _plain(value: Decimal) -> str:
    """An exact amount for the evidence, without trailing zeros."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class BudgetThresholds:
    """50 / 80 / 100 % of a budget's window: each threshold fires once per window."""

    name: str
    budget: str
    at: tuple[float, ...] = (0.5, 0.8, 1.0)
    severity: str = "ticket"
    notify: tuple[str, ...] = ()
    kind = "budget"
    clears = False

    def evaluate(self, ctx: Context) -> list[Finding]:
        budget = _budget(ctx, self.name, self.budget)
        start, end = budget.window_at(ctx.now)
        spent = ctx.ledger.spend(start, until=ctx.now, scope=budget.scope)
        used = spent / budget.limit_usd if budget.limit_usd else Decimal(1)
        findings = []
        for threshold in sorted(self.at):
            if used >= Decimal(str(threshold)):
                findings.append(Finding(
                    f"{self.name}:{budget.name}:{start.isoformat()}:{threshold}",
                    f"Budget {budget.name} at {used * 100:.0f}% ({_money(spent)} of {_money(budget.limit_usd)} this "
                    f"{budget.window})",
                    dict(budget.scope),
                    {"spent_usd": _plain(spent), "limit_usd": _plain(budget.limit_usd), "threshold": threshold,
                     "used": f"{used:.4f}", "window_start": start.isoformat(), "window_end": end.isoformat()},
                ))
        return findings


@dataclass(frozen=True)
class DailyVsRollingAverage:
    """Today's spend (so far, projected to the end of the UTC day) above `factor` × the trailing `days`-day daily
    average, per value of `by` (e.g. each feature). Scopes whose average is under `min_daily_usd` are ignored."""

    name: str
    by: str = "feature"
    scope: dict[str, str] = field(default_factory=dict)  # only calls with these tags (e.g. {tenant: acme})
    factor: float = 2.0
    days: int = 7
    min_daily_usd: Decimal = Decimal("1")
    min_elapsed_hours: float = 2.0  # projecting a day from its first minutes is noise
    severity: str = "page"
    notify: tuple[str, ...] = ()
    kind = "daily_vs_rolling_avg"
    clears = True

    def evaluate(self, ctx: Context) -> list[Finding]:
        today = ctx.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = (ctx.now - today).total_seconds() / 86400
        if elapsed * 24 < self.min_elapsed_hours:
            return []
        history: dict[str, Decimal] = defaultdict(lambda: _ZERO)
        for row in _spend(ctx.ledger, today - timedelta(days=self.days), today, self.scope, (self.by,)):
            history[row[self.by]] += row["cost"]
        findings = []
        for row in _spend(ctx.ledger, today, ctx.now, self.scope, (self.by,)):
            value, so_far = row[self.by], row["cost"]
            average = history.get(value, _ZERO) / self.days
            if value is None or average < self.min_daily_usd:
                continue
            projected = so_far / Decimal(str(elapsed))
            if projected > average * Decimal(str(self.factor)):
                findings.append(Finding(
                    f"{self.name}:{self.by}={value}:{today.date().isoformat()}",
                    f"{self.by} {value}: today's spend projects to {_money(projected)}, "
                    f"{projected / average:.1f}× its {self.days}-day average of {_money(average)}",
                    {**self.scope, self.by: value},
                    {"spent_today_usd": _plain(so_far), "projected_usd": _plain(projected.quantize(_MICRO)),
                     "average_daily_usd": _plain(average.quantize(_MICRO)), "factor": self.factor,
                     "day": today.date().isoformat()},
                ))
        return findings


@dataclass(frozen=True)
class RunawaySession:
    """Agent runs out of hand: cost or calls past a limit, input that grows call over call like a loop resending
    its whole history, or the same call repeated."""

    name: str
    max_cost_usd: Decimal | None = None
    max_calls: int | None = None
    growth_factor: float = 5.0  # last call's input ÷ first call's, with input rising at almost every call
    min_calls: int = 10  # a chat of a few turns resends its history too: that is not a runaway
    max_repeats: int = 5  # identical input-token counts in a row
    lookback_hours: float = 24.0
    severity: str = "page"
    notify: tuple[str, ...] = ()
    kind = "runaway_session"
    clears = False

    def evaluate(self, ctx: Context) -> list[Finding]:
        since = ctx.now - timedelta(hours=self.lookback_hours)
        findings = []
        for row in _spend(ctx.ledger, since, ctx.now, {}, ("session",)):
            session = row["session"]
            if session is None:
                continue
            calls = list(ctx.ledger.events(ReportQuery(since=since, until=ctx.now,
                                                       where=(Filter("session", session),))))
            summary = summarize(session, calls)
            inputs = summary.input_per_call
            reasons = []
            if self.max_cost_usd is not None and summary.cost > self.max_cost_usd:
                reasons.append(("cost", f"cost {_money(summary.cost)} > {_money(self.max_cost_usd)}"))
            if self.max_calls is not None and summary.calls > self.max_calls:
                reasons.append(("calls", f"{summary.calls} calls > {self.max_calls}"))
            if len(inputs) >= self.min_calls and _grows(inputs) and summary.growth >= self.growth_factor:
                reasons.append(("growth", f"input grew ×{summary.growth:.1f} over {len(inputs)} calls, rising at "
                                          "almost every call: it resends its whole history"))
            if _longest_repeat(inputs) >= self.max_repeats:
                reasons.append(("repeats", f"{_longest_repeat(inputs)} identical calls in a row"))
            for reason, text in reasons:
                findings.append(Finding(
                    f"{self.name}:{session}:{reason}", f"Runaway session {session}: {text}",
                    {"session": session, **summary.tags},
                    {"calls": summary.calls, "cost_usd": _plain(summary.cost), "input_per_call": list(inputs[-20:]),
                     "growth": round(summary.growth, 2), "first_call": summary.first.isoformat()},
                ))
        return findings


def _grows(inputs: Sequence[int]) -> bool:
    rising = sum(1 for a, b in zip(inputs, inputs[1:], strict=False) if b > a)
    return rising >= 0.8 * (len(inputs) - 1)


def _longest_repeat(inputs: Sequence[int]) -> int:
    best = run = 1 if inputs else 0
    for a, b in zip(inputs, inputs[1:], strict=False):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best


@dataclass(frozen=True)
class Unpriced:
    """Calls recorded without a price, per model, per hour."""

    name: str
    lookback_hours: float = 1.0
    severity: str = "ticket"
    notify: tuple[str, ...] = ()
    kind = "unpriced"
    clears = False

    def evaluate(self, ctx: Context) -> list[Finding]:
        since = ctx.now - timedelta(hours=self.lookback_hours)
        rows = _spend(ctx.ledger, since, ctx.now, {"cost_status": "unpriced"}, ("provider", "model"))
        hour = ctx.now.astimezone(UTC).strftime("%Y-%m-%dT%H")
        return [Finding(f"{self.name}:{r['provider']}/{r['model']}:{hour}",
                        f"{r['requests']} call(s) to {r['provider']}/{r['model']} have no price",
                        {"provider": r["provider"], "model": r["model"]},
                        {"calls": r["requests"], "since": since.isoformat(),
                         "fix": "add a price to llmledger.yaml (prices:), then run `llmledger recompute`"})
                for r in rows if r["requests"]]


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", str(text))
    if not match:
        raise ConfigError(f"duration {text!r}: write minutes, hours or days, e.g. 5m, 1h, 6h, 3d")
    return timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]: int(match.group(1))})


def _budget(ctx: Context, rule: str, name: str) -> Budget:
    budget = ctx.budgets.get(name)
    if budget is None:
        known = ", ".join(sorted(ctx.budgets)) or "none"
        raise ConfigError(f"alert rule {rule!r}: no budget named {name!r} (budgets: {known})")
    return budget


@dataclass(frozen=True)
class BurnRate:
    """Spending a budget faster than its window allows, over a short and a long window at once (the multi-window
    burn-rate alert SREs use for error budgets): burn = spend in the window ÷ the budget's share for that long.
    The long window keeps a blip from paging; the short one lets the alert clear soon after the spike stops."""

    name: str
    budget: str
    windows: tuple[str, ...] = ("1h", "6h")
    factor: float = 6.0
    severity: str = "page"
    notify: tuple[str, ...] = ()
    kind = "burn_rate"
    clears = True

    def evaluate(self, ctx: Context) -> list[Finding]:
        budget = _budget(ctx, self.name, self.budget)
        start, end = budget.window_at(ctx.now)
        length = (end - start).total_seconds()
        burns = {}
        for window in self.windows:
            span = _duration(window)
            spent = ctx.ledger.spend(ctx.now - span, until=ctx.now, scope=budget.scope)
            allowed = budget.limit_usd * Decimal(span.total_seconds() / length)
            burns[window] = (spent, spent / allowed if allowed else Decimal(0))
        if not all(burn >= Decimal(str(self.factor)) for _, burn in burns.values()):
            return []
        text = ", ".join(f"×{burn:.1f} over {w}" for w, (_, burn) in burns.items())
        return [Finding(
            f"{self.name}:{budget.name}:{start.isoformat()}",
            f"Budget {budget.name} burning too fast: {text} (alert at ×{self.factor})",
            dict(budget.scope),
            {**{f"burn_{w}": f"{burn:.2f}" for w, (_, burn) in burns.items()},
             **{f"spent_{w}_usd": _plain(spent) for w, (spent, _) in burns.items()},
             "limit_usd": _plain(budget.limit_usd), "window": budget.window, "factor": self.factor},
        )]


@dataclass(frozen=True)
class ForecastOverBudget:
    """The month's projected spend (trend + weekday shape) over a monthly budget, with the date it runs out."""

    name: str
    budget: str
    history_days: int = 28
    severity: str = "ticket"
    notify: tuple[str, ...] = ()
    kind = "forecast"
    clears = True

    def evaluate(self, ctx: Context) -> list[Finding]:
        budget = _budget(ctx, self.name, self.budget)
        if budget.window != "month":
            raise ConfigError(f"alert rule {self.name!r}: forecasts are for monthly budgets; {budget.name} is per "
                              f"{budget.window}")
        start, end = budget.window_at(ctx.now)
        today = ctx.now.astimezone(UTC).date()
        daily = daily_spend(ctx.ledger, start - timedelta(days=self.history_days), ctx.now, budget.scope)
        forecast = forecast_month(daily, start=start, end=end, today=today, budget=budget.limit_usd)
        if forecast.projected <= budget.limit_usd:
            return []
        return [Finding(
            f"{self.name}:{budget.name}:{start.isoformat()}",
            f"Budget {budget.name} projected at {_money(forecast.projected)} for {forecast.month}, over its "
            f"{_money(budget.limit_usd)}" + (f"; runs out on {forecast.exhaustion}" if forecast.exhaustion else ""),
            dict(budget.scope),
            {"month_to_date_usd": _plain(forecast.to_date), "projected_usd": _plain(forecast.projected),
             "low_usd": _plain(forecast.low), "high_usd": _plain(forecast.high), "limit_usd": _plain(budget.limit_usd),
             "exhaustion": str(forecast.exhaustion) if forecast.exhaustion else None,
             "days_of_history": forecast.days_known},
        )]


@dataclass(frozen=True)
class ForecastDivergence:
    """Yesterday's actual spend far from what the forecast (fitted on the days before) expected: more than three
    of the forecast's standard deviations away, and more than `tolerance` of the expected amount (a 90 % range
    alone would flag one ordinary day in ten)."""

    name: str
    budget: str
    history_days: int = 28
    min_daily_usd: Decimal = Decimal("1")
    tolerance: float = 0.25
    severity: str = "ticket"
    notify: tuple[str, ...] = ()
    kind = "forecast_divergence"
    clears = False

    def evaluate(self, ctx: Context) -> list[Finding]:
        budget = _budget(ctx, self.name, self.budget)
        yesterday = ctx.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        daily = daily_spend(ctx.ledger, yesterday - timedelta(days=self.history_days), yesterday + timedelta(days=1),
                            budget.scope)
        before = {d: v for d, v in daily.items() if d < yesterday.date()}
        if len(before) < 14:  # two weeks, so the weekday shape is known (a Monday after a quiet weekend is normal)
            return []
        expected = forecast_month(before, start=yesterday, end=yesterday + timedelta(days=1), today=yesterday.date())
        actual = daily.get(yesterday.date(), _ZERO)
        sigma = (expected.high - expected.projected) / Decimal("1.645")
        band = max(3 * sigma, expected.projected * Decimal(str(self.tolerance)))
        low, high = expected.projected - band, expected.projected + band
        if max(actual, expected.projected) < self.min_daily_usd or low <= actual <= high:
            return []
        direction = "above" if actual > high else "below"
        return [Finding(
            f"{self.name}:{budget.name}:{yesterday.date().isoformat()}",
            f"Budget {budget.name}: {_money(actual)} spent on {yesterday.date()}, {direction} the forecast's "
            f"{_money(max(low, _ZERO))}–{_money(high)}",
            dict(budget.scope),
            {"day": yesterday.date().isoformat(), "actual_usd": _plain(actual),
             "forecast_usd": _plain(expected.projected), "low_usd": _plain(max(low, _ZERO)),
             "high_usd": _plain(high)},
        )]


def daily_spend(ledger: Ledger, since: datetime, until: datetime, scope: Mapping[str, str]) -> dict[date, Decimal]:
    return {date.fromisoformat(r["day"]): r["cost"] for r in _spend(ledger, since, until, scope, ("day",))}


@dataclass(frozen=True)
class Anomaly:
    """An hour far outside its scope's own pattern: the last complete hour's spend (or tokens) against the same
    hour of the same kind of day (weekday or weekend) over the past `days`, by robust z-score (median and MAD).
    Hours under `min_hourly` are ignored, so quiet scopes never page."""

    name: str
    by: str = "feature"
    scope: dict[str, str] = field(default_factory=dict)
    metric: str = "cost"  # cost | tokens
    threshold: float = 6.0
    days: int = 14
    min_hourly: Decimal = Decimal("0.5")  # dollars, or tokens when metric is tokens
    severity: str = "page"
    notify: tuple[str, ...] = ()
    kind = "anomaly"
    clears = False

    def evaluate(self, ctx: Context) -> list[Finding]:
        if self.metric not in ("cost", "tokens"):
            raise ConfigError(f"alert rule {self.name!r}: metric must be cost or tokens, got {self.metric!r}")
        hour = ctx.now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        series: dict[Any, dict[datetime, Decimal]] = defaultdict(dict)
        for row in _spend(ctx.ledger, hour - timedelta(days=self.days), hour + timedelta(hours=1), self.scope,
                          (self.by, "hour")):
            value = row["cost"] if self.metric == "cost" else Decimal(row["input_tokens"] + row["output_tokens"])
            series[row[self.by]][datetime.fromisoformat(row["hour"]).replace(tzinfo=UTC)] = value
        weekend = hour.weekday() >= 5
        findings = []
        for scope, points in series.items():
            current = points.get(hour, _ZERO)
            if scope is None or current < self.min_hourly:
                continue
            past = [points.get(hour - timedelta(days=d), _ZERO) for d in range(1, self.days + 1)
                    if ((hour - timedelta(days=d)).weekday() >= 5) == weekend]
            if len(past) < 3:
                continue
            median = statistics.median(past)
            mad = statistics.median(abs(v - median) for v in past)
            spread = max(Decimal("1.4826") * mad, median / 10, Decimal("0.000001"))
            score = (current - median) / spread
            if score >= Decimal(str(self.threshold)):
                unit = "$" if self.metric == "cost" else "tokens "
                findings.append(Finding(
                    f"{self.name}:{self.by}={scope}:{hour.isoformat()}",
                    f"{self.by} {scope}: {unit}{current:.4f} in the hour from {hour:%H:00} UTC, {score:.0f} robust "
                    f"deviations above its usual {unit}{median:.4f}",
                    {**self.scope, self.by: scope},
                    {"hour": hour.isoformat(), "value": _plain(current), "usual_median": _plain(median),
                     "mad": _plain(mad), "score": f"{score:.1f}", "threshold": self.threshold, "metric": self.metric},
                ))
        return findings


RULE_KINDS: dict[str, type[Any]] = {
    "budget": BudgetThresholds, "daily_vs_rolling_avg": DailyVsRollingAverage, "runaway_session": RunawaySession,
    "unpriced": Unpriced, "burn_rate": BurnRate, "forecast": ForecastOverBudget, "anomaly": Anomaly,
    "forecast_divergence": ForecastDivergence,
}
_FIELDS: dict[str, dict[str, type]] = {
    "budget": {"budget": str, "at": tuple},
    "daily_vs_rolling_avg": {"by": str, "scope": dict, "factor": float, "days": int, "min_daily_usd": Decimal,
                             "min_elapsed_hours": float},
    "runaway_session": {"max_cost_usd": Decimal, "max_calls": int, "growth_factor": float, "min_calls": int,
                        "max_repeats": int, "lookback_hours": float},
    "unpriced": {"lookback_hours": float},
    "burn_rate": {"budget": str, "windows": list, "factor": float},
    "forecast": {"budget": str, "history_days": int},
    "forecast_divergence": {"budget": str, "history_days": int, "min_daily_usd": Decimal, "tolerance": float},
    "anomaly": {"by": str, "scope": dict, "metric": str, "threshold": float, "days": int, "min_hourly": Decimal},
}


def build_rule(spec: Mapping[str, Any], index: int, where: str) -> Rule:
    kind = spec.get("kind")
    if kind not in RULE_KINDS:
        raise ConfigError(f"{where}: rules[{index}]: kind {kind!r} is not one of {', '.join(RULE_KINDS)}")
    fields = _FIELDS[kind]
    unknown = set(spec) - {"kind", "name", "severity", "notify", "cooldown_minutes", *fields}
    if unknown:
        raise ConfigError(f"{where}: rules[{index}] ({kind}): unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"known: name, severity, notify, cooldown_minutes, {', '.join(fields)}")
    values: dict[str, Any] = {"name": spec.get("name") or f"{kind}-{index}"}
    severity = spec.get("severity")
    if severity is not None:
        if severity not in ("page", "ticket"):
            raise ConfigError(f"{where}: rules[{index}]: severity must be page or ticket, got {severity!r}")
        values["severity"] = severity
    notify = spec.get("notify") or []
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        raise ConfigError(f"{where}: rules[{index}]: notify must be a list of channel names")
    values["notify"] = tuple(notify)
    for name, kind_of in fields.items():
        if name in spec:
            raw = spec[name]
            try:
                if kind_of is tuple:
                    values[name] = tuple(float(v) for v in raw)
                elif kind_of is list:
                    values[name] = tuple(str(v) for v in raw if _duration(v))
                elif kind_of is Decimal:
                    values[name] = Decimal(str(raw))
                elif kind_of is dict:
                    if not isinstance(raw, Mapping):
                        raise TypeError
                    values[name] = validate_tags(raw, where=f"{where}: rules[{index}].{name}")
                else:
                    values[name] = kind_of(raw)
            except (TypeError, ValueError, ArithmeticError):
                raise ConfigError(f"{where}: rules[{index}].{name}: {spec[name]!r} is not a valid "
                                  f"{kind_of.__name__}") from None
    if kind in ("budget", "burn_rate", "forecast", "forecast_divergence") and "budget" not in values:
        raise ConfigError(f"{where}: rules[{index}]: a {kind} rule names its budget: {{kind: {kind}, budget: NAME}}")
    rule: Rule = RULE_KINDS[kind](**values)
    return rule
