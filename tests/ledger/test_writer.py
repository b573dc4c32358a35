"""The background writer: never blocks the caller, spools when the store is down, replays, loses nothing."""

from __future__ import annotations

import threading

from llmledger.errors import StoreUnavailable
from llmledger.ledger import Ledger
from llmledger.ledger.writer import BatchWriter

from .helpers import spread


class FlakyStore:
    """Wraps a real store; fails every write while `down` is set."""

    def __init__(self, store):
        self.store = store
        self.down = threading.Event()
        self.calls = 0

    def write(self, events):
        self.calls += 1
        if self.down.is_set():
            raise StoreUnavailable("database is down")
        return self.store.write(events)


def test_spools_while_down_and_replays_when_back(ledger_url, prices, tmp_path):
    with Ledger.open(ledger_url) as ledger:
        flaky = FlakyStore(ledger.store)
        writer = BatchWriter(flaky, spool_dir=tmp_path / "spool", flush_interval=0.01, retry_interval=0.0)
        events = spread(prices, 30)
        flaky.down.set()
        for event in events[:20]:
            writer.put(event)
        assert writer.flush(timeout=10)
        assert writer.stats.spooled == 20 and ledger.count() == 0
        assert len(writer.pending_spool) >= 1

        flaky.down.clear()
        for event in events[20:]:
            writer.put(event)
        assert writer.flush(timeout=10)
        writer.close()
        assert ledger.count() == 30
        assert writer.pending_spool == []
        assert sorted(e.id for e in ledger.events()) == sorted(e.id for e in events)


def test_spool_left_by_a_crashed_process_is_replayed_at_start(ledger_url, prices, tmp_path):
    events = spread(prices, 7)
    with Ledger.open(ledger_url) as ledger:
        flaky = FlakyStore(ledger.store)
        flaky.down.set()
        writer = BatchWriter(flaky, spool_dir=tmp_path / "spool", flush_interval=0.01)
        for event in events:
            writer.put(event)
        writer.flush(timeout=10)  # spooled; the process "dies" here
        assert ledger.count() == 0

    with Ledger.open(ledger_url, spool_dir=tmp_path / "spool", flush_interval=0.01) as ledger:
        assert ledger.flush(timeout=10)
        assert ledger.count() == 7
        assert ledger.writer.stats.replayed == 7


def test_replaying_twice_adds_nothing(ledger_url, prices, tmp_path):
    events = spread(prices, 3)
    with Ledger.open(ledger_url, spool_dir=tmp_path / "spool", flush_interval=0.01) as ledger:
        ledger.write(events)
        writer = ledger.writer
        writer._spool(events, RuntimeError("simulated"))  # the same events, as if a write had half-succeeded
        assert ledger.flush(timeout=10)
        assert ledger.count() == 3
        assert writer.stats.duplicates == 3


def test_record_does_not_wait_for_a_slow_store(ledger_url, prices):
    release = threading.Event()

    class SlowStore:
        def write(self, events):
            release.wait(10)
            return len(events)

    writer = BatchWriter(SlowStore(), flush_interval=0.01)
    events = spread(prices, 100)
    done = threading.Event()

    def produce():
        for event in events:
            writer.put(event)
        done.set()

    threading.Thread(target=produce).start()
    assert done.wait(5), "put() blocked while the store was slow"
    release.set()
    assert writer.flush(timeout=10)
    writer.close()
    assert writer.stats.written == 100


def test_close_flushes_everything(ledger_url, prices):
    ledger = Ledger.open(ledger_url, flush_interval=5)  # a long interval: close() must not wait for it
    for event in spread(prices, 10):
        ledger.record(event)
    ledger.writer.close()
    assert ledger.count() == 10
    ledger.store.close()


def poison(prices):
    """An event no ledger can hold: a cost past NUMERIC(30, 12) and past SQLite's 64-bit pico-dollars."""
    from dataclasses import replace
    from decimal import Decimal

    from llmledger.pricing import Cost

    (event,) = spread(prices, 1)
    return replace(event, id="poison", cost=Cost(status="priced", total=Decimal("1e20"), input=Decimal("1e20")))


def test_a_refused_event_is_set_aside_and_the_rest_written(ledger_url, prices, tmp_path):
    import json

    with Ledger.open(ledger_url, spool_dir=tmp_path / "spool", flush_interval=0.01) as ledger:
        good = spread(prices, 9)
        for event in [*good[:4], poison(prices), *good[4:]]:
            ledger.record(event)
        assert ledger.flush(timeout=10)
        assert ledger.count() == 9
        assert ledger.writer.stats.rejected == 1 and ledger.writer.pending_spool == []
        (line,) = (tmp_path / "spool" / "rejected" / "events.jsonl").read_text().splitlines()
        assert json.loads(line)["event"]["id"] == "poison" and json.loads(line)["error"]
        ledger.record(spread(prices, 10)[-1])  # the writer goes on
        assert ledger.flush(timeout=10) and ledger.count() == 10


def test_a_refused_event_in_the_spool_does_not_block_replay(ledger_url, prices, tmp_path):
    with Ledger.open(ledger_url, spool_dir=tmp_path / "spool", flush_interval=0.01) as ledger:
        ledger.writer._spool([poison(prices), *spread(prices, 5)], RuntimeError("simulated outage"))
        assert ledger.flush(timeout=10)
        assert ledger.count() == 5 and ledger.writer.stats.rejected == 1
        assert ledger.writer.pending_spool == []


def test_a_synchronous_write_of_a_refused_event_fails_clearly_and_writes_nothing(ledger, prices):
    import pytest

    from llmledger.errors import RejectedEvents

    with pytest.raises(RejectedEvents, match="cannot be stored|refused the events"):
        ledger.write([*spread(prices, 3), poison(prices)])
    assert ledger.count() == 0



class GatedStore:
    """Wraps a real store; every write waits until `gate` opens (a store far slower than the callers)."""

    def __init__(self, store):
        self.store = store
        self.gate = threading.Event()

    def write(self, events):
        self.gate.wait(30)
        return self.store.write(events)


def test_a_full_queue_overflows_to_disk_and_nothing_is_lost(prices, tmp_path):
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        slow = GatedStore(ledger.store)
        writer = BatchWriter(slow, spool_dir=tmp_path / "spool", flush_interval=0.01, retry_interval=0.0,
                             max_queue=10, overflow_block=5, batch_size=1)
        events = spread(prices, 200)
        writer.put(events[0])
        while writer._queue.qsize():  # the writer took the first event and is stuck writing it
            pass
        for event in events[1:]:
            writer.put(event)
        # past the bound, events went to disk in blocks of 5 rather than piling up in memory
        assert writer.stats.overflowed == 189
        assert len(writer.pending_spool) == 37
        slow.gate.set()
        assert writer.flush(timeout=20)
        writer.close()
        assert ledger.count() == 200
        assert sorted(e.id for e in ledger.events()) == sorted(e.id for e in events)
