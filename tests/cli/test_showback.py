"""`llmledger report --format html`: a self-contained showback page, escaped, with the right totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llmledger import Ledger

from ..alerts.test_rules import event


def test_html_showback(run: Any, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 's.db'}"
    at = datetime.now(UTC) - timedelta(hours=2)
    with Ledger.open(db) as ledger:
        ledger.write([event(at, "1.25", tenant="acme", feature="search"),
                      event(at, "2.5", tenant="acme", feature="<script>alert(1)</script>"),
                      event(at, "0", tenant="acme", feature="search", status="unpriced"),
                      event(at, "100", tenant="other", feature="search")])
    page = run("report", "--db", db, "--by", "feature", "--where", "tenant=acme", "--since", "1d",
               "--format", "html", "--title", "Acme: November").stdout
    assert page.startswith("<!doctype html>") and "<title>Acme: November</title>" in page
    assert "Total cost<b>$3.75</b>" in page and "Calls<b>3</b>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "1 call(s) had no price" in page and "times in UTC" in page
    assert "http" not in page.split("<body>")[0]  # nothing fetched: no external stylesheet or script
