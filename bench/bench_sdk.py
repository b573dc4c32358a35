"""SDK wrapper: added latency per call of `llmledger.instrument(client)` against the bare client, and events lost.

    python bench/bench_sdk.py                 # 20,000 latency calls per client, 2,000 streamed pairs per variant,
                                              # 100,000 instrumented non-streamed calls in all
    python bench/bench_sdk.py --quick         # smoke run

Targets: median added latency <= 50 us per call; zero events lost over 100,000 calls.
Both clients are the real `openai.OpenAI` (max_retries=0) talking to the same local fake provider
(`tests/fake_provider.py`, started here on 127.0.0.1 in its own process), interleaved in blocks, in the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import openai

import llmledger
from _events import ROOT, table, verdict
from llmledger.capture import Capture
from llmledger.sdk import capture_of

TARGET_ADDED_US = 50.0
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello in one word."}]
USAGE = {"x-fake-usage": "1200,35"}  # a small chat completion, built by the server the same way for both clients
THREADS = 4


# ---------------------------------------------------------------------------------------------- fake provider


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_provider(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`python tests/fake_provider.py PORT` on a free loopback port; returns once it answers."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_provider.py"), str(port)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    with httpx2.Client(timeout=1) as probe:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the fake provider exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                if probe.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200:
                    return proc, port
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                stop_provider(proc)
                raise RuntimeError("the fake provider did not answer within 30 s")
            time.sleep(0.05)


def stop_provider(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ---------------------------------------------------------------------------------------------- calls


def plain_call(client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=USAGE)  # type: ignore[arg-type]


def streamed_call(client: openai.OpenAI, *, ask_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if ask_usage else {}
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **options)  # type: ignore
    for _ in stream:
        pass


def interleaved(bare: Callable[[], None], inst: Callable[[], None], n: int, block: int
                ) -> tuple[list[int], list[int], list[float]]:
    """n timed calls per side (ns each), in alternating blocks; which side goes first alternates too (ABBA), so a
    drift or a burst of load on the machine hits both alike. Also the per-round difference of block medians."""
    times: dict[str, list[int]] = {"bare": [], "inst": []}
    paired: list[float] = []
    sides = (("bare", bare), ("inst", inst))
    done, rnd = 0, 0
    perf = time.perf_counter_ns
    while done < n:
        size = min(block, n - done)
        medians = {}
        for name, fn in (sides if rnd % 2 == 0 else sides[::-1]):
            out = times[name]
            start = len(out)
            for _ in range(size):
                t0 = perf()
                fn()
                out.append(perf() - t0)
            medians[name] = statistics.median(out[start:])
        paired.append(medians["inst"] - medians["bare"])
        done += size
        rnd += 1
    return times["bare"], times["inst"], paired


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def us(ns: float) -> float:
    return ns / 1000


# ---------------------------------------------------------------------------------------------- capture hooks only


def hooks_only(capture: Capture, body: bytes, response: bytes, n: int) -> list[int]:
    """ns per call for the capture hooks the transport runs, without any HTTP: begin, respond, feed, close, finish
    (which builds, prices and queues the event to the ledger's background writer)."""
    perf = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = perf()
        call, _ = capture.begin("POST", "/v1/chat/completions", body)
        tap = call.respond(200, "application/json")
        tap.feed(response)
        tap.close()
        call.finish()
        out.append(perf() - t0)
    return out


# ---------------------------------------------------------------------------------------------- bulk, threaded


def threaded(fn: Callable[[], None], n: int, threads: int) -> tuple[float, int, int]:
    """n calls of fn over `threads` threads: (seconds, calls made, calls that raised)."""
    counts = [0] * threads
    failures = [0] * threads
    shares = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]

    def work(i: int) -> None:
        for _ in range(shares[i]):
            try:
                fn()
            except Exception:  # noqa: BLE001 - a failed call is still an attempt the ledger must record
                failures[i] += 1
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start, sum(counts), sum(failures)


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--calls", type=int, default=100_000,
                        help="instrumented non-streamed calls in all (latency calls count toward it)")
    parser.add_argument("--latency-calls", type=int, default=20_000, help="timed non-streamed calls per client")
    parser.add_argument("--stream-calls", type=int, default=2_000, help="timed streamed calls per client and variant")
    parser.add_argument("--hook-calls", type=int, default=50_000, help="iterations of the capture hooks alone")
    parser.add_argument("--warmup", type=int, default=500, help="untimed calls per client first")
    parser.add_argument("--block", type=int, default=200, help="calls per block when interleaving")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads for the bulk (loss) calls")
    parser.add_argument("--bare-bulk", type=int, default=10_000,
                        help="bare calls over the same threads, for a throughput baseline")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.latency_calls, args.stream_calls, args.hook_calls = 3_000, 1_000, 100, 2_000
        args.warmup, args.bare_bulk, args.block = 50, 500, 100

    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp:
        proc, port = start_provider(Path(tmp) / "fake_provider.log")
        try:
            run(args, Path(tmp), port)
        finally:
            stop_provider(proc)


