"""The gateway's ASGI app. The hot path, in order: read the request, authenticate, attribute, apply policy,
reserve against every budget and rate limit in scope, forward, relay the response chunk by chunk through a tap,
then record the call and settle its reservation to what it really cost.

Routes: ``/v1/…`` goes to the ``openai`` upstream, ``/anthropic/…`` to ``anthropic``, ``/<name>/…`` to any other
configured provider (the rest of the path is appended to its base URL). Also ``/healthz``, ``/metrics`` and the
admin API ``/api/keys`` (admin token); the dashboard (``/``, ``/login``, ``/static/…``, ``/api/v1/…``) is
handed to the dashboard app.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import aiohttp

from ..alerts import Evaluator
from ..attribution import Context, validate_tags
from ..budgets.memory import Reservation
from ..capture import Call, Capture, used
from ..capture.request import api_of, body_tags, decode_body
from ..errors import BudgetExceeded, ConfigError, LedgerError
from ..events import UsageEvent
from ..ledger import Ledger
from ..outcomes import OutcomeStore, build
from ..pricing import PriceBook
from .errors import error_body
from .keys import KeyStore, VirtualKey
from .limits import Limits
from .metrics import GatewayMetrics
from .settings import GatewaySettings, Upstream

__all__ = ["Gateway"]

log = logging.getLogger("llmledger.gateway")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
DASHBOARD_PAGES = ("/", "/login", "/logout")
DASHBOARD_PREFIXES = ("/api/v1/", "/static/")

# Not forwarded upstream: hop-by-hop headers, the client's credentials, our own attribution headers.
_DROP_REQUEST = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                 "proxy-authorization", "authorization", "x-api-key", "accept-encoding"}
# Not relayed back: hop-by-hop, and the body framing, which the relay redoes (and may change: a hidden chunk).
_DROP_RESPONSE = {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding"}
_MAX_TOKENS_FIELD = {"chat": "max_completion_tokens", "responses": "max_output_tokens", "messages": "max_tokens",
                     "completions": "max_tokens"}
_SHORTCUTS = {"x-ledger-user": "user", "x-ledger-tenant": "tenant", "x-ledger-feature": "feature",
              "x-ledger-team": "team", "x-ledger-environment": "environment",
              "x-ledger-prompt-version": "prompt_version"}


class Refused(Exception):
    """A request the gateway answers itself, with an error in the provider's format."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, dict(headers or {})


