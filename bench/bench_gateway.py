"""Gateway: added latency per request through `llmledger serve` against calling the provider directly.

    python bench/bench_gateway.py              # 5,000 timed requests per side and variant
    python bench/bench_gateway.py --quick      # smoke run

Target: the gateway adds well under a millisecond per request (median), with the whole hot path on: a virtual
key, attribution headers, a max_tokens policy, a key budget and rate limit reserved and settled per request.
Variants: limit state in memory (one replica) and, when redis-server is installed, in Redis (several replicas).
The fake provider (`tests/fake_provider.py`) and each gateway run in their own processes on 127.0.0.1; the
client is one keep-alive httpx2 connection per side, sides interleaved in blocks (see bench_sdk.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

import llmledger
from _events import verdict
from bench_sdk import free_port, interleaved, pct, start_provider, stop_provider, us
from llmledger.gateway.keys import KeyStore

TARGET_ADDED_US = 1000.0
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in one word."}],
        "max_tokens": 100}
HEADERS = {"x-fake-usage": "1200,35", "x-ledger-feature": "bench", "x-ledger-user": "u1"}


def start_gateway(tmp: Path, name: str, provider_port: int, extra: str) -> tuple[subprocess.Popen[bytes], int]:
    directory = tmp / name
    directory.mkdir()
    (directory / "llmledger.yaml").write_text(f"""
database: sqlite:///{directory / 'gateway.db'}
providers:
  openai: {{base_url: "http://127.0.0.1:{provider_port}/v1", api_key: sk-bench}}
policy:
  max_tokens: {{default: 1000}}
{extra}
""")
    port = free_port()
    with (directory / "gateway.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "llmledger.cli", "serve", "--port", str(port), "--config",
                                 str(directory / "llmledger.yaml"), "--log-level", "warning"],
                                stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((directory / "gateway.log").read_text())
        time.sleep(0.05)


def key_for(tmp: Path, name: str) -> str:
    with llmledger.Ledger.open(f"sqlite:///{tmp / name / 'gateway.db'}") as ledger:
        return KeyStore(ledger.store).create(tags={"tenant": "acme"}, budget="1000000/day", rpm=10_000_000)[1]


def caller(url: str, headers: dict[str, str], stream: bool) -> Callable[[], None]:
    client = httpx2.Client(base_url=url, headers=headers, timeout=30)
    body = json.dumps({**BODY, "stream": stream}).encode()

    def call() -> None:
        if stream:
            with client.stream("POST", "/chat/completions", content=body) as response:
                for _ in response.iter_bytes():
                    pass
                assert response.status_code == 200, response.status_code
        else:
            response = client.post("/chat/completions", content=body)
            assert response.status_code == 200, response.text

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5_000, help="timed requests per side and variant")
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.block = 400, 100
    with tempfile.TemporaryDirectory(prefix="llmledger-bench-gw-") as name:
        tmp = Path(name)
        provider, provider_port = start_provider(tmp / "fake_provider.log")
        processes = [provider]
        redis_proc = None
        try:
            variants = {"memory": ""}
            if shutil.which("redis-server"):
                redis_port = free_port()
                redis_proc = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
                processes.append(redis_proc)
                variants["redis"] = f"redis: redis://127.0.0.1:{redis_port}/0"
            direct = f"http://127.0.0.1:{provider_port}/v1"
            print(f"gateway benchmark: {args.calls:,} timed requests per side and variant, blocks of {args.block}")
            rows = []
            summary = {}
            for variant, extra in variants.items():
                proc, port = start_gateway(tmp, variant, provider_port, extra)
                processes.append(proc)
                key = key_for(tmp, variant)
                via = f"http://127.0.0.1:{port}/v1"
                made = 0
                for stream in (False, True):
                    bare = caller(direct, HEADERS, stream)
                    gated = caller(via, {**HEADERS, "authorization": f"Bearer {key}"}, stream)
                    for _ in range(200):  # warm-up
                        bare()
                        gated()
                    made += 200
                    b, g, pairs = interleaved(bare, gated, args.calls, args.block)
                    made += len(g.wall)
                    added = statistics.median(g.wall) - statistics.median(b.wall)
                    label = f"{variant}, {'streamed' if stream else 'non-streamed'}"
                    summary[label] = us(added)
                    rows.append((label, us(statistics.median(b.wall)), us(statistics.median(g.wall)), us(added),
                                 us(pct(b.wall, 0.9)), us(pct(g.wall, 0.9)), us(statistics.median(pairs))))
                time.sleep(1)
                with llmledger.Ledger.open(f"sqlite:///{tmp / variant / 'gateway.db'}") as ledger:
                    stored = ledger.count()
                rows.append((f"{variant}: events stored / requests made", stored, made, "", "", "", ""))
                summary[f"{variant} lost"] = made - stored
            from _events import table

            print(table(("", "direct median", "gateway median", "added median", "direct p90", "gateway p90",
                         "added, median of block pairs"), rows))
            print("\nsummary")
            for label, value in summary.items():
                if label.endswith("lost"):
                    print(f"  events lost ({label.split()[0]}): {value}")
                else:
                    print(f"  median added ({label}): {value:.0f} us  target < {TARGET_ADDED_US:.0f} us: "
                          f"{verdict(value < TARGET_ADDED_US)}")
        finally:
            for proc in reversed(processes):
                stop_provider(proc)


if __name__ == "__main__":
    main()
