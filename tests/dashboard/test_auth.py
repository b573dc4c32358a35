"""Who may read what: the admin token, configured users, and tenants who see their own spend and nothing else."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmledger.alerts.channels import Alert
from llmledger.alerts.store import AlertStore
from llmledger.dashboard import DashboardAuth, build_dashboard
from llmledger.dashboard.auth import COOKIE, Principal
from llmledger.errors import ConfigError
from llmledger.ledger import Ledger

from .conftest import ADMIN_TOKEN, NOW, USERS, Served, serve
from .oracle import money, pick, totals


def test_nothing_without_a_login(served: Served) -> None:
    with served.client(follow_redirects=False) as anonymous:
        page = anonymous.get("/")
        assert page.status_code == 303 and page.headers["location"] == "/login"
        api = anonymous.get("/api/v1/summary")
        assert api.status_code == 401 and "log in first" in api.json()["error"]["message"]
        wrong = anonymous.get("/api/v1/summary", headers={"authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        login = anonymous.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        # the pages and their assets come from the package: no CDN
        assert anonymous.get("/static/vendor/chart.umd.min.js").status_code == 200
        assert "http" not in "".join(anonymous.get(f"/static/{f}").text for f in ("app.js", "app.css")).replace(
            "http://www.w3.org/2000/svg", "")


def test_login_and_logout(served: Served) -> None:
    with served.client(follow_redirects=False) as browser:
        refused = browser.post("/login", data={"username": "admin", "password": "guess"})
        assert refused.status_code == 401 and "Wrong user name or password" in refused.text
        assert COOKIE not in browser.cookies
        ok = browser.post("/login", data={"username": "admin", "password": ADMIN_TOKEN})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=strict" in ok.headers["set-cookie"].lower()
        assert browser.get("/").status_code == 200
        assert browser.get("/api/v1/me").json() == {"user": "admin", "role": "admin", "tenant": None,
                                                     "timezone": "UTC", "currency": "USD"}
        browser.post("/logout")
        assert browser.get("/api/v1/me").status_code == 401


def test_a_finance_user_sees_everything(served: Served) -> None:
    with served.login("finance", USERS["finance"]) as finance:
        assert finance.get("/api/v1/me").json()["role"] == "admin"
        got = finance.get("/api/v1/summary").json()
    assert money(got["cost"]) == totals(pick(served.events, NOW - timedelta(days=30), NOW))["cost"]


def test_a_tenant_sees_its_own_spend_only(served: Served) -> None:
    store = AlertStore(served.ledger.store)
    for fingerprint, scope in (("budget:org", {}), ("budget:globex", {"tenant": "globex"}),
                               ("budget:acme", {"tenant": "acme"})):
        store.claim(Alert("budgets", "budget", "page", fingerprint, scope, {}, fingerprint, NOW.isoformat()))
    since = NOW - timedelta(days=30)
    mine = totals(pick(served.events, since, NOW, tenant="acme"))
    with served.login("acme", USERS["acme"]) as acme:
        assert acme.get("/api/v1/me").json() == {"user": "acme", "role": "tenant", "tenant": "acme",
                                                  "timezone": "UTC", "currency": "USD"}
        summary = acme.get("/api/v1/summary").json()
        assert (summary["requests"], money(summary["cost"])) == (mine["requests"], mine["cost"])
        # asking for another tenant's calls gives nothing, whatever the filter says
        other = acme.get("/api/v1/summary", params={"where": "tenant=globex"}).json()
        assert other["requests"] == 0
        negated = acme.get("/api/v1/summary", params={"where": "tenant!=acme"}).json()
        assert negated["requests"] == 0
        assert [r["tenant"] for r in acme.get("/api/v1/breakdown", params={"by": "tenant"}).json()["rows"]] == ["acme"]
        rows = acme.get("/api/v1/events", params={"limit": 1000, "since": "90d"}).json()["rows"]
        assert rows and {r["tags"]["tenant"] for r in rows} == {"acme"}
        exported = acme.get("/api/v1/events", params={"format": "csv", "since": "90d"}).text
        assert "globex" not in exported and "acme" in exported
        assert acme.get("/api/v1/sessions/run-globex-1").status_code == 404
        assert acme.get("/api/v1/sessions/run-acme-1").status_code == 200
        assert [s["session_id"] for s in acme.get("/api/v1/sessions").json()["sessions"]] == ["run-acme-1"]
        assert {r["outcome"] for r in acme.get("/api/v1/outcomes", params={"by": "tenant"}).json()["rows"]} and \
            {r["tenant"] for r in acme.get("/api/v1/outcomes", params={"by": "tenant"}).json()["rows"]} == {"acme"}
        assert acme.get("/api/v1/dimensions").json()["values"]["tenant"] == ["acme"]
        assert [a["fingerprint"] for a in acme.get("/api/v1/alerts").json()["alerts"]] == ["budget:acme"]
        month = acme.get("/api/v1/month").json()
        assert month["budget"]["name"] == "acme-monthly"
        live = acme.get("/api/v1/live").json()
        assert all(row["name"] in ("acme", None) for row in live["top_now"]["tenant"])


def _forge(cookie: str, **changes: object) -> str:
    payload, signature = cookie.rsplit(".", 1)
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{forged}.{signature}"


def test_a_changed_cookie_is_refused(served: Served) -> None:
    with served.login("acme", USERS["acme"]) as acme:
        cookie = acme.cookies[COOKIE]
    flipped = cookie[:-1] + ("1" if cookie[-1] == "0" else "0")
    for forged in (_forge(cookie, t="globex"), _forge(cookie, n="admin", t=None), flipped,
                   cookie.split(".")[0], ""):
        with served.client(cookies={COOKIE: forged}) as other:
            assert other.get("/api/v1/summary").status_code == 401, forged


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), char=st.sampled_from("AZaz09-_.x"))
def test_any_one_character_change_is_refused(position: int, char: str) -> None:
    auth = DashboardAuth(admin_token=ADMIN_TOKEN)
    cookie = auth.issue(Principal("admin"))
    i = position % len(cookie)
    changed = cookie[:i] + char + cookie[i + 1:]
    if changed != cookie:
        assert auth.read(changed, None) is None
    assert auth.read(cookie, None) == Principal("admin")


def test_sessions_expire_and_removed_users_lose_access() -> None:
    config = {"admin_token": ADMIN_TOKEN, "dashboard": {"session_hours": 1, "users": [
        {"name": "acme", "password": USERS["acme"], "tenant": "acme"}]}}
    auth = DashboardAuth.from_config(config)
    cookie = auth.issue(Principal("acme", "acme"), now=1_000_000)
    assert auth.read(cookie, None, now=1_000_000 + 3599) == Principal("acme", "acme")
    assert auth.read(cookie, None, now=1_000_000 + 3601) is None
    # the same secret (from the same admin token) on a restart or another replica…
    assert DashboardAuth.from_config(config).read(cookie, None, now=1_000_001) == Principal("acme", "acme")
    # …but a user removed from the config, or moved to another tenant, is out at once
    assert DashboardAuth.from_config({"admin_token": ADMIN_TOKEN}).read(cookie, None, now=1_000_001) is None
    moved = {**config, "dashboard": {"users": [{"name": "acme", "password": USERS["acme"], "tenant": "initech"}]}}
    assert DashboardAuth.from_config(moved).read(cookie, None, now=1_000_001) is None


@pytest.mark.parametrize(("section", "message"), [
    ({"users": [{"name": "a", "password": "short"}]}, "at least 8 characters"),
    ({"users": [{"name": "admin", "password": "long-enough"}]}, "other than 'admin'"),
    ({"users": [{"name": "a", "password": "long-enough"}, {"name": "a", "password": "long-enough"}]}, "unique"),
    ({"users": [{"name": "a", "password": "long-enough", "role": "boss"}]}, "expected name, password"),
    ({"users": [{"name": "a", "password": "long-enough", "tenant": ""}]}, "tenant must be"),
    ({"session_hours": 0}, "session_hours"),
    ({"session_secret": "short"}, "session_secret"),
    ({"theme": "dark"}, "unknown setting(s) theme"),
])
def test_bad_dashboard_settings_are_named(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="dashboard") as raised:
        DashboardAuth.from_config({"dashboard": section})
    assert message in str(raised.value)


def test_with_no_one_configured_the_login_page_says_what_to_do(sqlite_ledger: Ledger) -> None:
    with serve(build_dashboard(sqlite_ledger, DashboardAuth(admin_token=None))) as url:
        import httpx2

        page = httpx2.get(f"{url}/login")
        assert "set admin_token in llmledger.yaml" in page.text
        assert httpx2.post(f"{url}/login", data={"username": "admin", "password": ""}).status_code == 401
