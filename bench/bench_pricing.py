"""Pricing throughput: PriceBook.price() events/s on one thread, against bare Decimal arithmetic in the same run.

    python bench/bench_pricing.py            # 200,000 calls, 5 rounds
    python bench/bench_pricing.py --quick    # smoke run

Target: >= 200,000 events/s (warm: the per-model-per-day rate plans already compiled).
"""

from __future__ import annotations

import argparse
import platform
from collections import Counter
from decimal import Decimal

from _events import MODELS, make_calls, median, ratio, table, timed, verdict
from llmledger.errors import UnknownModel
from llmledger.pricing import PriceBook

TARGET = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("-n", type=int, default=200_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = (20_000, 3) if args.quick else (args.n, args.rounds)

    calls = make_calls(n)
    book = PriceBook()
    price = book.price

    def run_price() -> list:
        return [price(usage, provider=provider, model=model, at=ts) for provider, model, usage, ts in calls]

    # Baseline: the arithmetic price() cannot avoid, 4 Decimal multiply-adds per event with per-token rates
    # looked up by model, over the same calls (same loop and attribute-access overhead).
    zero = Decimal(0)
    rates = {}
    for provider, model, *_ in MODELS:
        try:
            found, _, _ = book.find(provider, model)
        except UnknownModel:
            found = {}
        rates[model] = tuple(
            found[k] / 1_000_000 if isinstance(found.get(k), Decimal) else Decimal("0.000003")
            for k in ("input_mtok", "cache_read_mtok", "output_mtok", "output_mtok")
        )

    def run_baseline() -> list:
        out = []
        for _, model, u, _ts in calls:
            r = rates[model]
            total = zero
            total += r[0] * u.input
            total += r[1] * u.cache_read
            total += r[2] * u.output
            total += r[3] * u.reasoning
            out.append(total)
        return out

    cold = timed(run_price)  # first pass compiles each model's rate plan once per UTC day
    statuses = Counter(cost.status for cost in run_price())
    price_times, base_times = [], []
    for _ in range(rounds):  # interleaved, so load on the machine hits both sides alike
        base_times.append(timed(run_baseline))
        price_times.append(timed(run_price))
    warm, base = median(price_times), median(base_times)

    print(f"pricing benchmark: {n:,} calls x {rounds} rounds, Python {platform.python_version()}, one thread")
    print(f"mix: {len(MODELS)} models, statuses {dict(statuses)}, {len(book._cache):,} compiled rate plans")
    print()
    print(table(("measure", "seconds (median)", "events/s", "x baseline"), [
        ("price() cold first pass", cold, n / cold, ratio(cold, base)),
        ("price() warm", warm, n / warm, ratio(warm, base)),
        ("baseline: 4 Decimal mul-add / event", base, n / base, "1.0x"),
    ]))
    print(f"\nrange over rounds: price() {min(price_times):.3f}-{max(price_times):.3f} s, "
          f"baseline {min(base_times):.3f}-{max(base_times):.3f} s")
    print(f"target >= {TARGET:,} events/s (warm): {verdict(n / warm >= TARGET)} ({n / warm:,.0f}/s; "
          f"price() costs {warm / base:.1f}x bare Decimal arithmetic)")


if __name__ == "__main__":
    main()
