"""Burn rate, forecast and anomaly rules, and `llmledger forecast`, on synthetic histories with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from llmledger import Budget, Ledger
from llmledger.alerts import Evaluator
from llmledger.analytics.forecast import forecast_month

from .receiver import Receiver
from .test_rules import START, event, settings, steady_month

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def test_burn_rate_needs_both_windows_and_clears(receiver: Receiver, sqlite_ledger: Ledger) -> None:
    budget = Budget(limit_usd=300, window="month", name="org-monthly")  # $10/day, $0.4167/hour allowed
    rule = {"kind": "burn_rate", "budget": "org-monthly", "windows": ["1h", "6h"], "factor": 6}
    evaluator = Evaluator(sqlite_ledger, settings(receiver, [rule]), budgets=lambda: [budget])
    day = NOV + timedelta(days=10)
    sqlite_ledger.write([event(day + timedelta(hours=h, minutes=30), "0.4") for h in range(12)])
    assert evaluator.run(day + timedelta(hours=12)) == []  # on budget
    sqlite_ledger.write([event(day + timedelta(hours=12, minutes=30), "10")])
    assert evaluator.run(day + timedelta(hours=13)) == []  # ×24 for an hour, ×4.8 over 6 h: a blip, no page
    sqlite_ledger.write([event(day + timedelta(hours=h, minutes=30), "10") for h in range(13, 18)])
    [alert] = evaluator.run(day + timedelta(hours=18))  # six hours at ×24
    assert alert.evidence["burn_1h"] == "24.00" and alert.evidence["burn_6h"] == "24.00"
    assert [a.state for a in evaluator.run(day + timedelta(hours=19, minutes=30))] == ["resolved"]


def test_forecast_math_follows_trend_and_weekday_shape() -> None:
    # four weeks: weekdays $10, weekends $2, growing $0.10 a day
    daily = {}
    for i in range(28):
        d = date(2026, 10, 18) + timedelta(days=i)
        daily[d] = Decimal(str((10 if d.weekday() < 5 else 2) + 0.1 * i))
    f = forecast_month(daily, start=NOV, end=NOV.replace(month=12), today=date(2026, 11, 15),
                       budget=Decimal(200))
    to_date = sum(v for d, v in daily.items() if d >= date(2026, 11, 1))
    assert f.to_date == to_date and f.days_known == 28
    # what the same pattern really spends over the 16 days left
    truth = sum(Decimal(str((10 if (date(2026, 10, 18) + timedelta(days=i)).weekday() < 5 else 2) + 0.1 * i))
                for i in range(28, 44))
    assert abs(f.projected - to_date - truth) / truth < Decimal("0.06")
    assert f.low <= f.projected <= f.high
    assert f.exhaustion is not None and date(2026, 11, 16) <= f.exhaustion <= date(2026, 11, 30)


def test_forecast_rule_fires_over_budget_only(receiver: Receiver, sqlite_ledger: Ledger) -> None:
    sqlite_ledger.write([event(NOV - timedelta(days=16) + timedelta(days=i, hours=12), "4") for i in range(30)])
    over = Budget(limit_usd=100, window="month", name="over")
    under = Budget(limit_usd=150, window="month", name="under")
    rules = [{"name": "f-over", "kind": "forecast", "budget": "over"},
             {"name": "f-under", "kind": "forecast", "budget": "under"}]
    [alert] = Evaluator(sqlite_ledger, settings(receiver, rules), budgets=lambda: [over, under]).run(
        NOV + timedelta(days=14, hours=13))
    assert alert.rule == "f-over" and Decimal(alert.evidence["projected_usd"]) == Decimal(120)
    assert alert.evidence["exhaustion"] == "2026-11-26"  # $56 by the 14th, then $4 a day: over $100 on the 26th


def test_anomaly_alerts_on_the_spike_hour_and_never_on_normal_traffic(receiver: Receiver,
                                                                     sqlite_ledger: Ledger) -> None:
    steady_month(sqlite_ledger)
    spike = START + timedelta(days=20, hours=14, minutes=10)
    sqlite_ledger.write([event(spike, "3", feature="search")])  # about 60x its usual hour
    evaluator = Evaluator(sqlite_ledger, settings(receiver, [{"kind": "anomaly", "by": "feature",
                                                                "min_hourly": 0.01}]))
    fired: dict[Any, list[dict[str, str]]] = {}
    for day in range(15, 22):
        for hour in range(0, 24, 3 if day != 20 else 1):
            now = START + timedelta(days=day, hours=hour, minutes=5)
            for alert in evaluator.run(now):
                fired.setdefault((day, hour), []).append(alert.scope)
    assert fired == {(20, 15): [{"feature": "search"}]}


def test_actual_spend_diverging_from_the_forecast(receiver: Receiver, sqlite_ledger: Ledger) -> None:
    budget = Budget(limit_usd=1000, window="month", name="org")
    days = [NOV + timedelta(days=i, hours=12) for i in range(20)]  # (the rule needs 14 days of history first)
    sqlite_ledger.write([event(d, str(5 + (i % 3) * 0.5)) for i, d in enumerate(days[:19])])  # $5–6 a day
    sqlite_ledger.write([event(days[19], "15")])  # then $15
    evaluator = Evaluator(sqlite_ledger, settings(receiver, [{"kind": "forecast_divergence", "budget": "org"}]),
                          budgets=lambda: [budget])
    assert evaluator.run(NOV + timedelta(days=19, hours=9)) == []  # day 18 was like the others
    [alert] = evaluator.run(NOV + timedelta(days=20, hours=9))
    assert alert.evidence["actual_usd"] == "15" and Decimal(alert.evidence["high_usd"]) < 15
    assert "above the forecast" in alert.title


def test_a_normal_month_does_not_diverge(receiver: Receiver, sqlite_ledger: Ledger) -> None:
    steady_month(sqlite_ledger)
    budget = Budget(limit_usd=1000, window="month", name="org")
    evaluator = Evaluator(sqlite_ledger, settings(receiver, [{"kind": "forecast_divergence", "budget": "org"}]),
                          budgets=lambda: [budget])
    assert [a for day in range(8, 30) for a in evaluator.run(START + timedelta(days=day, hours=6))] == []
