"""Many tasks and threads calling at once, each under its own tags: no event may carry another's tags."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import openai

import llmledger
from llmledger import Ledger

from ..fake_provider import FakeProvider
from .test_openai import HI, recorded


def test_asyncio_tasks_never_mix_their_tags(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    async def one(c: openai.AsyncOpenAI, i: int) -> None:
        with llmledger.tags(user=f"u{i}", feature="tasks"), llmledger.session(f"run-{i}"):
            for turn in range(3):
                await asyncio.sleep(0)  # let the others interleave
                await c.chat.completions.create(
                    model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": f"{1000 * i + turn},1"}
                )

    async def run() -> None:
        c = llmledger.instrument(openai.AsyncOpenAI(base_url=fake.openai_url, api_key="k", max_retries=0),
                                 ledger=sqlite_ledger)
        await asyncio.gather(*(one(c, i) for i in range(1, 41)))
        await c.close()

    asyncio.run(run())
    events = recorded(sqlite_ledger)
    assert len(events) == 120
    for event in events:
        i = event.usage.input // 1000
        assert event.tags == {"user": f"u{i}", "feature": "tasks"}
        assert event.session_id == f"run-{i}"


def test_threads_never_mix_their_tags(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=sqlite_ledger)
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        start.wait()
        with llmledger.tags(tenant=f"t{i}"):
            for turn in range(10):
                c.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                          extra_headers={"x-fake-usage": f"{1000 * i + turn},2"})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = recorded(sqlite_ledger)
    assert len(events) == 80
    assert all(e.tags == {"tenant": f"t{e.usage.input // 1000}"} for e in events)


def test_tags_follow_work_into_executor_threads(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=sqlite_ledger)

    def call(i: int) -> None:
        c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": f"{i},1"})

    with ThreadPoolExecutor(4) as pool:
        for i in range(1, 13):
            with llmledger.tags(feature=f"f{i}"):
                pool.submit(call, i)

    async def via_loop() -> None:
        with llmledger.tags(feature="loop"):
            await asyncio.get_running_loop().run_in_executor(None, call, 99)

    asyncio.run(via_loop())
    events = recorded(sqlite_ledger)
    assert len(events) == 13
    assert all(e.tags == {"feature": "loop" if e.usage.input == 99 else f"f{e.usage.input}"} for e in events)
