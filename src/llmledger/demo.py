"""A realistic synthetic month of LLM usage, for `llmledger demo` and for trying reports, sessions and alerts.

Reproducible (seeded). It holds what a real month holds: several tenants, teams, features, users and models across
OpenAI, Anthropic and Google; a weekday/weekend and business-hours shape; prompt-cache reads in multi-turn chats;
reasoning tokens; embeddings; one feature whose spend doubles mid-month; one runaway agent session whose input
grows call after call; and a few calls to a self-hosted model with no price (recorded ``unpriced``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from .events import UsageEvent
from .outcomes import Outcome
from .pricing import PriceBook
from .usage import Usage

__all__ = ["demo_events", "demo_outcomes", "live_call", "DOUBLING_FEATURE", "RUNAWAY_SESSION"]

DOUBLING_FEATURE = "summarize"
RUNAWAY_SESSION = "agent-run-0420"
_TENANTS = (("acme", "growth", 0.35), ("globex", "support", 0.25), ("initech", "platform", 0.2),
            ("umbrella", "support", 0.12), ("hooli", "growth", 0.08))


@dataclass(frozen=True)
class _Feature:
    name: str
    provider: str
    model: str
    calls_per_hour: float  # at a weekday's busiest hour
    input: tuple[int, int]
    output: tuple[int, int]
    cached_share: float = 0.0  # of the input, read from the prompt cache (multi-turn chats)
    reasoning: tuple[int, int] = (0, 0)
    turns: tuple[int, int] = (1, 1)  # calls per session


_FEATURES = (
    _Feature("support-chat", "anthropic", "claude-sonnet-4-5", 40, (1500, 4000), (150, 600), 0.6, turns=(3, 8)),
    _Feature("search", "openai", "gpt-4o-mini", 90, (800, 2500), (60, 250)),
    _Feature(DOUBLING_FEATURE, "openai", "gpt-4.1-mini", 25, (3000, 9000), (200, 700)),
    _Feature("code-review", "openai", "o4-mini", 8, (4000, 12000), (300, 1200), reasoning=(500, 3000)),
    _Feature("classify", "google", "gemini-2.5-flash", 60, (300, 900), (5, 30)),
    _Feature("triage", "anthropic", "claude-haiku-4-5", 30, (600, 1800), (40, 200), 0.3, turns=(1, 3)),
    _Feature("embed", "openai", "text-embedding-3-small", 120, (200, 800), (0, 0)),
)


def _shape(ts: datetime) -> float:
    """Relative traffic: business hours (UTC 8–18) peak, nights low, weekends at 40 %."""
    hour = ts.hour
    day = 1.0 if 8 <= hour < 18 else (0.5 if 6 <= hour < 22 else 0.15)
    return day * (0.4 if ts.weekday() >= 5 else 1.0)


def demo_events(start: datetime, *, days: int = 30, seed: int = 7, prices: PriceBook | None = None,
                scale: float = 1.0) -> Iterator[UsageEvent]:
    """The month's events in time order (about 25,000 at scale 1)."""
    prices = prices or PriceBook()
    rng = random.Random(seed)
    events: list[UsageEvent] = []
    for hour_index in range(days * 24):
        hour = start + timedelta(hours=hour_index)
        day = hour_index // 24
        for feature in _FEATURES:
            rate = feature.calls_per_hour * _shape(hour) * scale / 6  # sessions, not calls
            if feature.name == DOUBLING_FEATURE and day >= days // 2:
                rate *= 2
            for _ in range(_poisson(rng, rate)):
                events += _session(rng, feature, hour + timedelta(seconds=rng.randrange(3600)), prices)
        if day == days * 2 // 3 and hour.hour == 14:  # two thirds into the month
            events += _runaway(hour + timedelta(minutes=5), prices)
        if hour.hour == 11:  # a self-hosted model the catalog cannot price, once a day
            events += [_event(prices, "selfhosted", "acme-llama-70b", Usage(input=rng.randint(500, 2000),
                              output=rng.randint(50, 300)), hour + timedelta(minutes=rng.randrange(60)),
                              {"tenant": "initech", "team": "platform", "feature": "internal-rag",
                               "environment": "prod"})
                       for _ in range(1 + (day % 6 == 2))]
    events.sort(key=lambda e: e.ts)
    yield from events


