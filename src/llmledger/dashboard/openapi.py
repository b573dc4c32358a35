"""The OpenAPI 3.1 description of the dashboard's JSON API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from .. import __version__

_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "USD, an exact decimal"}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
_METRICS = {
    "requests": _INT, "input_tokens": {**_INT, "description": "all input: uncached, cache reads and writes, audio"},
    "cache_read_tokens": _INT, "cache_write_tokens": _INT,
    "output_tokens": {**_INT, "description": "all output: visible, reasoning, audio"}, "reasoning_tokens": _INT,
    "cost": _MONEY, "input_cost": _MONEY, "output_cost": _MONEY, "cache_read_cost": _MONEY,
    "cache_write_cost": _MONEY, "reasoning_cost": _MONEY,
    "cached_share": {"type": "string", "description": "fraction of input tokens read from cache"},
    "unpriced": {**_INT, "description": "calls with no known price: not in the cost"}, "errors": _INT,
}


def _obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _param(name: str, description: str, schema: dict[str, Any] | None = None, *, where: str = "query",
           required: bool = False, many: bool = False) -> dict[str, Any]:
    schema = schema or _STR
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": _array(schema) if many else schema, **({"explode": True} if many else {})}


_SELECTION = [
    _param("since", "From: a duration back from now (24h, 7d, 30d) or an ISO date/time (UTC). Default 30d."),
    _param("until", "Until, exclusive: same forms. Default now."),
    _param("where", "Filter NAME=VALUE or NAME!=VALUE on any dimension or tag (repeat for AND).", many=True),
    _param("format", "json (default) or csv (a download of the same rows); /events also parquet.",
           {"type": "string", "enum": ["json", "csv", "parquet"]}),
]
_ROW = _obj(_METRICS, additionalProperties={"description": "the value of each grouped dimension"})
_ALERT = _obj({k: _STR for k in ("fingerprint", "rule", "kind", "severity", "title", "state")}
              | {"scope": {"type": "object"}, "fired_at": _TIME, "resolved_at": _TIME})
_SESSION = _obj({"session_id": _STR, "parent_id": _STR, "calls": _INT, "cost": _MONEY, "unpriced": _INT,
                 "first": _TIME, "last": _TIME, "growth": {"type": "number"}, "input_per_call": _array(_INT),
                 "tags": {"type": "object"}})
_EVENT = _obj({"id": _STR, "ts": _TIME, "provider": _STR, "model": _STR, "input_tokens": _INT,
               "cache_read_tokens": _INT, "cache_write_tokens": _INT, "output_tokens": _INT,
               "reasoning_tokens": _INT, "cost": {**_MONEY, "type": ["string", "null"]},
               "cost_status": {"enum": ["priced", "partial", "unpriced", "reported"]},
               "status": {"enum": ["ok", "error", "aborted"]}, "http_status": _INT, "latency_ms": _INT,
               "session_id": _STR, "estimated": {"type": "boolean"}, "tags": {"type": "object"}})

_PATHS: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]] = {
    "/api/v1/me": ("Who is logged in, and what they may see.", [],
                   _obj({"user": _STR, "role": {"enum": ["admin", "tenant"]}, "tenant": _STR, "timezone": _STR,
                         "currency": _STR})),
    "/api/v1/summary": ("Totals for the selection: calls, token and dollar split, cache share, cost per request "
                        "and per 1,000 tokens, unpriced and failed calls.", [],
                        _obj({"since": _TIME, "until": _TIME, **_METRICS, "cost_per_request": _MONEY,
                              "cost_per_1k_tokens": _MONEY})),
    "/api/v1/month": ("This month to date (UTC) against the same days of last month, the month-end forecast with "
                      "a 90 % range, and the monthly budget for the selection's scope. Ignores since/until.", [],
                      _obj({"month": _STR, "month_to_date": _MONEY, "last_month_same_period": _MONEY,
                            "last_month_total": _MONEY, "change": _STR,
                            "forecast": _obj({"expected": _MONEY, "low": _MONEY, "high": _MONEY}),
                            "budget": _obj({"name": _STR, "limit": _MONEY, "window": _STR})})),
    "/api/v1/timeseries": ("Spend per UTC day or hour, split by a dimension (8 named series, then 'other'); for "
                           "days also month-to-date spend, the monthly budget and the forecast to month end.",
                           [_param("unit", "day (default) or hour", {"enum": ["day", "hour"]}),
                            _param("group", "a dimension to split by (model, provider, feature, tenant, team…)")],
                           _obj({"unit": _STR, "group": _STR, "buckets": _array(_STR),
                                 "series": _array(_obj({"name": _STR, "values": _array(_MONEY)})),
                                 "total": _array(_MONEY), "calls": _array(_INT), "cumulative": _array(_MONEY),
                                 "budget_line": _array(_MONEY),
                                 "forecast": _array(_obj({"bucket": _STR, "expected": _MONEY, "low": _MONEY,
                                                          "high": _MONEY}))})),
    "/api/v1/breakdown": ("The selection grouped by one or two dimensions, costliest first.",
                          [_param("by", "one or two comma-separated dimensions, e.g. feature,model", required=True),
                           _param("limit", "rows (default 50)", _INT)],
                          _obj({"by": _array(_STR), "rows": _array(_ROW), "total": _ROW,
                                "truncated": {"type": "boolean"}})),
    "/api/v1/live": ("The last hours in 5-minute buckets (tokens per second, dollars per hour), top consumers of "
                     "the last hour, alerts firing, unpriced calls of the last day, the writer's backlog.",
                     [_param("hours", "1 to 48 (default 6)", _INT)],
                     _obj({"buckets": _array(_TIME), "tokens_per_second": _array({"type": "number"}),
                           "usd_per_hour": _array(_MONEY), "last_hour": {"type": "object"},
                           "top_now": {"type": "object"}, "alerts": _array(_ALERT), "unpriced": {"type": "object"},
                           "spool": _obj({"files": _INT, "queued": _INT}), "generated_at": _TIME})),
    "/api/v1/alerts": ("Alerts, newest first.", [_param("state", "firing (default), resolved or all"),
                                                  _param("limit", "default 50", _INT)],
                       _obj({"alerts": _array(_ALERT)})),
    "/api/v1/events": ("The request table, newest first, a page at a time; csv and parquet download every "
                       "selected call (up to 1,000,000), oldest first.",
                       [_param("limit", "rows per page, 1 to 1000 (default 100)", _INT),
                        _param("cursor", "next_cursor of the previous page")],
                       _obj({"rows": _array(_EVENT), "next_cursor": _STR})),
    "/api/v1/histogram": ("How many calls fall in each power-of-two bin of input or output tokens (or power-of-ten "
                          "bin of cost).", [_param("field", "input_tokens (default), output_tokens or cost")],
                          _obj({"field": _STR, "bins": _array(_obj({"low": {}, "high": {}, "count": _INT}))})),
    "/api/v1/sessions": ("The costliest sessions (agent runs) in the selection, with input tokens per call.",
                         [_param("limit", "default 20", _INT)], _obj({"sessions": _array(_SESSION)})),
    "/api/v1/sessions/{session_id}": ("One session's calls in order, with the spend so far at each call, and the "
                                      "outcomes it recorded. Ignores the selection (but never crosses tenants).",
                                      [_param("session_id", "the session id", where="path", required=True)],
                                      _obj({"session": _SESSION, "calls": _array(_EVENT),
                                            "outcomes": _array(_obj({"name": _STR, "ts": _TIME, "value": _STR}))})),
    "/api/v1/outcomes": ("Cost per outcome: outcomes recorded in the selection, the sessions they name, and what "
                         "those sessions cost.", [_param("by", "optional: a tag to split by, e.g. feature")],
                         _obj({"rows": _array(_obj({"outcome": _STR, "outcomes": _INT, "sessions": _INT,
                                                    "cost": _MONEY, "cost_per_outcome": _MONEY})),
                               "note": _STR})),
    "/api/v1/dimensions": ("The dimensions filters and groupings accept (custom tags included) and the top values "
                           "of the common ones in the selection.", [],
                           _obj({"dimensions": _array(_STR), "values": {"type": "object"}})),
}


def spec() -> dict[str, Any]:
    error = {"description": "what was wrong and what to do",
             "content": {"application/json": {"schema": _obj({"error": _obj({"message": _STR, "type": _STR})})}}}
    paths = {}
    for path, (summary, params, schema) in _PATHS.items():
        selection = [] if path in ("/api/v1/me",) else _SELECTION
        paths[path] = {"get": {
            "summary": summary, "parameters": [*selection, *params],
            "responses": {"200": {"description": "OK (or a CSV/Parquet download with format=)",
                                  "content": {"application/json": {"schema": schema}}},
                          "400": error, "401": error, "503": error},
        }}
    paths["/api/v1/outcomes"]["post"] = {
        "summary": "Record what a session achieved (served by `llmledger serve`; authenticate with a virtual key, "
                   "whose own tags win over the body's).",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _obj(
            {"name": {**_STR, "pattern": r"^[A-Za-z0-9_.]{1,64}$"}, "session": _STR,
             "value": {"type": ["number", "string"]}, "tags": {"type": "object"}}, required=["name"])}}},
        "responses": {"201": {"description": "recorded", "content": {"application/json": {"schema": _obj(
            {"id": _STR, "name": _STR, "session": _STR, "value": _STR, "tags": {"type": "object"}})}}},
            "400": error, "401": error, "503": error},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "llmledger dashboard API", "version": __version__,
                 "description": "What the dashboard shows, as JSON. Authenticate with the session cookie from "
                                "POST /login, or `Authorization: Bearer <admin_token>`. A tenant user's every "
                                "answer covers its own tenant only. Money is USD as exact decimal strings; "
                                "times are UTC."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "cookie": {"type": "apiKey", "in": "cookie", "name": "llmledger_session"}}},
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    }
