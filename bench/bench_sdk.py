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
from dataclasses import dataclass, field
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


@dataclass
class Side:
    wall: list[int] = field(default_factory=list)  # ns per call
    cpu: int = 0  # ns of this process's CPU (every thread: the ledger's writer too) over this side's blocks
    thread: int = 0  # ns of the calling thread's CPU over this side's blocks

    def per_call(self, ns: int) -> float:
        return ns / len(self.wall)


def interleaved(bare: Callable[[], None], inst: Callable[[], None], n: int, block: int
                ) -> tuple[Side, Side, list[float]]:
    """n timed calls per side, in alternating blocks; which side goes first alternates too (ABBA), so a drift or a
    burst of load on the machine hits both alike. Also the per-round difference of the two block medians."""
    sides = {"bare": Side(), "inst": Side()}
    order = (("bare", bare), ("inst", inst))
    paired: list[float] = []
    done, rnd = 0, 0
    perf, cpu, thread = time.perf_counter_ns, time.process_time_ns, time.thread_time_ns
    while done < n:
        size = min(block, n - done)
        medians = {}
        for name, fn in (order if rnd % 2 == 0 else order[::-1]):
            side = sides[name]
            out = side.wall
            start = len(out)
            c0, t0 = cpu(), thread()
            for _ in range(size):
                w0 = perf()
                fn()
                out.append(perf() - w0)
            side.cpu += cpu() - c0
            side.thread += thread() - t0
            medians[name] = statistics.median(out[start:])
        paired.append(medians["inst"] - medians["bare"])
        done += size
        rnd += 1
    return sides["bare"], sides["inst"], paired


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def us(ns: float) -> float:
    return ns / 1000


# ---------------------------------------------------------------------------------------------- capture hooks only


def hooks_only(capture: Capture, body: bytes, response: bytes, n: int) -> list[int]:
    """ns per call for the capture hooks the transport runs on the caller's thread, without any HTTP: begin,
    respond, feed, close, finish (which hands the parsing, pricing and building of the event to the ledger's
    writer thread; that share is measured separately, as process CPU until flushed)."""
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


