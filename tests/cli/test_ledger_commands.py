"""import → report → prices → recompute, end to end through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

RECORDS = [
    {"timestamp": "2026-11-02T09:00:00Z", "model": "gpt-4o-mini", "feature": "search", "tenant": "acme",
     "user_id": "u1", "input_tokens": 1000, "cache_read_tokens": 400, "output_tokens": 200},
    {"timestamp": "2026-11-02T10:00:00Z", "model": "gpt-4o-mini", "feature": "search", "tenant": "beta",
     "user_id": "u2", "input_tokens": 2000, "output_tokens": 100},
    {"timestamp": "2026-11-03T10:00:00Z", "provider": "anthropic", "model": "claude-sonnet-4-5",
     "feature": "chat", "tenant": "acme", "input_tokens": 500, "output_tokens": 50},
    {"timestamp": "2026-11-03T11:00:00Z", "provider": "openai", "model": "acme-ft-1", "feature": "chat",
     "tenant": "acme", "input_tokens": 100, "output_tokens": 10},
]
M = Decimal(10**6)
COST = [
    (600 * Decimal("0.15") + 400 * Decimal("0.075") + 200 * Decimal("0.6")) / M,
    (2000 * Decimal("0.15") + 100 * Decimal("0.6")) / M,
    (500 * Decimal(3) + 50 * Decimal(15)) / M,
]


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def test_import_report_recompute(run, log, ledger_url, tmp_path):
    db = ("--db", ledger_url)
    out = run("import", log, *db).stdout
    assert "4 records, 4 new, 0 already in the ledger" in out
    assert "1 unpriced" in out
    assert "0 new, 4 already" in run("import", log, *db).stdout  # idempotent

    rows = json.loads(run("report", "--by", "feature,model,day", "--since", "2026-11-01", "--format", "json",
                          *db).stdout)
    search = next(r for r in rows if r["feature"] == "search")
    assert search["requests"] == 2 and search["day"] == "2026-11-02" and search["model"] == "gpt-4o-mini"
    assert Decimal(search["cost"]) == COST[0] + COST[1]
    assert search["input_tokens"] == 3000 and search["output_tokens"] == 300
    assert Decimal(search["cached_share"]) == Decimal("0.1333")

    acme = json.loads(run("report", "--by", "tenant", "--where", "tenant=acme", "--since", "2026-11-01",
                          "--format", "json", *db).stdout)
    assert acme == [pytest.approx(acme[0])] and acme[0]["requests"] == 3 and acme[0]["unpriced"] == 1
    assert Decimal(acme[0]["cost"]) == COST[0] + COST[2]

    table = run("report", "--by", "feature", "--since", "2026-11-01", *db).stdout
    assert "search" in table and "chat" in table and "1 call(s) have no price" in table
    lines = list(csv.reader(io.StringIO(run("report", "--by", "user", "--since", "2026-11-01", "--format", "csv",
                                            *db).stdout)))
    assert lines[0][:3] == ["user", "requests", "input_tokens"]
    assert {line[0] for line in lines[1:]} == {"u1", "u2", ""}

    (tmp_path / "llmledger.yaml").write_text(
        "prices:\n  - {provider: openai, model: acme-ft-*, input_mtok: 0.3, output_mtok: 1.2, from: 2026-01-01}\n")
    assert "re-priced 4 events; 1 changed" in run("recompute", "--since", "2026-11-01", *db).stdout
    (total,) = json.loads(run("report", "--since", "2026-11-01", "--format", "json", *db).stdout)
    assert total["unpriced"] == 0
    assert Decimal(total["cost"]) == sum(COST, Decimal(0)) + (100 * Decimal("0.3") + 10 * Decimal("1.2")) / M


def test_env_var_selects_the_database(run, log, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    run("import", log, env={"LLMLEDGER_DB": url})
    assert (tmp_path / "env.db").exists()
    (row,) = json.loads(run("report", "--since", "2026-01-01", "--format", "json", env={"LLMLEDGER_DB": url}).stdout)
    assert row["requests"] == 4


def test_default_database_is_llmledger_db_in_the_working_directory(run, log, tmp_path):
    run("import", log)
    assert (tmp_path / "llmledger.db").exists()


def test_a_bad_import_writes_nothing(run, log, tmp_path):
    log.write_text(log.read_text() + '{"timestamp": "2026-11-04", "model": "gpt-4o", "input_tokens": -1}\n')
    result = run("import", log, code=1)
    assert "line 5: input_tokens must be a whole number ≥ 0, got -1" in result.stderr
    assert "nothing was imported" in result.stderr
    assert json.loads(run("report", "--format", "json").stdout) == []


def test_report_input_errors(run):
    assert "cannot read the time 'lately'" in run("report", "--since", "lately", code=1).stderr
    assert "expected NAME=VALUE" in run("report", "--where", "tenant", code=1).stderr
    assert "use table, csv, json or html" in run("report", "--format", "xml", code=2).output


def test_unreachable_database(run):
    result = run("report", "--db", "postgresql://me:hunter2@127.0.0.1:1/x", code=1)
    assert "cannot connect to the PostgreSQL ledger" in result.stderr and "hunter2" not in result.stderr


def test_prices_show_and_list(run, tmp_path):
    out = json.loads(run("prices", "show", "gpt-4o-mini", "--json").stdout)
    assert out["prices"]["input_mtok"] == "0.15" and out["priced_as"] == "openai/gpt-4o-mini"
    batch = json.loads(run("prices", "show", "gpt-4o-mini", "--batch", "--json").stdout)
    assert batch["prices"]["input_mtok"] == "0.075"
    tiered = json.loads(run("prices", "show", "claude-sonnet-4-5", "--provider", "anthropic", "--json").stdout)
    assert tiered["prices"]["input_mtok"] == "3 (6 above 200,000 input tokens)"
    assert "no price for model 'nonexistent-model'" in run("prices", "show", "nonexistent-model", code=1).stderr
    listing = run("prices", "list", "--provider", "anthropic").stdout
    assert "claude" in listing and "gpt-4o" not in listing
    (tmp_path / "llmledger.yaml").write_text(
        "prices:\n  - {provider: selfhosted, model: llama-70b, input_mtok: 0.1, output_mtok: 0.1}\n")
    assert "llama-70b" in run("prices", "list", "--provider", "selfhosted").stdout
    shown = json.loads(run("prices", "show", "llama-70b", "--provider", "selfhosted", "--json").stdout)
    assert shown["price_version"] == "override selfhosted/llama-70b from always"


def test_bad_config_is_refused(run, tmp_path):
    (tmp_path / "llmledger.yaml").write_text("prices:\n  - {provider: openai, model: x, input_mtok: -1}\n")
    assert "a price must be a finite number ≥ 0" in run("prices", "list", code=1).stderr
    (tmp_path / "llmledger.yaml").write_text("databse: x\n")
    assert "unknown setting(s) databse" in run("prices", "list", code=1).stderr
