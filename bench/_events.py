"""Shared by the benchmarks: a realistic, reproducible mix of calls and priced events, timing and table helpers."""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `from tests.servers import start_postgres` works from bench scripts
    sys.path.insert(0, str(ROOT))

from llmledger.events import UsageEvent  # noqa: E402
from llmledger.pricing import PriceBook  # noqa: E402
from llmledger.usage import Usage  # noqa: E402

# (provider, model, weight, profile). Profiles shape the usage: cached prompts, reasoning, cache writes, long prompts.
MODELS: tuple[tuple[str, str, int, str], ...] = (
    ("openai", "gpt-4o-mini", 28, "chat"),
    ("openai", "gpt-4o", 10, "chat"),
    ("openai", "gpt-4.1", 5, "chat"),
    ("openai", "o4-mini", 8, "reasoning"),
    ("anthropic", "claude-sonnet-4-5", 12, "anthropic-long"),  # tiered: prices change above 200k input tokens
    ("anthropic", "claude-3-5-haiku-latest", 8, "anthropic"),
    ("anthropic", "claude-opus-4-1", 3, "anthropic"),
    ("google", "gemini-2.5-flash", 15, "reasoning"),
    ("google", "gemini-2.0-flash", 9, "chat"),
    ("openai", "acme-support-ft-v3", 2, "chat"),  # not in the catalog: priced as `unpriced`
)
FEATURES = ("chat", "search", "summarize", "classify", "agent", "extract", "translate", "autocomplete")
TENANTS = tuple(f"tenant-{i:02d}" for i in range(40))
USERS = tuple(f"user-{i:05d}" for i in range(5000))

Call = tuple[str, str, Usage, datetime]


def _usage(rng: random.Random, profile: str) -> Usage:
    prompt = int(rng.lognormvariate(7.0, 1.0)) + 20  # median ~1,100 tokens, long tail
    cached = int(prompt * rng.uniform(0.3, 0.9)) if rng.random() < 0.4 else 0
    output = int(rng.lognormvariate(5.5, 0.8)) + 1
    if profile == "reasoning":
        return Usage(input=prompt - cached, cache_read=cached, output=output, reasoning=int(rng.lognormvariate(6.5, 1)))
    if profile.startswith("anthropic"):
        if profile == "anthropic-long" and rng.random() < 0.05:
            prompt = rng.randint(200_001, 600_000)  # above the long-context threshold
            cached = int(prompt * 0.5) if cached else 0
        write = int((prompt - cached) * 0.5) if rng.random() < 0.15 else 0
        write_1h = write // 2 if rng.random() < 0.3 else 0
        return Usage(input=prompt - cached - write, cache_read=cached, cache_write_5m=write - write_1h,
                     cache_write_1h=write_1h, output=output, web_searches=1 if rng.random() < 0.02 else 0)
    return Usage(input=prompt - cached, cache_read=cached, output=output)


def make_calls(n: int, *, seed: int = 1, days: float = 30, end: datetime | None = None) -> list[Call]:
    """n unpriced calls: (provider, model, usage, ts), timestamps spread uniformly over the `days` before `end`,
    oldest first (calls reach a live ledger in time order)."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    span = days * 86_400
    picks = rng.choices(MODELS, weights=[w for *_, w, _ in MODELS], k=n)
    # Timestamps sorted first, so objects are also allocated in the order they are used (no artificial cache misses).
    ages = sorted((rng.random() * span for _ in range(n)), reverse=True)
    return [(p, m, _usage(rng, profile), end - timedelta(seconds=age))
            for (p, m, _, profile), age in zip(picks, ages, strict=True)]


def make_events(n: int, book: PriceBook, *, seed: int = 1, days: float = 30, end: datetime | None = None
                ) -> list[UsageEvent]:
    """n priced events with the tags reports group by (feature, tenant, user)."""
    rng = random.Random(seed + 1_000_003)
    events = []
    for provider, model, usage, ts in make_calls(n, seed=seed, days=days, end=end):
        cost = book.price(usage, provider=provider, model=model, at=ts)
        tags = {"feature": rng.choice(FEATURES), "tenant": rng.choice(TENANTS), "user": rng.choice(USERS)}
        events.append(UsageEvent(provider=provider, model=model, usage=usage, cost=cost, ts=ts, tags=tags,
                                 latency_ms=rng.randint(80, 9000), recorded_at=ts))
    return events


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def timed(fn: Callable[[], object]) -> float:
    """Seconds for one call. The garbage collector stays on (as in an application), but objects built before
    timing are frozen out of its scans, so a big pre-built fixture does not inflate the figure."""
    gc.collect()
    gc.freeze()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(_fmt(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 1000 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(seconds: float, baseline: float) -> str:
    return f"{seconds / baseline:.1f}x"


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"
