"""Capture: turn one HTTP call to a provider into one priced, attributed `UsageEvent`.

Shared by the SDK wrapper and the gateway, which differ only in how bytes reach them::

    call = capture.begin(method, path, body)     # reads the request; reserves budgets (may refuse)
    tap = call.respond(status, content_type)     # then every response chunk goes through tap.feed()
    call.finish()                                # once: usage (or an estimate), price, event → sink

Recording never raises into the caller: a failure to build or queue an event is logged and counted.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..attribution import Context, current
from ..budgets.memory import MemoryBudgets, Reservation
from ..errors import ParseError
from ..events import UsageEvent
from ..pricing import Cost, PriceBook
from ..tokens import count_request, count_text, estimate_request
from ..usage import Usage
from .request import CallRequest, is_free, read_request
from .taps import BodyTap, StreamTap, Tap

__all__ = ["Capture", "Call", "CaptureStats", "used"]

log = logging.getLogger("llmledger.capture")
_ZERO, _ONE = Decimal(0), Decimal(1)
_NOTHING_BILLED = Cost("priced", Decimal(0), reason="nothing billed: the call failed before the provider used tokens")


@dataclass
class CaptureStats:
    calls: int = 0
    recorded: int = 0
    estimated: int = 0
    errors: int = 0  # events that could not be built or queued (logged)
    last_error: str | None = None


class Capture:
    """Meters calls to one provider. Build once per client (or gateway route) and share across threads."""

    def __init__(
        self, *, sink: Callable[[UsageEvent], None], prices: PriceBook, provider: str,
        default_tags: Mapping[str, str] | None = None, budgets: MemoryBudgets | None = None, source: str = "sdk",
        store_content: bool = False, later: Callable[[Callable[[], UsageEvent | None]], None] | None = None,
    ) -> None:
        self.sink = sink
        # When set, finishing a call only hands its making (parse, price, build) to `later` — the ledger writer's
        # thread — so the caller does not wait for it. The made event is not passed to `sink` then.
        self.later = later
        self.prices = prices
        self.provider = provider
        self.default_tags = dict(default_tags or {})
        self.budgets = budgets
        self.source = source
        self.store_content = store_content  # opt-in: keep request and response text with the event
        self.stats = CaptureStats()

    def begin(
        self, method: str, path: str, content: bytes | Mapping[str, Any] | None, *, context: Context | None = None,
        tags: Mapping[str, str] | None = None, key_id: str | None = None, changed: bool = False,
    ) -> tuple[Call | None, bytes | None]:
        """Start metering a request: (the call or None when nothing is billed, the body to send instead or None).

        Tags are the instrument's defaults, then `context`'s (the caller's `llmledger.tags()`), then the body's;
        or exactly `tags` when given (the gateway decides them). Raises `BudgetExceeded` (or `RateLimitExceeded`)
        when a hard limit would be crossed: the request must not be sent. A body that is not a JSON object is
        metered only if a usage object comes back.
        """
        if method.upper() != "POST" or is_free(path):
            return None, None
        request, replaced = read_request(self.provider, method, path, content, changed=changed)
        context = context or current()
        if tags is None:
            tags = {**self.default_tags, **context.tags, **request.tags()}
        reservation = None
        if self.budgets is not None:
            dims = {**tags, "model": request.model or "", "provider": request.provider}
            if key_id is not None:
                dims["key"] = key_id
            reservation = self.budgets.reserve(dims, self.demand(request))
        self.stats.calls += 1
        return Call(self, request, dict(tags), context, reservation, key_id), replaced

    def demand(self, request: CallRequest) -> dict[str, Decimal]:
        """What a call may use at worst: its dollars (counted input + max_tokens of output), one request, tokens."""
        if request.model is None:
            return {"requests": _ONE}
        worst = estimate_request(request.body, provider=request.provider, model=request.model, prices=self.prices)
        return {"usd": worst.cost.total or _ZERO, "requests": _ONE,
                "tokens": Decimal(worst.input_tokens + worst.max_output_tokens)}


class Call:
    """One request in flight. `finish()` records it exactly once, whatever happens."""

    def __init__(
        self, capture: Capture, request: CallRequest, tags: dict[str, str], context: Context,
        reservation: Reservation | None, key_id: str | None = None,
    ) -> None:
        self.capture = capture
        self.key_id = key_id
        self.request = request
        self.tags = tags
        self.context = context
        self.reservation = reservation
        self.ts = datetime.now(UTC)
        self.t0 = self.t1 = time.perf_counter()
        self.tap: Tap | None = None
        self.http_status: int | None = None
        self.event: UsageEvent | None = None  # once finished
        self._done = False
        self._lock = threading.Lock()

    def respond(self, status: int, content_type: str | None) -> Tap:
        """The response started: the tap that its body's bytes go through."""
        self.http_status = status
        if content_type and content_type.startswith("text/event-stream"):
            self.tap = StreamTap(self.request.provider, hide_usage=self.request.hide_usage and status < 400)
        else:
            self.tap = BodyTap(self.request.provider, self.request.model)
        return self.tap

    def finish(self, *, aborted: bool = False, error: BaseException | None = None) -> UsageEvent | None:
        """Record the call: `aborted` when its stream stopped early (the caller let go, or the connection broke),
        `error` when it failed before a response. Returns the event (None if not metered, or if its making was
        handed to `Capture.later`). Never raises."""
        with self._lock:
            if self._done:
                return None
            self._done = True
        self.t1 = time.perf_counter()
        if self.capture.later is not None and self.reservation is None:  # a budget wants its actual cost now
            try:
                self.capture.later(functools.partial(self._make, aborted, error, None))
            except Exception:  # noqa: BLE001 - recording must never break the caller
                self.capture.stats.errors += 1
                log.exception("llmledger could not queue a %s call", self.request.provider)
            return None
        return self._make(aborted, error, self.capture.sink)

    def _make(self, aborted: bool, error: BaseException | None, sink: Callable[[UsageEvent], None] | None
              ) -> UsageEvent | None:
        capture = self.capture
        try:
            event = self.event = self._event(aborted, error)
            self._settle(used(event))
            if event is None:
                return None
            if sink is not None:
                sink(event)
            capture.stats.recorded += 1
            capture.stats.estimated += event.estimated
            return event
        except Exception as exc:  # noqa: BLE001 - recording must never break the caller
            capture.stats.errors += 1
            capture.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("llmledger could not record a %s call", self.request.provider)
            self._settle(used(None))
            return None

    def discard(self) -> None:
        """The request was never sent (refused): record nothing."""
        with self._lock:
            self._done = True

    def _settle(self, actual: dict[str, Decimal]) -> None:
        reservation, self.reservation = self.reservation, None
        if reservation is not None and self.capture.budgets is not None:
            self.capture.budgets.settle(reservation, actual)

    def _event(self, aborted: bool, error: BaseException | None) -> UsageEvent | None:
        request, tap = self.request, self.tap
        model = request.model
        request_id = tier = None
        estimated = False
        failed = error is not None or (self.http_status or 0) >= 400
        complete = False
        usage: Usage | None = None
        if tap is not None:
            try:
                parsed = tap.result()
                usage, model = parsed.usage, parsed.model or model
                request_id, tier = parsed.request_id, parsed.service_tier
                complete = True
            except ParseError:
                partial = tap.partial()
                model = partial.model or model
                request_id = partial.request_id
                if aborted or not failed:  # a model call without usage is never $0: count what we have
                    usage, estimated = self._estimate(partial.usage, partial.text, model), True
        if request.api == "other" and not complete:
            return None  # not a model call, and no usage came back: nothing to meter
        model = model or "unknown"
        if usage is None:
            usage, cost = Usage(requests=0), _NOTHING_BILLED
        else:
            cost = self.capture.prices.price(usage, provider=request.provider, model=model, at=self.ts,
                                             service_tier=tier)
        # A stream whose usage arrived is complete even if the caller closed it before the last bytes ([DONE]).
        if (self.http_status or 0) >= 400 or tap is None:
            status = "error"
        elif aborted and not complete:
            status = "aborted"
        else:
            status = "ok"
        return UsageEvent(
            provider=request.provider, model=model, usage=usage, cost=cost, ts=self.ts, tags=self.tags,
            session_id=self.context.session_id, parent_id=self.context.parent_id,
            latency_ms=round((self.t1 - self.t0) * 1000), status=status, source=self.capture.source,
            request_id=request_id, service_tier=tier, estimated=estimated, http_status=self.http_status,
            key_id=self.key_id,
            content={"request": dict(request.body), "response": tap.content() if tap else None}
            if self.capture.store_content else None,
        )

    def _estimate(self, seen: Usage | None, text: str, model: str | None) -> Usage:
        """Usage of a stream that ended without its final count: what it reported, plus tokens counted."""
        provider, name = self.request.provider, model or ""
        output = count_text(text, provider=provider, model=name).tokens
        if seen is not None and seen.total_input:
            return Usage(
                input=seen.input, cache_read=seen.cache_read, cache_write_5m=seen.cache_write_5m,
                cache_write_1h=seen.cache_write_1h, audio_in=seen.audio_in, output=max(seen.output, output),
                reasoning=seen.reasoning, web_searches=seen.web_searches,
            )
        return Usage(input=count_request(self.request.body, provider=provider, model=name).tokens, output=output)


def used(event: UsageEvent | None) -> dict[str, Decimal]:
    """What a finished call used, per limit metric (one request even when nothing was billed)."""
    if event is None:
        return {"requests": _ONE}
    return {"usd": event.cost.total or _ZERO, "requests": _ONE,
            "tokens": Decimal(event.usage.total_input + event.usage.total_output)}