def live_call(rng: random.Random, at: datetime, prices: PriceBook) -> UsageEvent:
    """One call at `at`, drawn like the month's traffic: what the demo keeps writing while it serves the dashboard,
    so the Live page moves."""
    feature = rng.choices(_FEATURES, weights=[f.calls_per_hour for f in _FEATURES])[0]
    return _session(rng, feature, at, prices)[0]


def demo_outcomes(events: Iterable[UsageEvent], *, seed: int = 7) -> list[Outcome]:
    """What the support chats achieved: most end ``ticket_resolved``, some ``escalated`` (recorded a minute after
    the session's last call, with its tags), so cost per outcome has something to show."""
    rng = random.Random(seed)
    last: dict[str, UsageEvent] = {}
    for event in events:
        if event.session_id and event.tags.get("feature") == "support-chat":
            last[event.session_id] = event
    out = []
    for session_id, event in sorted(last.items()):
        draw = rng.random()
        name = "ticket_resolved" if draw < 0.7 else ("escalated" if draw < 0.85 else None)
        if name:
            out.append(Outcome(name, session_id, ts=event.ts + timedelta(minutes=1), tags=dict(event.tags),
                               id=f"demo-outcome-{session_id}"))
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, 2.718281828459045 ** -mean, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _session(rng: random.Random, feature: _Feature, at: datetime, prices: PriceBook) -> list[UsageEvent]:
    tenant, team, _ = rng.choices(_TENANTS, weights=[t[2] for t in _TENANTS])[0]
    tags = {"tenant": tenant, "team": team, "feature": feature.name, "user": f"{tenant}-u{rng.randrange(40)}",
            "environment": "prod", "prompt_version": rng.choice(("v6", "v7", "v7"))}
    turns = rng.randint(*feature.turns)
    session = f"{feature.name}-{at:%m%d%H%M%S}-{rng.randrange(10**6):06d}" if turns > 1 else None
    context = rng.randint(*feature.input)
    out = []
    for turn in range(turns):
        cached = int(context * feature.cached_share) if turn else 0
        output = rng.randint(*feature.output)
        usage = Usage(input=context - cached, cache_read=cached, output=output,
                      reasoning=rng.randint(*feature.reasoning) if feature.reasoning[1] else 0,
                      requests=1)
        out.append(_event(prices, feature.provider, feature.model, usage, at + timedelta(seconds=40 * turn), tags,
                          session))
        context += output + rng.randint(50, 400)  # the next turn resends the conversation so far
    return out


def _runaway(at: datetime, prices: PriceBook) -> list[UsageEvent]:
    """An agent loop that resends its whole history on each of 60 calls: input grows by ~2,500 tokens a call."""
    tags = {"tenant": "hooli", "team": "growth", "feature": "agent", "user": "hooli-u7", "environment": "prod"}
    return [_event(prices, "anthropic", "claude-sonnet-4-5", Usage(input=2000 + 2500 * i, output=300),
                   at + timedelta(seconds=20 * i), tags, RUNAWAY_SESSION) for i in range(60)]


def _event(prices: PriceBook, provider: str, model: str, usage: Usage, ts: datetime, tags: dict[str, str],
           session: str | None = None) -> UsageEvent:
    cost = prices.price(usage, provider=provider, model=model, at=ts)
    return UsageEvent(provider, model, usage, cost, ts=ts, tags=tags, session_id=session, source="demo",
                      latency_ms=200 + usage.total_output * 8, status="ok", http_status=200)
