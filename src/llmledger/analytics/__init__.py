"""Analytics: read-only views over the ledger (sessions now; breakdowns, top-N and forecasts later)."""
