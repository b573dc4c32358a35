"""`llmledger.outcome()`: what a session achieved, with the attribution in force, for cost per outcome."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

import llmledger
from llmledger.errors import ConfigError, StoreUnavailable
from llmledger.ledger import Filter, Ledger
from llmledger.outcomes import OutcomeStore


def test_an_outcome_carries_its_session_and_tags(ledger: Ledger) -> None:
    with llmledger.tags(tenant="acme", feature="support"), llmledger.session("ticket-42"):
        recorded = llmledger.outcome("ticket_resolved", value="3.5", tags={"channel": "email"}, ledger=ledger)
    stored = OutcomeStore(ledger.store).list()
    assert stored == [recorded]
    assert (recorded.session_id, recorded.value) == ("ticket-42", Decimal("3.5"))
    assert recorded.tags == {"tenant": "acme", "feature": "support", "channel": "email"}
    store = OutcomeStore(ledger.store)
    assert store.list(where=(Filter("tenant", "acme"),)) == [recorded]
    assert store.list(where=(Filter("tenant", "acme", negate=True),)) == []
    assert store.list(session_id="ticket-42") == [recorded] and store.list(session_id="other") == []


def test_outside_a_session_it_counts_with_a_warning(sqlite_ledger: Ledger, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "llmledger.outcomes"):
        item = llmledger.outcome("signup", ledger=sqlite_ledger)
    assert item.session_id is None and "outside a session" in caplog.text
    assert OutcomeStore(sqlite_ledger.store).list() == [item]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ticket resolved", None, "outcome name 'ticket resolved'"),
    ("", None, "outcome name ''"),
    ("x" * 65, None, "up to 64"),
    ("ok", "lots", "is not a number"),
    ("ok", "NaN", "not a finite number"),
])
def test_bad_outcomes_are_refused(sqlite_ledger: Ledger, name: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        llmledger.outcome(name, value, ledger=sqlite_ledger)
    assert OutcomeStore(sqlite_ledger.store).list() == []


def test_an_unwritable_ledger_is_logged_not_raised(sqlite_ledger: Ledger, caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object) -> None:
        raise StoreUnavailable("the database is down")

    monkeypatch.setattr(sqlite_ledger.store, "execute_many", down)
    with caplog.at_level(logging.ERROR, "llmledger.outcomes"), llmledger.session("s"):
        llmledger.outcome("ticket_resolved", ledger=sqlite_ledger)
    assert "not recorded: the database is down" in caplog.text


def test_the_default_ledger_is_used(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'default.db'}"
    llmledger.configure(database=db, spool_dir=tmp_path / "spool")
    try:
        with llmledger.session("run-1"):
            llmledger.outcome("report_written")
    finally:
        llmledger.configure()
    with Ledger.open(db) as ledger:
        assert [(o.name, o.session_id) for o in OutcomeStore(ledger.store).list()] == [("report_written", "run-1")]
