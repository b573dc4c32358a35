"""Alert rules: each reads the ledger and says which conditions hold now (a `Finding` per scope).

A finding's fingerprint names one incident: the same condition in the same scope and window gives the same
fingerprint, so it is sent once (the evaluator's store makes sure of that, across evaluators too). Rules whose
condition can clear (`clears = True`) get a "resolved" message when it does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from ..analytics.sessions import summarize
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
        budget = ctx.budgets.get(self.budget)
        if budget is None:
            raise ConfigError(f"alert rule {self.name!r}: no budget named {self.budget!r} (budgets: "
                              f"{', '.join(sorted(ctx.budgets)) or 'none'})")
        start, end = budget.window_at(ctx.now)
        spent = sum((r["cost"] for r in _spend(ctx.ledger, start, ctx.now, budget.scope)), _ZERO)
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
        for row in _spend(ctx.ledger, today - timedelta(days=self.days), today, {}, (self.by,)):
            history[row[self.by]] += row["cost"]
        findings = []
        for row in _spend(ctx.ledger, today, ctx.now, {}, (self.by,)):
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
                    {self.by: value},
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
    growth_factor: float = 4.0  # last call's input ÷ first call's, with input rising at almost every call
    min_calls: int = 6
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


RULE_KINDS: dict[str, type[Any]] = {
    "budget": BudgetThresholds, "daily_vs_rolling_avg": DailyVsRollingAverage, "runaway_session": RunawaySession,
    "unpriced": Unpriced,
}
_FIELDS: dict[str, dict[str, type]] = {
    "budget": {"budget": str, "at": tuple},
    "daily_vs_rolling_avg": {"by": str, "factor": float, "days": int, "min_daily_usd": Decimal,
                             "min_elapsed_hours": float},
    "runaway_session": {"max_cost_usd": Decimal, "max_calls": int, "growth_factor": float, "min_calls": int,
                        "max_repeats": int, "lookback_hours": float},
    "unpriced": {"lookback_hours": float},
}


def build_rule(spec: Mapping[str, Any], index: int, where: str) -> Rule:
    kind = spec.get("kind")
    if kind not in RULE_KINDS:
        raise ConfigError(f"{where}: rules[{index}]: kind {kind!r} is not one of {', '.join(RULE_KINDS)} (anomaly, "
                          "burn_rate and forecast rules are not built yet)")
    fields = _FIELDS[kind]
    unknown = set(spec) - {"kind", "name", "severity", "notify", *fields}
    if unknown:
        raise ConfigError(f"{where}: rules[{index}] ({kind}): unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"known: name, severity, notify, {', '.join(fields)}")
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
                elif kind_of is Decimal:
                    values[name] = Decimal(str(raw))
                else:
                    values[name] = kind_of(raw)
            except (TypeError, ValueError, ArithmeticError):
                raise ConfigError(f"{where}: rules[{index}].{name}: {spec[name]!r} is not a valid "
                                  f"{kind_of.__name__}") from None
    if kind == "budget" and "budget" not in values:
        raise ConfigError(f"{where}: rules[{index}]: a budget rule names its budget: {{kind: budget, budget: NAME}}")
    rule: Rule = RULE_KINDS[kind](**values)
    return rule
