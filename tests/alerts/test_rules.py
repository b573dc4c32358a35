"""Alert rules on synthetic histories with known answers, delivered to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from llmledger import Budget, Ledger
from llmledger.alerts import AlertSettings, Evaluator
from llmledger.config import Config
from llmledger.errors import ConfigError
from llmledger.events import UsageEvent
from llmledger.pricing import Cost
from llmledger.usage import Usage

from .receiver import Receiver

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def event(ts: datetime, usd: str | Decimal, *, input_tokens: int = 100, session: str | None = None,
          status: str = "priced", **tags: str) -> UsageEvent:
    amount = Decimal(usd)
    cost = Cost(status, amount if status == "priced" else None, input=amount if status == "priced" else None,
                reason=None if status == "priced" else "no price for my-model")
    return UsageEvent("openai", "gpt-4o-mini" if status == "priced" else "my-model", Usage(input=input_tokens), cost,
                      ts=ts, tags=tags, session_id=session)


def settings(receiver: Receiver, rules: list[dict[str, Any]], **extra: Any) -> AlertSettings:
    raw = {"alerts": {"channels": [{"name": "hook", "type": "webhook", "url": receiver.url(), "secret": "s3cret"}],
                      "rules": [{**r, "notify": ["hook"]} for r in rules], **extra}}
    return AlertSettings.from_config(Config(raw=raw))


def test_each_budget_threshold_fires_once_per_window(receiver: Receiver, ledger: Ledger) -> None:
    budget = Budget(limit_usd=10, window="day", scope={"tenant": "acme"}, name="acme-daily")
    evaluator = Evaluator(ledger, settings(receiver, [{"kind": "budget", "budget": "acme-daily"}]),
                          budgets=lambda: [budget])
    day = START + timedelta(hours=9)
    ledger.write([event(day, "6", tenant="acme"), event(day, "50", tenant="other")])
    assert [a.evidence["threshold"] for a in evaluator.run(day + timedelta(minutes=1))] == [0.5]
    assert evaluator.run(day + timedelta(minutes=2)) == []  # the same threshold in the same window: once
    ledger.write([event(day + timedelta(hours=1), "2.5", tenant="acme")])
    assert [a.evidence["threshold"] for a in evaluator.run(day + timedelta(hours=2))] == [0.8]
    ledger.write([event(day + timedelta(hours=3), "2", tenant="acme")])
    assert [a.evidence["threshold"] for a in evaluator.run(day + timedelta(hours=4))] == [1.0]
    next_day = day + timedelta(days=1)  # a new window starts from zero
    ledger.write([event(next_day, "5", tenant="acme")])
    assert [a.evidence["threshold"] for a in evaluator.run(next_day + timedelta(minutes=1))] == [0.5]
    assert [r["json"]["evidence"]["threshold"] for r in receiver.requests] == [0.5, 0.8, 1.0, 0.5]
    first = receiver.requests[0]
    assert first["json"]["schema"] == "llmledger.alert/v1" and first["json"]["scope"] == {"tenant": "acme"}
    assert first["json"]["evidence"]["spent_usd"] == "6" and first["json"]["evidence"]["limit_usd"] == "10"
    timestamp, signature = (part.split("=", 1)[1] for part in first["headers"]["x-ledger-signature"].split(","))
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + first["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)


def test_two_evaluators_at_once_send_each_alert_once(receiver: Receiver, ledger: Ledger, ledger_url: str) -> None:
    budget = Budget(limit_usd=10, name="org")
    config = settings(receiver, [{"kind": "budget", "budget": "org"}])
    day = START + timedelta(hours=9)
    ledger.write([event(day, "11")])
    replicas = [Ledger.open(ledger_url) for _ in range(2)]  # two connections, as two gateway processes have
    evaluators = [Evaluator(replica, config, budgets=lambda: [budget]) for replica in replicas]
    start = threading.Barrier(2)
    sent: list[int] = []

    def run(evaluator: Evaluator) -> None:
        start.wait()
        sent.append(len(evaluator.run(day + timedelta(minutes=5))))

    threads = [threading.Thread(target=run, args=(e,)) for e in evaluators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for replica in replicas:
        replica.close()
    assert sum(sent) == 3  # between them, each threshold was claimed and sent exactly once
    assert sorted(r["json"]["evidence"]["threshold"] for r in receiver.requests) == [0.5, 0.8, 1.0]


def steady_month(ledger: Ledger, *, spike_day: int | None = None) -> None:
    """30 days of two features with a weekday/weekend shape, slow growth and noise; optionally, from day
    `spike_day` on, 'search' costs 2.5 times as much."""
    rng = random.Random(7)
    events = []
    for day in range(30):
        for hour in range(24):
            ts = START + timedelta(days=day, hours=hour, minutes=rng.randrange(60))
            weekend = (START + timedelta(days=day)).weekday() >= 5
            for feature, base in (("search", 1.0), ("chat", 3.0)):
                usd = base * (0.5 if weekend else 1.0) * (1 + day / 100) * rng.uniform(0.8, 1.2) / 24
                if feature == "search" and spike_day is not None and day >= spike_day:
                    usd *= 2.5
                events.append(event(ts, Decimal(str(round(usd, 6))), feature=feature))
    ledger.write(events)


def test_daily_spend_against_its_weekly_average_catches_a_doubling_on_its_day(receiver: Receiver,
                                                                             ledger: Ledger) -> None:
    steady_month(ledger, spike_day=17)
    evaluator = Evaluator(ledger, settings(receiver, [{"kind": "daily_vs_rolling_avg", "by": "feature",
                                                         "factor": 2.0, "days": 7, "min_daily_usd": 0.1}]))
    fired = {}
    for day in range(8, 18):
        for alert in evaluator.run(START + timedelta(days=day, hours=12)):
            fired.setdefault(day, []).append((alert.state, alert.scope))
    assert fired == {17: [("firing", {"feature": "search"})]}  # the spike's day, and not before


def test_a_normal_month_raises_nothing(receiver: Receiver, ledger: Ledger) -> None:
    steady_month(ledger)
    evaluator = Evaluator(ledger, settings(receiver, [{"kind": "daily_vs_rolling_avg", "by": "feature",
                                                         "min_daily_usd": 0.1}]))
    for day in range(8, 30):
        for hours in (3, 12, 23):
            assert evaluator.run(START + timedelta(days=day, hours=hours)) == []


def test_a_cleared_condition_sends_resolved(receiver: Receiver, ledger: Ledger) -> None:
    history = [event(START + timedelta(days=d, hours=12), "1", feature="f") for d in range(7)]
    burst = START + timedelta(days=7, hours=2)
    ledger.write([*history, event(burst, "0.5", feature="f")])
    evaluator = Evaluator(ledger, settings(receiver, [{"kind": "daily_vs_rolling_avg", "min_daily_usd": 0.1}]))
    # at 03:00, 0.5 spent in 1/8 of a day projects to 4.0: 4× the 1.0 average
    assert [a.state for a in evaluator.run(burst + timedelta(hours=1))] == ["firing"]
    # nothing more spent: by 20:00 the projection is 0.6, under 2×
    assert [a.state for a in evaluator.run(burst + timedelta(hours=18))] == ["resolved"]
    assert [r["json"]["state"] for r in receiver.requests] == ["firing", "resolved"]


def test_runaway_sessions(receiver: Receiver, ledger: Ledger) -> None:
    at = START + timedelta(hours=10)
    loop = [event(at + timedelta(seconds=i), "0.01", input_tokens=1000 * (i + 1), session="loop", feature="agent")
            for i in range(10)]  # resends its whole history: input grows every call
    flat = [event(at + timedelta(seconds=i), "0.01", input_tokens=1000 + (i % 3) * 10, session="flat")
            for i in range(10)]
    stuck = [event(at + timedelta(seconds=i), "0.01", input_tokens=777, session="stuck") for i in range(6)]
    ledger.write([*loop, *flat, *stuck])
    evaluator = Evaluator(ledger, settings(receiver, [{"kind": "runaway_session", "max_cost_usd": 5}]))
    fired = {(a.scope["session"], a.fingerprint.rsplit(":", 1)[1]) for a in evaluator.run(at + timedelta(minutes=5))}
    assert fired == {("loop", "growth"), ("stuck", "repeats")}
    assert evaluator.run(at + timedelta(minutes=6)) == []  # each once
    growth = next(r["json"] for r in receiver.requests if r["json"]["scope"]["session"] == "loop")
    assert growth["scope"] == {"session": "loop", "feature": "agent"} and growth["evidence"]["growth"] == 10.0


def test_unpriced_usage(receiver: Receiver, ledger: Ledger) -> None:
    at = START + timedelta(hours=10)
    ledger.write([event(at, "0", status="unpriced"), event(at, "0", status="unpriced"), event(at, "1")])
    [alert] = Evaluator(ledger, settings(receiver, [{"kind": "unpriced"}])).run(at + timedelta(minutes=5))
    assert alert.scope == {"provider": "openai", "model": "my-model"} and alert.evidence["calls"] == 2


def test_a_failing_webhook_is_retried_with_backoff_and_the_failure_recorded(receiver: Receiver,
                                                                          ledger: Ledger) -> None:
    waits: list[float] = []
    ledger.write([event(START + timedelta(hours=1), "20")])
    config = settings(receiver, [{"kind": "budget", "budget": "org", "at": [1.0]}])
    evaluator = Evaluator(ledger, config, budgets=lambda: [Budget(limit_usd=10, name="org")], sleep=waits.append)
    receiver.fail_next = 2
    evaluator.run(START + timedelta(hours=2))
    assert waits == [0.5, 1.0] and len(receiver.requests) == 1  # delivered on the third attempt
    [record] = evaluator.store.history()
    assert record["deliveries"][0] == {**record["deliveries"][0], "ok": True, "attempts": 3, "error": None}

    ledger.write([event(START + timedelta(days=1, hours=1), "20")])
    receiver.fail_next = 10
    evaluator.run(START + timedelta(days=1, hours=2))
    failed = evaluator.store.history()[0]
    assert failed["deliveries"][0]["ok"] is False and "500" in failed["deliveries"][0]["error"]


def test_config_errors_say_what_to_fix(receiver: Receiver) -> None:
    with pytest.raises(ConfigError, match="kind 'anomalyy' is not one of"):
        settings(receiver, [{"kind": "anomalyy"}])
    with pytest.raises(ConfigError, match="unknown setting"):
        settings(receiver, [{"kind": "unpriced", "treshold": 3}])
    with pytest.raises(ConfigError, match="notifies unknown channel"):
        AlertSettings.from_config(Config(raw={"alerts": {"rules": [{"kind": "unpriced", "notify": ["nope"]}]}}))
    with pytest.raises(ConfigError, match="channel type 'pager'"):
        AlertSettings.from_config(Config(raw={"alerts": {"channels": [{"name": "x", "type": "pager"}]}}))


def test_cooldown_holds_back_messages_but_keeps_the_record(receiver: Receiver, ledger: Ledger) -> None:
    at = START + timedelta(hours=10)
    evaluator = Evaluator(ledger, settings(receiver, [{"kind": "unpriced", "cooldown_minutes": 90}]))
    ledger.write([event(at, "0", status="unpriced")])
    assert len(evaluator.run(at + timedelta(minutes=5))) == 1
    ledger.write([event(at + timedelta(hours=1), "0", status="unpriced")])
    assert evaluator.run(at + timedelta(hours=1, minutes=5)) == []  # a new hour's incident, within the cooldown
    ledger.write([event(at + timedelta(hours=2), "0", status="unpriced")])
    assert len(evaluator.run(at + timedelta(hours=2, minutes=5))) == 1  # cooldown over
    history = evaluator.store.history()
    assert [h["deliveries"][0].get("suppressed") for h in history] == [None, "cooldown", None]
    assert len(receiver.requests) == 2


def test_rules_can_be_scoped_to_some_tags(receiver: Receiver, ledger: Ledger) -> None:
    history = [event(START + timedelta(days=d, hours=12), "1", feature="f", tenant=t) for d in range(7)
               for t in ("acme", "beta")]
    today = START + timedelta(days=7)
    ledger.write([*history, event(today + timedelta(hours=1), "5", feature="f", tenant="beta")])
    rule = {"kind": "daily_vs_rolling_avg", "min_daily_usd": 0.1}
    acme_only = Evaluator(ledger, settings(receiver, [{**rule, "name": "acme", "scope": {"tenant": "acme"}}]))
    assert acme_only.run(today + timedelta(hours=6)) == []  # beta's spike is not acme's business
    beta_only = Evaluator(ledger, settings(receiver, [{**rule, "name": "beta", "scope": {"tenant": "beta"}}]))
    [alert] = beta_only.run(today + timedelta(hours=6))
    assert alert.scope == {"tenant": "beta", "feature": "f"}
    with pytest.raises(ConfigError, match="tag name 'Tenant'"):
        settings(receiver, [{**rule, "scope": {"Tenant": "x"}}])
