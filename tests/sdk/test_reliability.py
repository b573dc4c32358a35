"""Recording never breaks the caller, loses nothing when the store is down, flushes at exit, stores no text."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import openai

import llmledger
from llmledger import Ledger
from llmledger.errors import StoreUnavailable
from llmledger.sdk import capture_of

from ..fake_provider import FakeProvider
from .test_openai import HI, recorded


class BrokenPrices:
    def price(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("price catalog on fire")


def test_a_recording_failure_never_reaches_the_caller(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=sqlite_ledger)
    capture = capture_of(c)
    capture.prices = BrokenPrices()  # type: ignore[assignment]
    reply = c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "5,5"})
    chunks = list(c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    assert reply.usage is not None and reply.usage.total_tokens == 10 and chunks
    assert sqlite_ledger.flush(10)
    assert capture.stats.errors == 2 and "price catalog on fire" in (capture.stats.last_error or "")
    assert sqlite_ledger.count() == 0


def test_a_failing_queue_never_reaches_the_caller(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=sqlite_ledger)
    capture = capture_of(c)

    def broken(make: object) -> None:
        raise RuntimeError("queue on fire")

    capture.later = broken
    reply = c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "5,5"})
    assert reply.usage is not None and capture.stats.errors == 1


class DownStore:
    """A real store that is unavailable while `down` is set."""

    def __init__(self, store: object) -> None:
        self.store = store
        self.down = threading.Event()

    def write(self, events: list) -> int:  # type: ignore[type-arg]
        if self.down.is_set():
            raise StoreUnavailable("connection refused")
        return self.store.write(events)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_store_outage_spools_and_replays(fake: FakeProvider, tmp_path: Path) -> None:
    real = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    store = DownStore(real.store)
    ledger = Ledger(store, spool_dir=tmp_path / "spool", flush_interval=0.01, retry_interval=0.0)  # type: ignore[arg-type]
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=ledger)
    store.down.set()
    for i in range(5):
        c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": f"{i + 1},1"})
    assert ledger.flush(10)
    assert ledger.writer.stats.spooled == 5 and real.count() == 0
    assert list((tmp_path / "spool").glob("*.jsonl"))
    store.down.clear()
    c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "6,1"})
    ledger.close()
    assert sorted(e.usage.input for e in real.events()) == [1, 2, 3, 4, 5, 6]
    real.close()


def test_events_are_flushed_at_process_exit_to_the_default_ledger(fake: FakeProvider, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import openai, llmledger
        client = llmledger.instrument(openai.OpenAI(base_url={fake.openai_url!r}, api_key="k", max_retries=0))
        with llmledger.tags(feature="exit"):
            for i in range(25):
                client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}],
                                               extra_headers={{"x-fake-usage": "3,2"}})
        # no flush, no close: atexit must do it
    """)
    db = tmp_path / "default.db"
    env = {"LLMLEDGER_DB": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path, timeout=60)
    with Ledger.open(f"sqlite:///{db}") as ledger:
        events = list(ledger.events())
    assert len(events) == 25 and all(e.tags == {"feature": "exit"} for e in events)


def test_configure_sets_the_default_ledger(fake: FakeProvider, tmp_path: Path) -> None:
    llmledger.configure(database=f"sqlite:///{tmp_path / 'configured.db'}", spool_dir=tmp_path / "spool")
    try:
        c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0))
        c.chat.completions.create(model="gpt-4o-mini", messages=HI)
        ledger = llmledger.sdk.default_ledger()
        assert ledger.flush(10) and ledger.count() == 1
    finally:
        llmledger.configure()  # back to the environment's default; closes (flushes) the configured one
    with Ledger.open(f"sqlite:///{tmp_path / 'configured.db'}") as reopened:
        assert reopened.count() == 1


def test_no_prompt_or_completion_text_is_stored(fake: FakeProvider, sqlite_ledger: Ledger, tmp_path: Path) -> None:
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="sk-secret-key-123", max_retries=0),
                             ledger=sqlite_ledger)
    secret = "my password is hunter2"
    c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": secret}])
    list(c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": secret}], stream=True))
    stream = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": secret}],
                                       stream=True)
    next(stream)
    stream.close()
    assert len(recorded(sqlite_ledger)) == 3
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.db*"))
    for text in (b"hunter2", b"capital of the UK", b"London", b"sk-secret-key-123"):
        assert text not in stored


def test_content_is_stored_only_when_opted_in(fake: FakeProvider, ledger: Ledger) -> None:
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=ledger,
                             store_content=True)
    c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "5,5"})
    list(c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    body, stream = recorded(ledger)
    stored = ledger.content(body.id)
    assert stored is not None and stored["request"]["messages"] == HI
    assert stored["response"]["choices"][0]["message"]["role"] == "assistant"
    assert ledger.content(stream.id) == {
        "request": {"model": "gpt-4o-mini", "messages": HI, "stream": True, "stream_options": {"include_usage": True}},
        "response": {"text": "The capital of the UK is London."},
    }
    plain = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0), ledger=ledger)
    plain.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert ledger.content(recorded(ledger)[-1].id) is None