class Gateway:
    def __init__(
        self, settings: GatewaySettings, *, ledger: Ledger, prices: PriceBook, keys: KeyStore, limits: Limits,
        metrics: GatewayMetrics | None = None, evaluator: Evaluator | None = None, evaluate_every: float = 60.0,
        dashboard: ASGIApp | None = None,
    ) -> None:
        self.dashboard = dashboard  # the web dashboard and its API, at / (see dashboard/)
        self.evaluator = evaluator  # alert rules, run every `evaluate_every` seconds while serving
        self.evaluate_every = evaluate_every
        self.settings = settings
        self.ledger = ledger
        self.keys = keys
        self.limits = limits
        self.metrics = metrics or GatewayMetrics()
        self.captures = {
            name: Capture(sink=self._record, prices=prices, provider=name, source="gateway")
            for name in settings.upstreams
        }
        self.client: aiohttp.ClientSession | None = None
        self._settling: set[asyncio.Future[None]] = set()
        self.metrics.watch("llmledger_reservations_in_flight", "Calls holding a budget reservation",
                           lambda: float(limits.in_flight()))
        self.metrics.watch("llmledger_spool_files", "Batches waiting on disk for the ledger",
                           lambda: float(len(ledger.writer.pending_spool)))
        self.metrics.watch("llmledger_write_queue", "Events queued for the ledger writer",
                           lambda: float(ledger.writer.queued))

    def _record(self, event: UsageEvent) -> None:
        self.metrics.observe(event)
        self.ledger.record(event)

    # -- ASGI ----------------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/healthz":
            await _json(send, 200, {"status": "ok", "spool_files": len(self.ledger.writer.pending_spool),
                                    "reservations_in_flight": self.limits.in_flight()})
        elif path == "/metrics":
            await _respond(send, 200, self.metrics.render(), "text/plain; version=0.0.4")
        elif path == "/api/keys" or path.startswith("/api/keys/"):
            await self._admin_keys(scope, receive, send)
        elif path == "/api/v1/outcomes" and scope["method"] == "POST":
            await self._record_outcome(scope, receive, send)
        elif self.dashboard is not None and (path in DASHBOARD_PAGES or path.startswith(DASHBOARD_PREFIXES)):
            await self.dashboard(scope, receive, send)
        else:
            upstream, rest = self._route(path)
            if upstream is None:
                await _respond(send, 404, error_body("openai", 404, f"no route for {path}: use /v1/… (OpenAI), "
                                                     "/anthropic/… (Anthropic) or /<provider>/…"), "application/json")
                return
            await self._proxy(scope, receive, send, upstream, rest)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = aiohttp.ClientSession(
                    # upstream_timeout bounds each wait for the provider's bytes (a stream may run longer overall)
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.settings.connect_timeout,
                                                  sock_read=self.settings.upstream_timeout),
                    connector=aiohttp.TCPConnector(limit=1000, ttl_dns_cache=300),
                    skip_auto_headers=("User-Agent",),
                )
                if self.settings.auth == "none":
                    log.warning("auth: none: the gateway accepts requests without a virtual key; use it only for "
                                "local single-user setups")
                self._refresher = asyncio.ensure_future(self._refresh_limits())
                self._alerting = asyncio.ensure_future(self._evaluate_alerts())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._refresher.cancel()
                self._alerting.cancel()
                if self._settling:
                    await asyncio.wait(self._settling, timeout=30)
                if self.client is not None:
                    await self.client.close()
                await asyncio.to_thread(self.ledger.flush, 30)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _refresh_limits(self) -> None:
        while True:
            await asyncio.sleep(self.settings.limits_refresh)
            try:
                await self.limits.refresh()
            except LedgerError as exc:
                log.warning("cannot re-read budgets (keeping the ones in force): %s", exc)

    async def _evaluate_alerts(self) -> None:
        if self.evaluator is None:
            return
        while True:  # (rules added with `llmledger alerts add` are picked up at each round)
            await asyncio.sleep(self.evaluate_every)
            try:
                sent = await asyncio.to_thread(self.evaluator.run)
                if sent:
                    log.info("alerts: %d sent", len(sent))
            except Exception:  # noqa: BLE001 - the gateway keeps serving; the next round tries again
                log.exception("alert evaluation failed")

    def _route(self, path: str) -> tuple[Upstream | None, str]:
        upstreams = self.settings.upstreams
        if path.startswith("/v1/") and "openai" in upstreams:
            return upstreams["openai"], path[3:]
        name, _, rest = path.lstrip("/").partition("/")
        return upstreams.get(name), "/" + rest

    # -- the hot path --------------------------------------------------------------------------------------------
    async def _proxy(self, scope: Scope, receive: Receive, send: Send, upstream: Upstream, rest: str) -> None:
        family = upstream.family
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await _read_body(receive, self.settings.max_body_bytes)
            key = self._authenticate(headers)
            call, content = self._begin(scope["method"], rest, headers, body, upstream, key)
            reservation = await self._reserve(call, key) if call is not None else None
        except Refused as refusal:
            if refusal.code:
                self.metrics.refused.labels(refusal.code).inc()
            await _respond(send, refusal.status, error_body(family, refusal.status, refusal.message, refusal.code),
                           "application/json", refusal.headers)
            return
        try:
            await self._forward(scope, receive, send, upstream, rest, headers, content, call)
        finally:
            if call is not None:
                call.finish(aborted=True)  # a no-op when the call already finished; else (cancelled) record it
                if reservation is not None and reservation.holds:
                    # Settled in the background: the client has its answer, and the connection's next request
                    # need not wait for a Redis round trip.
                    task = asyncio.ensure_future(self._settle(reservation, call.event))
                    self._settling.add(task)
                    task.add_done_callback(self._settling.discard)

    def _authenticate(self, headers: Mapping[str, str]) -> VirtualKey | None:
        if self.settings.auth == "none":
            return None
        secret = headers.get("x-api-key") or ""
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            secret = authorization[7:].strip()
        if not secret:
            raise Refused(401, "no API key: send a virtual key as 'Authorization: Bearer <key>' or 'x-api-key' "
                               "(create one with `llmledger keys create`)", "missing_api_key")
        key = self.keys.verify(secret)
        if key is None:
            raise Refused(401, "invalid or revoked API key: use a virtual key from `llmledger keys create`",
                          "invalid_api_key")
        return key

    def _begin(
        self, method: str, rest: str, headers: Mapping[str, str], body: bytes, upstream: Upstream,
        key: VirtualKey | None,
    ) -> tuple[Call | None, bytes]:
        """Attribution, policy and the capture's view of the request; the body to forward."""
        capture = self.captures[upstream.name]
        document: dict[str, Any] | None = None
        if method == "POST" and body:
            try:
                document = decode_body(body, strict=True)
            except ConfigError as exc:
                raise Refused(400, f"{exc}; send a JSON object") from None
        tags = _header_tags(headers)
        if document is not None:
            tags = {**body_tags(document), **tags}
        if key is not None:
            tags.update(key.tags)  # a key's tenant, team, user cannot be overridden by its holder
        missing = [t for t in self.settings.policy.required_tags if t not in tags]
        if missing and document is not None:
            raise Refused(400, f"missing required tag(s) {', '.join(missing)}: send them as X-Ledger-Tag-<Name> "
                               f"headers (e.g. X-Ledger-Feature: search) or in the body's metadata",
                          "missing_required_tags")
        changed = self._cap_max_tokens(document, rest, tags) if document is not None else False
        context = Context(tags, headers.get("x-ledger-session") or None, headers.get("x-ledger-parent-session"))
        call, replaced = capture.begin(method, rest, document, context=context, tags=tags,
                                       key_id=key.id if key else None, changed=changed)
        return call, replaced if replaced is not None else body

    def _cap_max_tokens(self, document: dict[str, Any], rest: str, tags: Mapping[str, str]) -> bool:
        cap = self.settings.policy.max_tokens_for(tags)
        field = _MAX_TOKENS_FIELD.get(api_of(rest))
        if cap is None or field is None:
            return False
        fields = [f for f in ("max_completion_tokens", "max_output_tokens", "max_tokens") if f in document]
        if not fields:
            document[field] = cap
            return True
        changed = False
        for name in fields:
            value = document[name]
            if isinstance(value, int) and not isinstance(value, bool) and value > cap:
                document[name] = cap
                changed = True
        return changed

    async def _reserve(self, call: Call, key: VirtualKey | None) -> Reservation | None:
        extra = key.limits() if key else ()
        if not extra and not self.limits.state.budgets:
            return None  # nothing to enforce: don't count the prompt's tokens for a worst case nobody reads
        request = call.request
        dims = {**call.tags, "model": request.model or "", "provider": request.provider}
        if key is not None:
            dims["key"] = key.id
        demand = call.capture.demand(request)
        try:
            reservation = await self.limits.reserve(dims, demand, extra=extra)
        except BudgetExceeded as exc:
            call.discard()
            raise Refused(429, str(exc), exc.code, {"retry-after": str(exc.retry_after)}) from None
        except LedgerError as exc:  # the limit store (Redis) is down: fail closed, say why
            call.discard()
            raise Refused(502, f"budget state unavailable: {exc}", "budget_state_unavailable") from None
        for name in reservation.over_soft:  # let through; alert rules and dashboards pick this up
            self.metrics.soft_over.labels(name).inc()
            log.warning("soft budget %r exceeded by a %s call (tags %s); let through", name, request.provider,
                        call.tags)
        return reservation

    async def _settle(self, reservation: Reservation, event: UsageEvent | None) -> None:
        try:
            await self.limits.settle(reservation, used(event))
        except LedgerError as exc:
            log.error("could not settle a reservation: %s", exc)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, upstream: Upstream, rest: str, headers: Mapping[str, str],
        content: bytes, call: Call | None,
    ) -> None:
        assert self.client is not None, "the gateway was not started (ASGI lifespan)"
        query = scope.get("query_string", b"").decode("latin-1")
        url = upstream.base_url + rest + (f"?{query}" if query else "")
        forward = {k: v for k, v in headers.items() if k not in _DROP_REQUEST and not k.startswith("x-ledger-")}
        forward.update(upstream.auth_headers())
        try:
            response = await self.client.request(scope["method"], url, headers=forward, data=content or None,
                                                 allow_redirects=False)
        except TimeoutError as exc:
            if call is not None:
                call.finish(error=exc)
            await _respond(send, 504, error_body(upstream.family, 504, "the provider did not answer within "
                                                 f"{self.settings.upstream_timeout} s (gateway.upstream_timeout)",
                                                 "upstream_timeout"), "application/json")
            return
        except aiohttp.ClientError as exc:
            if call is not None:
                call.finish(error=exc)
            await _respond(send, 502, error_body(upstream.family, 502, f"cannot reach the provider at "
                                                 f"{upstream.base_url}: {exc}", "upstream_unreachable"),
                           "application/json")
            return
        try:
            await self._relay(receive, send, response, call)
        finally:
            response.close()

    async def _relay(self, receive: Receive, send: Send, response: aiohttp.ClientResponse, call: Call | None) -> None:
        tap = call.respond(response.status, response.headers.get("content-type")) if call is not None else None
        out_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
                       if k.lower() not in _DROP_RESPONSE]
        await send({"type": "http.response.start", "status": response.status, "headers": out_headers})

        async def pump() -> None:
            async for chunk in response.content.iter_any():
                out = tap.feed(chunk) if tap is not None else chunk
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            rest = tap.close() if tap is not None else b""
            await send({"type": "http.response.body", "body": rest, "more_body": False})

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        relay = asyncio.ensure_future(pump())
        watch = asyncio.ensure_future(disconnected())
        try:
            done, _ = await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
            if relay in done:
                relay.result()  # re-raise an upstream failure midway
                if call is not None:
                    call.finish()
            else:  # the client went away: stop reading from the provider, record what was seen
                relay.cancel()
                if call is not None:
                    call.finish(aborted=True)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:  # the provider's stream broke off
            if call is not None:
                call.finish(aborted=True, error=exc)
        finally:
            watch.cancel()
            relay.cancel()

    # -- outcomes ------------------------------------------------------------------------------------------------
    async def _record_outcome(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /api/v1/outcomes`` with a virtual key: what a session achieved, for cost per outcome."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            key = self._authenticate(headers)
            spec = json.loads(await _read_body(receive, 1 << 16) or b"{}")
            if not isinstance(spec, dict) or not set(spec) <= {"name", "session", "value", "tags"}:
                raise ConfigError('send a JSON object: {"name": "ticket_resolved", "session": "<session id>", '
                                  '"value": 12.5, "tags": {"feature": "support"}} (value and tags are optional)')
            tags = spec.get("tags") or {}
            if not isinstance(tags, dict):
                raise ConfigError("tags: a JSON object of tag names and values")
            # the key's own tags win, as for calls: a key holder cannot record outcomes for another tenant
            item = build(spec.get("name"), spec.get("value"), session=spec.get("session"),
                         tags={**tags, **_header_tags(headers), **(key.tags if key else {})})
            await asyncio.to_thread(OutcomeStore(self.ledger.store).add, item)
        except Refused as exc:
            await _respond(send, exc.status, error_body("openai", exc.status, exc.message, exc.code),
                           "application/json")
        except (ConfigError, ValueError) as exc:
            await _respond(send, 400, error_body("openai", 400, f"outcome: {exc}", "invalid_outcome"),
                           "application/json")
        except LedgerError as exc:
            log.error("outcome not recorded: %s", exc)
            await _respond(send, 503, error_body("openai", 503, f"the ledger cannot be written right now: {exc}"),
                           "application/json")
        else:
            await _json(send, 201, {"id": item.id, "name": item.name, "session": item.session_id,
                                    "value": None if item.value is None else str(item.value), "tags": item.tags})

    # -- admin ---------------------------------------------------------------------------------------------------
    async def _admin_keys(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token = self.settings.admin_token
        given = headers.get("authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            await _json(send, 401, {"error": "admin API: send 'Authorization: Bearer <admin_token>' (admin_token in "
                                             "llmledger.yaml)" if token else "admin API disabled: set admin_token"})
            return
        method, path = scope["method"], scope["path"]
        try:
            if path == "/api/keys" and method == "GET":
                keys = await asyncio.to_thread(self.keys.list, include_revoked=True)
                await _json(send, 200, {"keys": [k.public() for k in keys]})
            elif path == "/api/keys" and method == "POST":
                spec = json.loads(await _read_body(receive, 1 << 16) or b"{}")
                if not isinstance(spec, dict):
                    raise ConfigError("send a JSON object: {\"tags\": {...}, \"budget\": \"50/day\", \"rpm\": 600}")
                key, secret = await asyncio.to_thread(
                    self.keys.create, name=spec.get("name"), tags=spec.get("tags"), budget=spec.get("budget"),
                    rpm=spec.get("rpm"), tpm=spec.get("tpm"))
                await _json(send, 201, {**key.public(), "secret": secret})
            elif path.startswith("/api/keys/") and method == "DELETE":
                key_id = path.removeprefix("/api/keys/")
                if await asyncio.to_thread(self.keys.revoke, key_id):
                    await _json(send, 200, {"id": key_id, "revoked": True})
                else:
                    await _json(send, 404, {"error": f"no live key {key_id!r}"})
            else:
                await _json(send, 405, {"error": f"{method} {path} is not supported: GET/POST /api/keys, "
                                                 "DELETE /api/keys/<id>"})
        except (ConfigError, ValueError) as exc:
            await _json(send, 400, {"error": str(exc)})
        except Refused as exc:
            await _json(send, exc.status, {"error": exc.message})


def _header_tags(headers: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for name, value in headers.items():
        if name.startswith("x-ledger-tag-"):
            found[name.removeprefix("x-ledger-tag-").replace("-", "_")] = value
        elif name in _SHORTCUTS:
            found[_SHORTCUTS[name]] = value
    try:
        return validate_tags(found, where="X-Ledger headers")
    except ConfigError as exc:
        raise Refused(400, str(exc), "invalid_tag") from None


async def _read_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "the client went away before sending the whole request")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the request body is larger than the gateway's limit of {limit} bytes "
                               "(gateway.max_body_bytes)", "request_too_large")
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts)


async def _respond(send: Send, status: int, body: bytes, content_type: str,
                   headers: Mapping[str, str] | None = None) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: Any) -> None:
    await _respond(send, status, json.dumps(payload, default=str).encode(), "application/json")
