"""The real pages in headless Chromium (Debian's chromium, driven by Playwright): on a demo ledger served by
`llmledger demo`, and on the same ledger behind `llmledger serve`'s login as a tenant. Screenshots of every page
are saved under test-artifacts/dashboard/ (or $LLMLEDGER_ARTIFACTS)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from ..gateway.conftest import GatewayProcess, start_gateway
from ..servers import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("LLMLEDGER_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "dashboard"
READY = """() => { const panels = [...document.querySelectorAll('[data-panel]')];
  return panels.length > 0 && panels.every(p => ['ready', 'empty', 'error'].includes(p.dataset.state)); }"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`llmledger demo` for real: fills a fresh ledger, then serves the dashboard (no login)."""
    directory = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{directory / 'demo.db'}"
    port = free_port()
    log = (directory / "demo.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "llmledger.cli", "demo", "--db", db, "--days", "14",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx2.get(f"{url}/api/v1/me", timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, (directory / "demo.log").read_text()
        time.sleep(0.2)
    yield url, db
    process.terminate()
    process.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not [e for e in errors if "401" not in e and "404" not in e], errors


def visit(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_function(READY, timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def chart_sum(page: Page, key: str) -> float:
    return float(page.evaluate("(k) => window.llmledgerCharts[k].data.datasets.filter(d => d.stack !== 'x' && "
                               "!d.label?.startsWith('Forecast') && d.label !== 'Budget' && d.type !== 'line')"
                               ".reduce((s, d) => s + d.data.reduce((a, v) => a + (Number(v) || 0), 0), 0)", key))


def states(page: Page) -> dict[str, str]:
    return dict(page.evaluate("() => [...document.querySelectorAll('[data-panel]')]"
                              ".map(p => [p.dataset.panel, p.dataset.state])"))


def download(page: Page, selector: str) -> bytes:
    with page.expect_download() as event:
        page.click(selector)
    return Path(event.value.path()).read_bytes()


def api(url: str, path: str, **params: Any) -> Any:
    return httpx2.get(f"{url}/api/v1/{path}", params=params, timeout=30).json()


def test_overview_shows_the_demo_month(demo: tuple[str, str], page: Page) -> None:
    url, _ = demo
    visit(page, f"{url}/#/overview", "overview")
    assert set(states(page).values()) == {"ready"}, states(page)
    summary = api(url, "summary")
    # the demo keeps writing live traffic, so the page and a later API read may differ by the last few calls
    shown = Decimal(page.get_attribute('[data-kpi="cost"]', "data-value"))
    assert abs(shown - Decimal(summary["cost"])) < Decimal("0.5") and shown > 10
    assert int(page.get_attribute('[data-kpi="unpriced"]', "data-value")) > 0  # unpriced calls are called out
    assert abs(chart_sum(page, "overview-timeseries") - float(shown)) < 0.01  # the bars add up to the KPI
    for dim in ("tenant", "team", "feature", "model", "provider"):
        rows = page.locator(f'[data-panel="overview-breakdown-{dim}"] tr[data-row]').count()
        assert rows > 0, dim
    assert page.locator('[data-panel="overview-top-sessions"] tr[data-row]').first.inner_text().startswith(
        "agent-run-0420")
    assert page.locator('[data-panel="overview-month"]').inner_text().count("Budget") >= 1
    # exports download what the panel shows
    exported = list(csv.DictReader(io.StringIO(download(
        page, '[data-panel="overview-breakdown-tenant"] [data-export="csv"]').decode())))
    assert {r["tenant"] for r in exported} == {"acme", "globex", "initech", "umbrella", "hooli"}


def test_range_buttons_change_the_charts(demo: tuple[str, str], page: Page) -> None:
    url, _ = demo
    visit(page, f"{url}/#/overview", "overview-30d")
    month = Decimal(page.get_attribute('[data-kpi="cost"]', "data-value"))
    page.click('[data-range="24h"]')
    page.wait_for_function(READY)
    day = Decimal(page.get_attribute('[data-kpi="cost"]', "data-value"))
    assert 0 < day < month / 5
    assert "since=24h" in page.url


def test_live_page(demo: tuple[str, str], page: Page) -> None:
    url, _ = demo
    visit(page, f"{url}/#/live", "live")
    assert states(page)["live-rate"] == "ready"
    alerts = page.locator('[data-panel="live-alerts"]').inner_text()
    assert "agent-run-0420" in alerts and "no price" in alerts
    assert "acme-llama-70b" in page.locator('[data-panel="live-unpriced"]').inner_text()
    assert page.evaluate("() => window.llmledgerCharts['live-rate:usd'].data.datasets[0].data.length") > 10


def test_explore_filters_groups_exports_and_sessions(demo: tuple[str, str], page: Page) -> None:
    url, _ = demo
    visit(page, f"{url}/#/explore", "explore")
    everything = chart_sum(page, "explore-breakdown")
    page.select_option('[data-filter="dimension"]', "tenant")
    page.fill('[data-filter="value"]', "acme")
    page.click('[data-filter="add"]')
    page.wait_for_function("() => location.hash.includes('tenant')")
    page.wait_for_function(READY)
    page.screenshot(path=str(ARTIFACTS / "explore-acme.png"), full_page=True)
    assert page.locator('[data-chip="tenant=acme"]').count() == 1
    acme = chart_sum(page, "explore-breakdown")
    want = float(api(url, "summary", where="tenant=acme")["cost"])
    assert 0 < acme < everything and abs(acme - want) < 0.5
    requests = page.locator('[data-panel="explore-requests"] tr[data-row]').all_inner_texts()
    assert requests and all("tenant=acme" in r for r in requests)
    assert not any(f"tenant={other}" in r for r in requests for other in ("globex", "initech", "umbrella", "hooli"))
    page.select_option('[data-groupby="1"]', "team")
    page.wait_for_function("() => location.hash.includes('team')")
    page.wait_for_function(READY)
    assert page.locator('[data-panel="explore-breakdown"] tr[data-row]').count() >= 1
    table = pq.read_table(io.BytesIO(download(page, '[data-panel="explore-requests"] [data-export="parquet"]')))
    assert table.num_rows > 100 and set(table.column("tenant").to_pylist()) == {"acme"}
    rows = list(csv.DictReader(io.StringIO(download(
        page, '[data-panel="explore-requests"] [data-export="csv"]').decode())))
    assert len(rows) == table.num_rows or abs(len(rows) - table.num_rows) < 20  # live traffic keeps arriving
    assert page.locator('[data-panel="explore-histograms"] canvas').count() == 2
    assert "ticket_resolved" in page.locator('[data-panel="explore-outcomes"]').inner_text()


def test_session_view_shows_the_context_growing(demo: tuple[str, str], page: Page) -> None:
    url, _ = demo
    visit(page, f"{url}/#/sessions/agent-run-0420", "session")
    assert page.locator('[data-panel="session-view"] tr[data-row]').count() == 60
    bars = page.evaluate("() => window.llmledgerCharts['session-view'].data.datasets"
                         ".filter(d => d.type !== 'line' && d.label === 'Uncached input')[0].data")
    assert bars == sorted(bars) and bars[-1] > 50 * bars[0]


@pytest.fixture(scope="module")
def served_demo(demo: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """`llmledger serve` over the demo ledger, with a tenant user for acme."""
    _, db = demo
    config = """
admin_token: admin-token-for-the-browser
dashboard:
  users:
    - {name: acme-finance, password: acme-password, tenant: acme}
"""
    gateway = start_gateway(config, tmp_path_factory.mktemp("serve"), db=db)
    yield gateway
    gateway.stop()


def login(page: Page, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/")
    assert page.url.endswith("/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_function(READY, timeout=30_000)


def test_a_tenant_login_sees_only_its_tenant(served_demo: GatewayProcess, page: Page) -> None:
    url = served_demo.url
    page.goto(f"{url}/login")
    page.fill("#username", "acme-finance")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "login-refused.png"))
    login(page, url, "acme-finance", "acme-password")
    page.screenshot(path=str(ARTIFACTS / "tenant-overview.png"), full_page=True)
    assert "acme" in page.inner_text("header")
    shown = Decimal(page.get_attribute('[data-kpi="cost"]', "data-value"))
    with httpx2.Client(base_url=url, headers={"authorization": "Bearer admin-token-for-the-browser"}) as admin:
        everyone = Decimal(admin.get("/api/v1/summary").json()["cost"])
        acme = Decimal(admin.get("/api/v1/summary", params={"where": "tenant=acme"}).json()["cost"])
    assert abs(shown - acme) < Decimal("0.5") and shown < everyone * Decimal("0.6")
    assert page.locator('[data-panel="overview-breakdown-tenant"]').count() == 0
    users = page.locator('[data-panel="overview-top-users"] tr[data-row]').all_inner_texts()
    assert users and all(u.startswith("acme-") for u in users)
    # another tenant's agent run is not there for acme
    visit(page, f"{url}/#/sessions/agent-run-0420", "tenant-foreign-session")
    assert states(page)["session-view"] == "error"
    visit(page, f"{url}/#/explore?where=tenant%3Dhooli", "tenant-explore-hooli")
    assert page.locator('[data-panel="explore-requests"] tr[data-row]').count() == 0
    exported = download(page, '[data-panel="explore-requests"] [data-export="csv"]').decode()
    assert "hooli" not in exported
