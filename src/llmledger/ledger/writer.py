"""The one background writer: callers enqueue events and return at once; a thread writes them in batches.

When the store is unavailable, the batch is spooled to a local JSONL file and replayed once the store is back
(event ids make replays idempotent). When the store refuses a batch for what is in it, the batch is written
event by event and each refused event is set aside in ``rejected/events.jsonl`` with the reason, so one bad event
neither loses nor blocks the others. `flush()` waits for everything queued so far; `close()` flushes and stops.

The queue is bounded (`max_queue`): past it, callers set events aside in an overflow list that is spooled to disk
in blocks, so a stalled store costs neither unbounded memory nor lost events, and callers still never wait on it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import RejectedEvents
from ..events import UsageEvent

log = logging.getLogger("llmledger.writer")


class _Writes(Protocol):
    def write(self, events: list[UsageEvent]) -> int: ...


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


@dataclass
class WriterStats:
    written: int = 0
    duplicates: int = 0
    spooled: int = 0
    replayed: int = 0
    failures: int = 0
    rejected: int = 0
    overflowed: int = 0
    last_error: str | None = None


class BatchWriter:
    def __init__(
        self,
        store: _Writes,
        *,
        spool_dir: str | Path | None = None,
        batch_size: int = 2000,
        flush_interval: float = 1.0,
        retry_interval: float = 2.0,
        idle: Callable[[], None] | None = None,
        max_queue: int = 100_000,
        overflow_block: int = 1000,
    ) -> None:
        self.store = store
        self.idle = idle  # upkeep to run when the queue is quiet after writes (folding the rollup)
        self._dirty = False
        self.spool_dir = Path(spool_dir) if spool_dir else None
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_interval = retry_interval
        self.stats = WriterStats()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._wake = threading.Event()
        self.max_queue = max_queue
        self.overflow_block = overflow_block
        self._overflow: list[UsageEvent] = []
        self._overflow_lock = threading.Lock()
        self._spool_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._next_retry = 0.0
        self._seq = 0

    def put(self, event: UsageEvent) -> None:
        """Queue one event; never blocks on the store."""
        self._ensure_started()
        size = self._queue.qsize()
        if self.spool_dir is None or size < self.max_queue:
            self._queue.put(event)  # (with nowhere to spool, memory is the only place that loses nothing)
            if size + 1 == self.batch_size:
                self._wake.set()
            return
        with self._overflow_lock:  # the writer is far behind: set the event aside, to disk in blocks
            self._overflow.append(event)
            self.stats.overflowed += 1
            if len(self._overflow) < self.overflow_block:
                return
            block, self._overflow = self._overflow, []
        self._spool(block, RuntimeError(f"the write queue is full ({self.max_queue} events)"))

    def put_later(self, make: Callable[[], UsageEvent | None]) -> None:
        """Queue the making of an event: `make` runs on the writer's thread, in queue order (so `flush()` still
        covers it), and its event is written with the batch. Callers hand over their parsing and pricing this way;
        `make` must not raise (an exception is logged and the event is lost)."""
        self._ensure_started()
        size = self._queue.qsize()
        if self.spool_dir is not None and size >= self.max_queue:
            event = self._make(make)  # the writer is far behind: make it here, and set it aside like any other
            if event is not None:
                self.put(event)
            return
        self._queue.put(make)
        if size + 1 == self.batch_size:
            self._wake.set()

    def _make(self, make: Callable[[], UsageEvent | None]) -> UsageEvent | None:
        try:
            return make()
        except Exception as exc:  # noqa: BLE001 - a bug in the maker must not stop the writer
            self.stats.failures += 1
            self.stats.last_error = f"making an event failed: {exc}"
            log.exception("llmledger could not make an event")
            return None

    def _take_overflow(self) -> list[UsageEvent]:
        with self._overflow_lock:
            block, self._overflow = self._overflow, []
        return block

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event queued before this call is written (or spooled). False on timeout."""
        self._ensure_started()
        marker = _Flush()
        self._queue.put(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 30) -> None:
        if self._thread is None:
            return
        self.flush(timeout)
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    @property
    def queued(self) -> int:
        """Events (or functions that make them) waiting for the writer."""
        return self._queue.qsize()

    @property
    def pending_spool(self) -> list[Path]:
        if self.spool_dir is None or not self.spool_dir.is_dir():
            return []
        return sorted(self.spool_dir.glob("*.jsonl"))

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="llmledger-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        self._replay()
        while True:
            try:
                if self._cycle():
                    return
            except Exception:  # a bug must not kill the writer: every later event would be lost
                log.exception("llmledger writer error; carrying on")

    def _cycle(self) -> bool:
        """Write one batch of what is queued (or do upkeep when idle); True when asked to stop.

        The writer does not wake for each event: it sleeps until `flush_interval` has passed, a batch's worth is
        queued, or someone flushes, then drains. Its work (making events, building rows) then comes in a few
        bursts a second instead of right after every call, when the caller still needs the GIL to finish it."""
        if self._queue.qsize() < self.batch_size:
            self._wake.wait(self.flush_interval)
        self._wake.clear()
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            if overflow := self._take_overflow():
                self._write(overflow)
            self._replay()
            self._upkeep()
            return False
        batch: list[UsageEvent] = []
        markers: list[_Flush] = []
        stop = False
        while True:
            if item is _STOP:
                stop = True
            elif isinstance(item, _Flush):
                markers.append(item)
            elif isinstance(item, UsageEvent):
                batch.append(item)
            elif (made := self._make(item)) is not None:  # type: ignore[arg-type]
                batch.append(made)
                time.sleep(0)  # let a caller waiting for the GIL in: this thread's work is never urgent
            if stop or markers or len(batch) >= self.batch_size:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        try:
            if batch:
                self._write(batch)
            if markers:
                if overflow := self._take_overflow():
                    self._write(overflow)
                self._replay()
        finally:
            for marker in markers:
                marker.done.set()
        return stop

    def _write(self, batch: list[UsageEvent]) -> None:
        try:
            self._store(batch)
        except RejectedEvents:
            unwritten = self._isolate(batch)
            if unwritten:
                self._failed(unwritten, RuntimeError(self.stats.last_error or "store failed"))
        except Exception as exc:  # the store is down or broken: keep the events on disk, never drop them
            self._failed(batch, exc)

    def _store(self, events: list[UsageEvent]) -> None:
        inserted = self.store.write(events)
        self.stats.written += inserted
        self.stats.duplicates += len(events) - inserted
        self._dirty = self._dirty or inserted > 0

    def _isolate(self, events: list[UsageEvent]) -> list[UsageEvent]:
        """Write one by one, setting refused events aside; returns the events left when the store itself failed."""
        for i, event in enumerate(events):
            try:
                self._store([event])
            except RejectedEvents as exc:
                self._reject(event, exc)
            except Exception as exc:  # noqa: BLE001 - unavailable: the caller keeps the rest
                self.stats.last_error = str(exc)
                return events[i:]
        return []

    def _failed(self, events: list[UsageEvent], exc: Exception) -> None:
        self.stats.failures += 1
        self.stats.last_error = str(exc)
        self._next_retry = time.monotonic() + self.retry_interval
        self._spool(events, exc)

    def _upkeep(self) -> None:
        if not (self._dirty and self.idle):
            return
        self._dirty = False
        try:
            self.idle()
        except Exception as exc:  # noqa: BLE001 - upkeep may fail with the store; writing goes on
            self.stats.last_error = str(exc)
            log.warning("ledger upkeep failed: %s", exc)

    def _reject(self, event: UsageEvent, exc: Exception) -> None:
        self.stats.rejected += 1
        self.stats.last_error = str(exc)
        log.error("the ledger refused event %s: %s", event.id, exc)
        if self.spool_dir is not None:
            (self.spool_dir / "rejected").mkdir(parents=True, exist_ok=True)
            with (self.spool_dir / "rejected" / "events.jsonl").open("a") as f:
                f.write(json.dumps({"error": str(exc), "event": event.to_dict()}, separators=(",", ":")) + "\n")

    def _spool(self, batch: list[UsageEvent], exc: Exception) -> None:
        if self.spool_dir is None:
            log.error("ledger write failed and no spool directory is set; %d events lost: %s", len(batch), exc)
            return
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        with self._spool_lock:  # callers spool overflow too
            self._seq += 1
            seq = self._seq
        path = self.spool_dir / f"{time.time_ns()}-{os.getpid()}-{seq}.jsonl"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as f:
            for event in batch:
                f.write(json.dumps(event.to_dict(), separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(path)
        self.stats.spooled += len(batch)
        log.warning("ledger write failed (%s); spooled %d events to %s", exc, len(batch), path)

    def _replay(self) -> None:
        if time.monotonic() < self._next_retry:
            return
        for path in self.pending_spool:
            try:
                events = [UsageEvent.from_dict(json.loads(line)) for line in path.read_text().splitlines() if line]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("cannot read the spool file %s (%s); renamed to .unreadable", path, exc)
                path.rename(path.with_suffix(".unreadable"))
                continue
            try:
                self._store(events)
            except RejectedEvents:
                if self._isolate(events):
                    self._next_retry = time.monotonic() + self.retry_interval
                    return  # the store failed midway: the file stays, to be replayed whole (ids dedupe)
            except Exception as exc:  # noqa: BLE001 - still unavailable: the file stays for the next try
                self.stats.last_error = str(exc)
                self._next_retry = time.monotonic() + self.retry_interval
                return
            path.unlink()
            self.stats.replayed += len(events)