def server_cpu(pid: int) -> float | None:
    """CPU seconds the fake provider's process has used (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, ValueError, IndexError):
        return None


def load(cpu_s: float | None, wall_s: float) -> str:
    return "n/a" if cpu_s is None else f"{cpu_s / wall_s:.2f} CPU"


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--calls", type=int, default=100_000,
                        help="instrumented non-streamed calls in all (warm-up and latency calls count toward it)")
    parser.add_argument("--latency-calls", type=int, default=20_000, help="timed non-streamed calls per client")
    parser.add_argument("--stream-calls", type=int, default=2_000, help="timed streamed calls per client and variant")
    parser.add_argument("--sink-calls", type=int, default=5_000,
                        help="timed non-streamed calls per client with the events dropped (diagnostic)")
    parser.add_argument("--hook-calls", type=int, default=50_000, help="iterations of the capture hooks alone")
    parser.add_argument("--warmup", type=int, default=500, help="untimed calls per client first")
    parser.add_argument("--block", type=int, default=200, help="calls per block when interleaving")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads for the bulk (loss check) calls")
    parser.add_argument("--provider-delay-ms", type=int, default=0,
                        help="the fake provider waits this long before answering non-streamed calls (as real "
                             "providers do)")
    parser.add_argument("--bare-bulk", type=int, default=10_000,
                        help="bare calls over the same threads first, as the throughput baseline")
    args = parser.parse_args()
    if args.provider_delay_ms:
        USAGE["x-fake-delay-ms"] = str(args.provider_delay_ms)
    if args.quick:
        args.calls, args.latency_calls, args.stream_calls, args.hook_calls = 3_000, 1_000, 100, 2_000
        args.sink_calls = 400
        args.warmup, args.bare_bulk, args.block = 50, 500, 100

    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp:
        proc, port = start_provider(Path(tmp) / "fake_provider.log")
        try:
            run(args, Path(tmp), port, proc.pid)
        finally:
            stop_provider(proc)


def run(args: argparse.Namespace, tmp: Path, port: int, server_pid: int) -> None:
    url = f"http://127.0.0.1:{port}/v1"
    ledger = llmledger.Ledger.open(f"sqlite:///{tmp / 'bench.db'}", spool_dir=tmp / "spool")
    bare = openai.OpenAI(base_url=url, api_key="sk-bench", max_retries=0)
    inst = llmledger.instrument(openai.OpenAI(base_url=url, api_key="sk-bench", max_retries=0), ledger=ledger)
    capture = capture_of(inst)
    made = {"plain": 0, "streamed": 0, "hooks": 0}  # instrumented calls made: events the ledger must hold
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
        plain = interleaved(lambda: plain_call(bare), lambda: plain_call(inst), args.latency_calls, args.block)
        made["plain"] += len(plain[1].wall)

        print("[2/4] streamed calls, end to end ...", flush=True)
        # (a) the caller asks for usage itself: identical requests and responses on both sides.
        asks = interleaved(lambda: streamed_call(bare, ask_usage=True), lambda: streamed_call(inst, ask_usage=True),
                           args.stream_calls, args.block)
        # (b) the caller does not: llmledger adds include_usage to the request and hides the usage chunk. The bare
        # side asks for usage so the server sends the same bytes to both (its caller sees one chunk more).
        adds = interleaved(lambda: streamed_call(bare, ask_usage=True), lambda: streamed_call(inst, ask_usage=False),
                           args.stream_calls, args.block)
        made["streamed"] += len(asks[1].wall) + len(adds[1].wall)

        # Diagnostic: the same non-streamed pair with the events dropped (never made, never written) instead of
        # handed to the ledger's writer, which splits the added time into the wrapper's own path and the writer's
        # thread (it shares the GIL and the CPUs with the caller). Not in the ledger, so not in the loss check.
        capture.later = lambda make: None
        try:
            dropped = interleaved(lambda: plain_call(bare), lambda: plain_call(inst), args.sink_calls, args.block)
        finally:
            capture.later = ledger.record_later
        assert ledger.flush(600)

        print("[3/4] capture hooks alone (no HTTP) ...", flush=True)
        body = json.dumps({"messages": MESSAGES, "model": MODEL}).encode()  # what the SDK sends
        raw = bare.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES,  # type: ignore[arg-type]
                                                             extra_headers=USAGE)
        response = raw.http_response.content
        warm = min(1_000, args.hook_calls)
        hooks_only(capture, body, response, warm)
        made["hooks"] += warm
        assert ledger.flush(600)
        c0 = time.process_time_ns()
        hooks = hooks_only(capture, body, response, args.hook_calls)
        assert ledger.flush(600)  # the writer's share of the work: building rows, inserting them
        hooks_cpu = time.process_time_ns() - c0
        made["hooks"] += len(hooks)

        print(f"[4/4] bulk calls over {args.threads} threads (loss check) ...", flush=True)
        s0 = server_cpu(server_pid)
        c0 = time.process_time_ns()
        bare_s, bare_n, bare_failed = threaded(lambda: plain_call(bare), args.bare_bulk, args.threads)
        bare_cpu = (time.process_time_ns() - c0) / 1e9
        s1 = server_cpu(server_pid)
        rest = max(0, args.calls - made["plain"])
        c0 = time.process_time_ns()
        inst_s, inst_n, inst_failed = threaded(lambda: plain_call(inst), rest, args.threads)
        inst_cpu = (time.process_time_ns() - c0) / 1e9
        s2 = server_cpu(server_pid)
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
    med = statistics.median

    def wall_row(label: str, result: tuple[Side, Side, list[float]]) -> tuple:
        b, i, pairs = result
        added = med(i.wall) - med(b.wall)
        return (f"{label} ({len(i.wall):,} per side)", us(med(b.wall)), us(med(i.wall)), us(added),
                f"{added / med(b.wall):+.1%}", us(pct(b.wall, 0.9)), us(pct(i.wall, 0.9)),
                us(pct(i.wall, 0.9) - pct(b.wall, 0.9)), us(med(pairs)))

    def cpu_row(label: str, result: tuple[Side, Side, list[float]]) -> tuple:
        b, i, _ = result
        return (label, us(b.per_call(b.cpu)), us(i.per_call(i.cpu)), us(i.per_call(i.cpu) - b.per_call(b.cpu)),
                us(b.per_call(b.thread)), us(i.per_call(i.thread)), us(i.per_call(i.thread) - b.per_call(b.thread)))

    labels = ("non-streamed", "non-streamed, events dropped (no ledger)", "streamed, caller asks for usage",
              "streamed, llmledger adds usage")
    results = (plain, dropped, asks, adds)
    print("\nwall time per call, us (end to end, same fake provider, interleaved blocks)")
    print(table(("", "bare median", "instr. median", "added median", "added / bare", "bare p90", "instr. p90",
                 "added p90", "added, median of block pairs"),
                [wall_row(label, r) for label, r in zip(labels, results, strict=True)]))
    print("\nclient CPU per call, us (mean over the same blocks; 'process' includes the ledger's writer thread)")
    print(table(("", "bare process", "instr. process", "added process", "bare thread", "instr. thread",
                 "added thread"), [cpu_row(label, r) for label, r in zip(labels, results, strict=True)]))
    hook_mean = sum(hooks) / len(hooks)
    bare_med = med(plain[0].wall)
    print(f"\ncapture hooks alone (begin, respond, feed, close, finish -> ledger.record), {len(hooks):,} iterations, "
          f"one thread: median {us(med(hooks)):.1f} us, mean {us(hook_mean):.1f} us, p90 {us(pct(hooks, 0.9)):.1f} us "
          f"per call ({hook_mean / bare_med:.1%} of a bare call's median); with the writer's share (process CPU "
          f"until flushed): {us(hooks_cpu / len(hooks)):.1f} us per call")
    bare_rate, inst_rate = bare_n / bare_s, (inst_n / inst_s if inst_n else 0.0)
    print(f"\nthroughput over {args.threads} threads: bare {bare_rate:,.0f} calls/s ({bare_n:,} calls, {bare_failed} "
          f"failed), instrumented {inst_rate:,.0f} calls/s ({inst_n:,} calls, {inst_failed} failed); "
          f"ratio {inst_rate / bare_rate:.2f}x")
    print(f"  load while bare: client {load(bare_cpu, bare_s)}, fake provider "
          f"{load(None if s0 is None or s1 is None else s1 - s0, bare_s)}; while instrumented: client "
          f"{load(inst_cpu, inst_s) if inst_n else 'n/a'}, fake provider "
          f"{load(None if s1 is None or s2 is None or not inst_n else s2 - s1, inst_s or 1)}")
    print(f"  final flush: {flush_s:.2f} s ({'done' if flushed else 'TIMED OUT'})")
    print(f"capture stats: calls {stats.calls:,}, recorded {stats.recorded:,}, estimated {stats.estimated:,}, "
          f"errors {stats.errors:,}{f' (last: {stats.last_error})' if stats.last_error else ''}")
    print(f"writer stats: written {wstats.written:,}, duplicates {wstats.duplicates:,}, spooled {wstats.spooled:,}, "
          f"replayed {wstats.replayed:,}, rejected {wstats.rejected:,}, overflowed {wstats.overflowed:,}, "
          f"failures {wstats.failures:,}")

    b, i, _ = plain
    added = us(med(i.wall) - med(b.wall))
    print("\nsummary")
    print(f"  median added per non-streamed call: {added:.1f} us (bare {us(med(b.wall)):.1f} us, instrumented "
          f"{us(med(i.wall)):.1f} us; median of block pairs {us(med(plain[2])):.1f} us)")
    print(f"  median added per non-streamed call with the events dropped (no ledger writer): "
          f"{us(med(dropped[1].wall) - med(dropped[0].wall)):.1f} us")
    print(f"  added client CPU per non-streamed call: {us(i.per_call(i.cpu) - b.per_call(b.cpu)):.1f} us "
          f"(calling thread {us(i.per_call(i.thread) - b.per_call(b.thread)):.1f} us)")
    print(f"  capture hooks alone: {us(med(hooks)):.1f} us median, {us(hook_mean):.1f} us mean per call; "
          f"{us(hooks_cpu / len(hooks)):.1f} us CPU per call with the writer's share")
    print(f"  median added per streamed call: {us(med(adds[1].wall) - med(adds[0].wall)):.1f} us (llmledger adds "
          f"usage), {us(med(asks[1].wall) - med(asks[0].wall)):.1f} us (caller asks for usage)")
    print(f"  throughput, {args.threads} threads: bare {bare_rate:,.0f} calls/s, instrumented {inst_rate:,.0f} calls/s")
    print(f"  instrumented calls made: {expected:,} = {made['plain']:,} non-streamed through the client "
          f"+ {made['streamed']:,} streamed + {made['hooks']:,} through the capture hooks alone "
          f"(not counted: {len(dropped[1].wall):,} with the events dropped)")
    print(f"  events in the ledger: {stored:,}")
    print(f"  events lost: {lost}")
    print(f"  capture errors: {stats.errors}")
    print(f"  target median added <= {TARGET_ADDED_US:.0f} us: {verdict(added <= TARGET_ADDED_US)}")
    print(f"  target zero events lost over {made['plain']:,} non-streamed calls (>= {args.calls:,}): "
          f"{verdict(lost == 0 and stats.errors == 0 and flushed and made['plain'] >= args.calls)}")


if __name__ == "__main__":
    main()
