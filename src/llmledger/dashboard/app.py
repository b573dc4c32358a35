"""The dashboard's HTTP face (Starlette): the pages (`/`, `/login`, `/static/…`) and the JSON API under `/api/v1/`
that they — and scripts — read. Every API route takes the same selection (`since`, `until`, repeated `where`) and
`format=csv` (the request table also `format=parquet`). A tenant user's selection always carries its tenant.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..budgets import Budget
from ..errors import ConfigError, LedgerError, StoreUnavailable
from ..ledger import Filter, Ledger, parse_where
from ..timeparse import parse_since
from . import data
from .auth import COOKIE, DashboardAuth, Principal
from .export import EVENT_COLUMNS, csv_stream, csv_text, event_record, parquet_bytes, plain
from .openapi import spec

__all__ = ["Dashboard", "build_dashboard"]

log = logging.getLogger("llmledger.dashboard")
STATIC = Path(__file__).parent / "static"
EXPORT_LIMIT = 1_000_000  # rows in one request-table download
_DEFAULT_SINCE = "30d"

Handler = Callable[[Request, Principal, data.Selection], Any]


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


def _json(payload: Any) -> Response:
    return Response(json.dumps(plain(payload), separators=(",", ":")), media_type="application/json")


def _download(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"'})


def selection(request: Request, who: Principal, now: datetime) -> data.Selection:
    """The calls a request asks about; a tenant user's own tenant is always added to the filters."""
    params = request.query_params
    try:
        since = parse_since(params.get("since") or _DEFAULT_SINCE, now=now)
        until = parse_since(params["until"], now=now) if params.get("until") else now
        where = parse_where(params.getlist("where"))
    except ConfigError as exc:
        raise ApiError(400, str(exc)) from None
    if since >= until:
        raise ApiError(400, f"since ({since:%Y-%m-%d %H:%M}) must be before until ({until:%Y-%m-%d %H:%M}) UTC")
    if who.tenant is not None:
        where = (*where, Filter("tenant", who.tenant))
    return data.Selection(since, until, where)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name}={raw!r}: expected a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name}={value}: expected a whole number from {low} to {high}")
    return value


def _dimensions(request: Request, name: str, default: str) -> list[str]:
    parts = [p.strip() for p in (request.query_params.get(name) or default).split(",") if p.strip()]
    try:
        parse_where([f"{p}=x" for p in parts])  # the same name check as filters
    except ConfigError as exc:
        raise ApiError(400, f"{name}: {exc}") from None
    return parts


