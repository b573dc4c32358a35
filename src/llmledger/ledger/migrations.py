"""Named, append-only schema migrations; the names of applied ones are recorded in `llmledger_migrations`."""

from __future__ import annotations

from dataclasses import dataclass

from . import rollup
from .schema import COST_COLUMNS, TAG_COLUMNS, TOKEN_COLUMNS

MIGRATIONS_TABLE = "llmledger_migrations"


@dataclass(frozen=True)
class Migration:
    name: str
    sqlite: str
    postgres: str


def _create_events(money: str, ts: str, json: str, boolean: str) -> str:
    tokens = ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in TOKEN_COLUMNS)
    costs = ",\n".join(f"    {c} {money}" for c in COST_COLUMNS)
    tags = ",\n".join(f"    {c} TEXT" for c in TAG_COLUMNS.values())
    return f"""
CREATE TABLE usage_events (
    id TEXT PRIMARY KEY,
    ts {ts} NOT NULL,
    recorded_at {ts} NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
{tokens},
{costs},
    cost_total {money},
    reported_cost {money},
    currency TEXT NOT NULL DEFAULT 'USD',
    cost_status TEXT NOT NULL,
    cost_reason TEXT,
    price_version TEXT,
    priced_as TEXT,
{tags},
    tags {json} NOT NULL,
    session_id TEXT,
    trace_id TEXT,
    parent_id TEXT,
    latency_ms BIGINT,
    status TEXT NOT NULL DEFAULT 'ok',
    source TEXT NOT NULL,
    key_id TEXT,
    request_id TEXT,
    service_tier TEXT,
    batch {boolean} NOT NULL DEFAULT FALSE,
    estimated {boolean} NOT NULL DEFAULT FALSE
);
CREATE INDEX usage_events_ts ON usage_events (ts);
CREATE INDEX usage_events_session ON usage_events (session_id) WHERE session_id IS NOT NULL;
"""


_KEYS_AND_BUDGETS = """
CREATE TABLE gateway_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    name TEXT,
    tags TEXT NOT NULL,
    budget_usd TEXT,
    budget_window TEXT,
    rpm BIGINT,
    tpm BIGINT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE gateway_budgets (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    window_name TEXT NOT NULL,
    limit_usd TEXT NOT NULL,
    mode TEXT NOT NULL,
    tolerance_usd TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""

_ALERTS = """
CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    scope TEXT NOT NULL,
    evidence TEXT NOT NULL,
    state TEXT NOT NULL,
    fired_at TEXT NOT NULL,
    resolved_at TEXT,
    deliveries TEXT NOT NULL
);
CREATE INDEX alerts_fired_at ON alerts (fired_at)
"""

_OUTCOMES = """
CREATE TABLE outcomes (
    id TEXT PRIMARY KEY,
    ts TEXT NOT NULL,
    name TEXT NOT NULL,
    session_id TEXT,
    value TEXT,
    tags TEXT NOT NULL
);
CREATE INDEX outcomes_ts ON outcomes (ts);
CREATE INDEX outcomes_session ON outcomes (session_id)
"""

# SQLite money is INTEGER pico-dollars (exact, summable); PostgreSQL's is NUMERIC.
_MONEY = {"sqlite": "INTEGER", "postgres": "NUMERIC(30, 12)"}

# Append only: never edit a migration that has shipped; add a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_usage_events",
        sqlite=_create_events(_MONEY["sqlite"], "TEXT", "TEXT", "INTEGER"),
        postgres=_create_events(_MONEY["postgres"], "TIMESTAMPTZ", "JSONB", "BOOLEAN"),
    ),
    Migration(
        "0002_usage_daily",
        # SQLite's daily rollup; it fills itself from the stored events on first use. (PostgreSQL aggregates fast
        # enough without one for now.)
        sqlite=rollup.create_sql(),
        postgres="",
    ),
    Migration(
        "0003_http_status",
        # The provider's HTTP status for captured calls (SDK, gateway); NULL for imports.
        sqlite="ALTER TABLE usage_events ADD COLUMN http_status INTEGER;",
        postgres="ALTER TABLE usage_events ADD COLUMN http_status INTEGER;",
    ),
    Migration(
        "0004_usage_content",
        # Prompt and completion text, kept apart from the events and only for users who opted in.
        sqlite="CREATE TABLE usage_content (event_id TEXT PRIMARY KEY, request TEXT, response TEXT);",
        postgres="CREATE TABLE usage_content (event_id TEXT PRIMARY KEY, request TEXT, response TEXT);",
    ),
    Migration(
        "0005_gateway_keys_and_budgets",
        # The gateway's virtual keys (only a hash of the secret is kept) and budgets set from the CLI or API.
        sqlite=_KEYS_AND_BUDGETS,
        postgres=_KEYS_AND_BUDGETS,
    ),
    Migration(
        "0006_alerts",
        # Every alert fired, with its evidence and deliveries. The fingerprint (rule + scope + window) is the key,
        # so of several evaluators running at once exactly one claims, and sends, each alert.
        sqlite=_ALERTS,
        postgres=_ALERTS,
    ),
    Migration(
        "0007_alert_rules",
        # Rules added with `llmledger alerts add` (those in llmledger.yaml stay there): name → the rule's spec.
        sqlite="CREATE TABLE alert_rules (name TEXT PRIMARY KEY, spec TEXT NOT NULL, updated_at TEXT NOT NULL)",
        postgres="CREATE TABLE alert_rules (name TEXT PRIMARY KEY, spec TEXT NOT NULL, updated_at TEXT NOT NULL)",
    ),
    Migration(
        "0008_outcomes",
        # What the app says a session achieved (`llmledger.outcome("ticket_resolved")`), for cost per outcome.
        sqlite=_OUTCOMES,
        postgres=_OUTCOMES,
    ),
    Migration(
        "0009_usage_daily_dims",
        # The per-dimension daily rollup (dashboards: totals, spend by one dimension, top users and sessions). On
        # SQLite the daily rollup is emptied too, so both refill from the events together on first use; PostgreSQL
        # gets both rollups now, with every day that holds events marked to be computed.
        sqlite=rollup.create_dims_sql(),
        postgres=rollup.create_postgres_sql(),
    ),
)
