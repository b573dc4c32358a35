"""The web dashboard: Overview, Live and Explore pages over the ledger, and the JSON API behind them.

`data.py` reads the ledger (server-side aggregation only), `app.py` serves pages and the API (Starlette), `auth.py`
decides who may read what, `export.py` writes CSV and Parquet, `openapi.py` describes the API, and `static/` holds
the pages, with Chart.js vendored (no CDN: it works offline). `llmledger serve` mounts it at `/` beside the
gateway; `llmledger demo` serves it alone over a synthetic month.
"""

from .app import Dashboard, build_dashboard
from .auth import DashboardAuth, Principal

__all__ = ["Dashboard", "DashboardAuth", "Principal", "build_dashboard"]
