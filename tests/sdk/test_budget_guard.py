"""The client-side budget guard: refuse before sending when the worst case would cross a hard budget."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import anthropic
import openai
import pytest

import llmledger
from llmledger import Budget, BudgetExceeded, Ledger

from ..fake_provider import FakeProvider
from .test_openai import HI, recorded

M = Decimal("0.000001")
# One call's worst case: 13 counted input tokens at $0.15/M + max_tokens 1000 at $0.60/M
WORST = 13 * Decimal("0.15") * M + 1000 * Decimal("0.60") * M


def test_worst_case_estimate_is_exact_for_openai_models() -> None:
    estimate = llmledger.estimate(model="gpt-4o-mini", messages=HI, max_tokens=1000)
    assert (estimate.input_tokens, estimate.max_output_tokens, estimate.exact_input) == (13, 1000, True)
    assert estimate.worst_case_usd == WORST == Decimal("0.00060195")
    assert estimate.notes == ()


def test_estimate_says_when_it_is_not_exact() -> None:
    claude = llmledger.estimate(model="claude-sonnet-4-5", messages=HI, system="Be brief.")
    assert not claude.exact_input
    assert claude.max_output_tokens == 4096
    assert any("no max_tokens" in note for note in claude.notes)
    assert claude.cost.status == "priced" and claude.cost.total is not None and claude.cost.total > 0


def test_refused_before_sending_and_raised_unwrapped(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    limit = WORST * 2 + WORST / 2  # room for two worst cases, not three
    budget = Budget(limit_usd=limit, window="day", scope={"tenant": "acme"})
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=2),
                             ledger=sqlite_ledger, budget=budget)
    sent = len(fake.requests)
    with llmledger.tags(tenant="acme"):
        c.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=1000,
                                  extra_headers={"x-fake-usage": "13,1000"})
        c.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=1000,
                                  extra_headers={"x-fake-usage": "13,1000"})
        with pytest.raises(BudgetExceeded) as refused:
            c.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=1000)
    assert len(fake.requests) == sent + 2  # the third was never sent (nor retried)
    assert isinstance(refused.value, openai.OpenAIError)  # callers catching the SDK's errors see it too
    error = refused.value
    assert (error.budget, error.limit, error.spent, error.requested) == ("tenant=acme/day", limit, 2 * WORST, WORST)
    end_of_day = (datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86400)
    assert 0 < error.retry_after <= end_of_day - datetime.now(UTC).timestamp() + 1
    assert "lower max_tokens" in str(error)
    # another tenant is outside the budget's scope
    with llmledger.tags(tenant="other"):
        c.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=1000)
    assert len(recorded(sqlite_ledger)) == 3


def test_spend_already_in_the_ledger_counts(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    plain = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0),
                                 ledger=sqlite_ledger)
    plain.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "10000,0"})
    spent = 10000 * Decimal("0.15") * M
    guarded = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0),
                                   ledger=sqlite_ledger, budget=Budget(limit_usd=spent + WORST / 2))
    with pytest.raises(BudgetExceeded) as refused:
        guarded.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=1000)
    assert refused.value.spent == spent


def test_concurrent_calls_never_overspend(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    fits = 5
    budget = Budget(limit_usd=WORST * fits, window="hour")
    c = llmledger.instrument(openai.OpenAI(base_url=fake.openai_url, api_key="k", max_retries=0),
                             ledger=sqlite_ledger, budget=budget)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def worker() -> None:
        start.wait()
        try:
            c.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=1000,
                                      extra_headers={"x-fake-usage": "13,1000", "x-fake-delay-ms": "50"})
            outcomes.append("sent")
        except BudgetExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("sent") == fits and outcomes.count("refused") == 20 - fits
    spent = sum((e.cost.total or Decimal(0) for e in recorded(sqlite_ledger)), Decimal(0))
    assert spent <= budget.limit_usd


def test_anthropic_budget_error_is_not_retried_as_a_connection_error(fake: FakeProvider,
                                                                     sqlite_ledger: Ledger) -> None:
    c = llmledger.instrument(anthropic.Anthropic(base_url=fake.anthropic_url, api_key="k", max_retries=2),
                             ledger=sqlite_ledger, budget=Budget(limit_usd="0.0001"))
    with pytest.raises(BudgetExceeded) as refused:
        c.messages.create(model="claude-sonnet-4-6", max_tokens=4000, messages=HI)
    assert isinstance(refused.value, anthropic.AnthropicError)


def test_budget_checks_its_definition() -> None:
    with pytest.raises(llmledger.ConfigError, match="window 'fortnight'"):
        Budget(limit_usd=1, window="fortnight")
    with pytest.raises(llmledger.ConfigError, match="zero or more dollars"):
        Budget(limit_usd=-1)
    with pytest.raises(llmledger.ConfigError, match="mode 'strict'"):
        Budget(limit_usd=1, mode="strict")