class Dashboard:
    def __init__(self, ledger: Ledger, auth: DashboardAuth, *, budgets: Callable[[], Sequence[Budget]] = list,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.ledger, self.auth, self.budgets, self.clock = ledger, auth, budgets, clock
        api = [
            ("/api/v1/me", self.me), ("/api/v1/summary", self.summary), ("/api/v1/month", self.month),
            ("/api/v1/timeseries", self.timeseries), ("/api/v1/breakdown", self.breakdown),
            ("/api/v1/live", self.live), ("/api/v1/alerts", self.alerts), ("/api/v1/events", self.events),
            ("/api/v1/histogram", self.histogram), ("/api/v1/sessions", self.sessions),
            ("/api/v1/sessions/{session_id:path}", self.session), ("/api/v1/outcomes", self.outcomes),
            ("/api/v1/dimensions", self.dimensions),
        ]
        routes: list[BaseRoute] = [Route(path, self._api(handler), methods=["GET"]) for path, handler in api]
        routes += [
            Route("/api/v1/openapi.json", self.openapi, methods=["GET"]),
            Route("/", self.index, methods=["GET"]),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
        self.app = Starlette(routes=routes, exception_handlers={404: _unknown, 405: _unknown})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # -- pages ------------------------------------------------------------------------------------------------------
    def _who(self, request: Request) -> Principal | None:
        return self.auth.read(request.cookies.get(COOKIE), request.headers.get("authorization"))

    async def index(self, request: Request) -> Response:
        if self._who(request) is None:
            return RedirectResponse("/login", status_code=303)
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def login(self, request: Request) -> Response:
        if self.auth.open_access:
            return RedirectResponse("/", status_code=303)
        if request.method == "GET":
            message = None if self.auth.configured else (
                "No one can log in yet: set admin_token in llmledger.yaml (then log in as admin with it), or add "
                "users under dashboard.users.")
            return self._login_page(message, 200)
        # the login form posts application/x-www-form-urlencoded; read it without a multipart parser
        form = parse_qs((await request.body())[:8192].decode("utf-8", "replace"))
        name, password = (form.get("username") or [""])[0], (form.get("password") or [""])[0]
        who = self.auth.login(name.strip(), password)
        if who is None:
            await asyncio.sleep(0.5)  # slows guessing
            log.warning("dashboard login refused for %r", name[:64])
            return self._login_page("Wrong user name or password.", 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, self.auth.issue(who), max_age=self.auth.session_seconds, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    def _login_page(self, message: str | None, status: int) -> Response:
        page = (STATIC / "login.html").read_text()
        if message:
            page = page.replace("<!--error-->", f'<p class="error">{html.escape(message)}</p>')
        return Response(page, status_code=status, media_type="text/html; charset=utf-8")

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(spec())

    # -- the API ----------------------------------------------------------------------------------------------------
    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = self._who(request)
            if who is None:
                return _error(401, "log in first (POST /login), or send Authorization: Bearer <admin token>",
                              "unauthorized")
            fmt = request.query_params.get("format", "json")
            try:
                sel = selection(request, who, self.clock())
                if fmt not in ("json", "csv", "parquet"):
                    raise ApiError(400, f"format={fmt!r}: use json or csv (parquet for /api/v1/events)")
                result = await run_in_threadpool(handler, request, who, sel)
            except ApiError as exc:
                return _error(exc.status, exc.message, exc.kind)
            except StoreUnavailable as exc:
                log.error("dashboard read failed: %s", exc)
                return _error(503, f"the ledger cannot be read right now: {exc}", "ledger_unavailable")
            except (ConfigError, LedgerError) as exc:
                return _error(400, str(exc), "invalid_request_error")
            if isinstance(result, Response):
                return result
            payload, rows = result
            if fmt == "csv":
                return _download(csv_text(rows), request.url.path.removeprefix("/api/v1/").replace("/", "-"))
            if fmt == "parquet":
                return _error(400, "format=parquet is offered by /api/v1/events only; use csv here",
                              "invalid_request_error")
            return _json(payload)

        return endpoint

    def me(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        payload = {"user": who.name, "role": who.role, "tenant": who.tenant, "timezone": "UTC", "currency": "USD"}
        return payload, [payload]

    def summary(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        payload = data.summary(self.ledger, sel)
        return payload, [payload]

    def month(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        payload = data.month(self.ledger, sel, self.clock(), self.budgets())
        flat = {k: v for k, v in payload.items() if not isinstance(v, dict)}
        for part in ("forecast", "budget"):
            flat.update({f"{part}_{k}": v for k, v in (payload[part] or {}).items()})
        return payload, [flat]

    def timeseries(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        unit = request.query_params.get("unit") or "day"
        group = request.query_params.get("group") or None
        if group is not None:
            _dimensions(request, "group", "")
        if unit == "hour" and sel.until - sel.since > timedelta(days=31):
            raise ApiError(400, "unit=hour covers at most 31 days; narrow since/until or use unit=day")
        payload = data.timeseries(self.ledger, sel, unit, group, self.clock(), self.budgets())
        rows = []
        for i, bucket in enumerate(payload["buckets"]):
            row = {unit: bucket, **{str(s["name"]): s["values"][i] for s in payload["series"]},
                   "total": payload["total"][i]}
            if payload["cumulative"] is not None:
                row["month_to_date"] = payload["cumulative"][i]
            if payload["budget_line"] is not None:
                row["budget"] = payload["budget_line"][i]
            rows.append(row)
        rows += [{unit: f["bucket"], "forecast": f["expected"], "forecast_low": f["low"], "forecast_high": f["high"]}
                 for f in payload["forecast"] or []]
        return payload, rows

    def breakdown(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        by = _dimensions(request, "by", "model")
        payload = data.breakdown(self.ledger, sel, by, _int(request, "limit", 50, 1, 10_000))
        return payload, payload["rows"]

    def live(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        writer = self.ledger.writer
        hours = _int(request, "hours", 6, 1, 48)

        def spool() -> dict[str, int]:
            return {"files": len(writer.pending_spool), "queued": writer.queued}

        payload = data.live(self.ledger, sel, self.clock(), hours, spool)
        rows = [{"bucket": b, "tokens_per_second": t, "usd_per_hour": c} for b, t, c in
                zip(payload["buckets"], payload["tokens_per_second"], payload["usd_per_hour"], strict=True)]
        return payload, rows

    def alerts(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        state = request.query_params.get("state") or "firing"
        if state not in ("firing", "resolved", "all"):
            raise ApiError(400, f"state={state!r}: use firing, resolved or all")
        found = data.alerts(self.ledger, sel, None if state == "all" else state, _int(request, "limit", 50, 1, 1000))
        return {"alerts": found}, found

    def events(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        fmt = request.query_params.get("format", "json")
        if fmt in ("csv", "parquet"):
            rows = (event_record(data.event_row(e)) for _, e in zip(range(EXPORT_LIMIT),
                                                                     self.ledger.events(sel.query), strict=False))
            if fmt == "csv":
                return StreamingResponse(csv_stream(rows, EVENT_COLUMNS), media_type="text/csv; charset=utf-8",
                                         headers={"content-disposition": 'attachment; filename="requests.csv"'})
            return Response(parquet_bytes(rows), media_type="application/vnd.apache.parquet",
                            headers={"content-disposition": 'attachment; filename="requests.parquet"'})
        payload = data.events_page(self.ledger, sel, _int(request, "limit", 100, 1, 1000),
                                   request.query_params.get("cursor"))
        return payload, payload["rows"]

    def histogram(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        payload = data.histogram(self.ledger, sel, request.query_params.get("field") or "input_tokens")
        return payload, payload["bins"]

    def sessions(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        payload = data.session_list(self.ledger, sel, _int(request, "limit", 20, 1, 500))
        return payload, payload["sessions"]

    def session(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        session_id = request.path_params["session_id"]
        view = data.session_view(self.ledger, data.Selection(sel.since, sel.until, _tenant_only(who)), session_id)
        if view is None:
            raise ApiError(404, f"no calls recorded for session {session_id!r}", "not_found")
        return view, view["calls"]

    def outcomes(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        by = request.query_params.get("by") or None
        if by is not None:
            _dimensions(request, "by", "")
        payload = data.outcomes(self.ledger, sel, by)
        return payload, payload["rows"]

    def dimensions(self, request: Request, who: Principal, sel: data.Selection) -> Any:
        payload = data.dimensions(self.ledger, sel)
        return payload, [{"dimension": d, "values": payload["values"].get(d, [])} for d in payload["dimensions"]]


async def _unknown(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return _error(status, f"{request.method} {request.url.path} is not part of the dashboard API: see "
                          "/api/v1/openapi.json", "not_found" if status == 404 else "method_not_allowed")


def _tenant_only(who: Principal) -> tuple[Filter, ...]:
    """A session is shown whole, whatever the range and filters, but never across tenants."""
    return (Filter("tenant", who.tenant),) if who.tenant is not None else ()


def build_dashboard(ledger: Ledger, auth: DashboardAuth, *, budgets: Callable[[], Sequence[Budget]] = list,
                    clock: Callable[[], datetime] | None = None) -> Dashboard:
    return Dashboard(ledger, auth, budgets=budgets, **({"clock": clock} if clock else {}))
