"""Instrumented calls → `llmledger report --by feature,tenant` and `llmledger sessions`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import openai

import llmledger
from llmledger import Ledger

from ..fake_provider import FakeProvider

HI = [{"role": "user", "content": "hi"}]
M = Decimal("0.000001")


def agent_runs(fake: FakeProvider, ledger_url: str) -> None:
    with Ledger.open(ledger_url) as ledger:
        client = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0),
                                      ledger=ledger)

        def call(prompt: int) -> None:
            client.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                           extra_headers={"x-fake-usage": f"{prompt},100"})

        with llmledger.tags(feature="support-chat", tenant="acme"), llmledger.session("ticket-1234"):
            for turn in range(1, 7):  # resends its history: input grows every call
                call(1000 * turn)
            with llmledger.session("ticket-1234-lookup"):
                call(50)
        with llmledger.tags(feature="summarize", tenant="beta"), llmledger.session("doc-9"):
            for _ in range(3):  # flat
                call(800)
        call(10)  # outside any session and any tag


def test_report_by_tags_and_sessions(run, fake: FakeProvider, ledger_url: str) -> None:  # type: ignore[no-untyped-def]
    agent_runs(fake, ledger_url)
    db = ("--db", ledger_url)
    rows = json.loads(run("report", "--by", "feature,tenant", "--format", "json", *db).stdout)
    by = {(r["feature"], r["tenant"]): r for r in rows}
    assert by[("support-chat", "acme")]["requests"] == 7
    assert by[("support-chat", "acme")]["input_tokens"] == 21050
    assert Decimal(by[("summarize", "beta")]["cost"]) == 3 * (800 * Decimal("0.15") + 100 * Decimal("0.6")) * M
    assert by[(None, None)]["requests"] == 1

    found = json.loads(run("sessions", "--format", "json", *db).stdout)
    assert [s["session_id"] for s in found] == ["ticket-1234", "doc-9", "ticket-1234-lookup"]
    ticket, doc, lookup = found
    assert ticket["calls"] == 6 and ticket["input_per_call"] == [1000, 2000, 3000, 4000, 5000, 6000]
    assert ticket["growth"] == 6.0 and doc["growth"] == 1.0
    assert Decimal(ticket["cost"]) == (21000 * Decimal("0.15") + 600 * Decimal("0.6")) * M
    assert lookup["parent_id"] == "ticket-1234"
    assert ticket["tags"] == {"feature": "support-chat", "tenant": "acme"}

    table = run("sessions", *db).stdout
    assert "ticket-1234" in table and "1,000 → 6,000" in table and "×6.0" in table
    shown = run("sessions", "ticket-1234", *db).stdout
    assert "6 calls" in shown and "6,000" in shown
    by_session = json.loads(run("report", "--by", "session", "--format", "json", *db).stdout)
    assert {r["session"]: r["requests"] for r in by_session} == {
        "ticket-1234": 6, "doc-9": 3, "ticket-1234-lookup": 1, None: 1}


def test_unknown_session_says_what_to_do(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run("sessions", "nope", "--db", f"sqlite:///{tmp_path / 'x.db'}", code=1)
    assert "no calls recorded for session 'nope'" in result.stderr