def run(args: argparse.Namespace, tmp: Path, port: int) -> None:
    url = f"http://127.0.0.1:{port}/v1"
    ledger = llmledger.Ledger.open(f"sqlite:///{tmp / 'bench.db'}", spool_dir=tmp / "spool")
    bare = openai.OpenAI(base_url=url, api_key="sk-bench", max_retries=0)
    inst = llmledger.instrument(openai.OpenAI(base_url=url, api_key="sk-bench", max_retries=0), ledger=ledger)
    capture = capture_of(inst)
    made = {"plain": 0, "streamed": 0, "hooks": 0}  # instrumented calls made, i.e. events the ledger must hold
    print(f"SDK benchmark: openai {openai.__version__} client against tests/fake_provider.py on 127.0.0.1:{port}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"  {args.latency_calls:,} timed non-streamed calls per client (blocks of {args.block}, interleaved), "
          f"{args.stream_calls:,} streamed per client and variant, {args.hook_calls:,} capture-hook iterations, "
          f"{args.calls:,} instrumented non-streamed calls in all")
    try:
        # Warm-up: connections opened, code paths and price tables warm, on both sides.
        for _ in range(args.warmup):
            plain_call(bare)
            plain_call(inst)
            made["plain"] += 1
        for ask in (True, False):
            for _ in range(max(10, args.warmup // 10)):
                streamed_call(bare, ask_usage=True)
                streamed_call(inst, ask_usage=ask)
                made["streamed"] += 1
        assert ledger.flush(600)
        gc.collect()
        gc.freeze()

        print("\n[1/4] non-streamed calls, end to end ...", flush=True)
        b, i, paired = interleaved(lambda: plain_call(bare), lambda: plain_call(inst), args.latency_calls, args.block)
        made["plain"] += len(i)

        print("[2/4] streamed calls, end to end ...", flush=True)
        # (a) the caller asks for usage itself: identical requests and responses on both sides.
        sa_b, sa_i, sa_p = interleaved(lambda: streamed_call(bare, ask_usage=True),
                                       lambda: streamed_call(inst, ask_usage=True), args.stream_calls, args.block)
        # (b) the caller does not: llmledger adds include_usage to the request and hides the usage chunk. The bare
        # side asks for usage so the server sends the same bytes to both (its caller sees one chunk more).
        sb_b, sb_i, sb_p = interleaved(lambda: streamed_call(bare, ask_usage=True),
                                       lambda: streamed_call(inst, ask_usage=False), args.stream_calls, args.block)
        made["streamed"] += len(sa_i) + len(sb_i)

        print("[3/4] capture hooks alone (no HTTP) ...", flush=True)
        body = json.dumps({"messages": MESSAGES, "model": MODEL}).encode()  # what the SDK sends
        raw = bare.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES,  # type: ignore[arg-type]
                                                             extra_headers=USAGE)
        response = raw.http_response.content
        hooks_only(capture, body, response, min(1_000, args.hook_calls))  # warm
        made["hooks"] += min(1_000, args.hook_calls)
        hooks = hooks_only(capture, body, response, args.hook_calls)
        made["hooks"] += len(hooks)
        assert ledger.flush(600)

        print(f"[4/4] bulk calls over {args.threads} threads (loss check) ...", flush=True)
        bare_s, bare_n, bare_failed = threaded(lambda: plain_call(bare), args.bare_bulk, args.threads)
        rest = max(0, args.calls - made["plain"])
        inst_s, inst_n, inst_failed = threaded(lambda: plain_call(inst), rest, args.threads)
        made["plain"] += inst_n
        flush_start = time.perf_counter()
        flushed = ledger.flush(600)
        flush_s = time.perf_counter() - flush_start
        stored = ledger.count()
    finally:
        bare.close()
        inst.close()
        ledger.close()

    expected = sum(made.values())
    lost = expected - stored
    stats, wstats = capture.stats, ledger.writer.stats

    def row(label: str, bs: list[int], ins: list[int], pairs: list[float]) -> tuple:
        added = statistics.median(ins) - statistics.median(bs)
        return (label, us(statistics.median(bs)), us(statistics.median(ins)), us(added),
                f"{added / statistics.median(bs):+.1%}", us(pct(bs, 0.9)), us(pct(ins, 0.9)),
                us(pct(ins, 0.9) - pct(bs, 0.9)), us(statistics.median(pairs)))

    print()
    print(table(("per call, us", "bare median", "instr. median", "added median", "added / bare", "bare p90",
                 "instr. p90", "added p90", "added, median of block pairs"), [
        row(f"non-streamed ({len(i):,} per side)", b, i, paired),
        row(f"streamed, caller asks usage ({len(sa_i):,})", sa_b, sa_i, sa_p),
        row(f"streamed, llmledger adds usage ({len(sb_i):,})", sb_b, sb_i, sb_p),
    ]))
    hook_mean = sum(hooks) / len(hooks)
    print(f"\ncapture hooks alone (begin, respond, feed, close, finish -> ledger.record), {len(hooks):,} iterations: "
          f"mean {us(hook_mean):.1f} us, median {us(statistics.median(hooks)):.1f} us, "
          f"p90 {us(pct(hooks, 0.9)):.1f} us per call ({hook_mean / statistics.median(b):.1%} of a bare call)")
    print(f"\nthroughput over {args.threads} threads: bare {bare_n / bare_s:,.0f} calls/s ({bare_n:,} calls, "
          f"{bare_failed} failed), instrumented {inst_n / inst_s if inst_s else 0:,.0f} calls/s ({inst_n:,} calls, "
          f"{inst_failed} failed); ratio {(inst_n / inst_s) / (bare_n / bare_s) if inst_n else 0:.2f}x; "
          f"final flush {flush_s:.2f} s ({'done' if flushed else 'TIMED OUT'})")
    print(f"capture stats: calls {stats.calls:,}, recorded {stats.recorded:,}, estimated {stats.estimated:,}, "
          f"errors {stats.errors:,}{f' (last: {stats.last_error})' if stats.last_error else ''}")
    print(f"writer stats: written {wstats.written:,}, duplicates {wstats.duplicates:,}, spooled {wstats.spooled:,}, "
          f"replayed {wstats.replayed:,}, rejected {wstats.rejected:,}, overflowed {wstats.overflowed:,}, "
          f"failures {wstats.failures:,}")

    added = us(statistics.median(i) - statistics.median(b))
    print("\nsummary")
    print(f"  instrumented calls made: {expected:,} = {made['plain']:,} non-streamed through the client "
          f"+ {made['streamed']:,} streamed + {made['hooks']:,} through the capture hooks alone")
    print(f"  events in the ledger:    {stored:,}")
    print(f"  events lost: {lost}")
    print(f"  capture errors: {stats.errors}")
    print(f"  median added per non-streamed call: {added:.1f} us (bare {us(statistics.median(b)):.1f} us, "
          f"instrumented {us(statistics.median(i)):.1f} us)")
    print(f"  median added per streamed call: {us(statistics.median(sb_i) - statistics.median(sb_b)):.1f} us "
          f"(llmledger adds usage), {us(statistics.median(sa_i) - statistics.median(sa_b)):.1f} us (caller asks)")
    print(f"  capture hooks alone: {us(hook_mean):.1f} us per call (mean)")
    print(f"  target median added <= {TARGET_ADDED_US:.0f} us: {verdict(added <= TARGET_ADDED_US)}")
    print(f"  target zero events lost over {made['plain']:,} non-streamed calls "
          f"(>= {args.calls:,}), zero capture errors: {verdict(lost == 0 and stats.errors == 0 and flushed)}")


if __name__ == "__main__":
    main()
