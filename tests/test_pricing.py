"""PriceBook: exact Decimal cost per component from the genai-prices catalog and local overrides; never a silent $0."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from genai_prices import types as gp

from llmledger.errors import ConfigError, UnknownModel
from llmledger.pricing import COMPONENTS, PRICE_KEYS, Cost, PriceBook, PriceOverride, describe_price
from llmledger.usage import Usage

AT = datetime(2026, 11, 1, tzinfo=UTC)  # a fixed pricing day, so the figures never drift with the clock
M = 1_000_000


def zero_but(**components):
    return {**dict.fromkeys(COMPONENTS, Decimal(0)), **components}


def test_a_priced_cost_says_where_its_prices_came_from(prices):
    cost = prices.price(Usage(input=1000, output=100), provider="openai", model="gpt-4o-mini", at=AT)
    # gpt-4o-mini: $0.15 input, $0.60 output per MTok.
    assert cost.components() == zero_but(input=Decimal(1000) * Decimal("0.15") / M,
                                         output=Decimal(100) * Decimal("0.60") / M)
    assert (cost.status, cost.total, cost.currency, cost.priced_as, cost.reason) == (
        "priced", Decimal("0.00021"), "USD", "openai/gpt-4o-mini", None)
    assert cost.price_version.startswith("genai-prices ")


def test_model_names_are_case_insensitive_and_the_provider_optional(prices):
    usage = Usage(input=1000)
    assert (prices.price(usage, provider=None, model="GPT-4o-Mini", at=AT)
            == prices.price(usage, provider="openai", model="gpt-4o-mini", at=AT))


# -- never a silent $0 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-nonexistent-9"), (None, "my-finetune"),
                                                 ("cohere", "gpt-4o")])
def test_unknown_model_is_unpriced_with_the_reason(prices, provider, model):
    cost = prices.price(Usage(input=1000, output=10), provider=provider, model=model, at=AT)
    assert (cost.status, cost.total, cost.price_version, cost.priced_as) == ("unpriced", None, None, None)
    assert cost.components() == dict.fromkeys(COMPONENTS)  # None, never Decimal(0)
    assert f"no price for model {model!r}" in cost.reason
    assert "add one under 'prices:' in llmledger.yaml" in cost.reason


def test_unknown_model_from_find_raises(prices):
    with pytest.raises(UnknownModel, match=r"no price for model 'gpt-nonexistent-9' from provider 'openai'"):
        prices.find("openai", "gpt-nonexistent-9", at=AT)


def test_web_search_without_a_price_is_partial(prices):
    cost = prices.price(Usage(input=100, output=10, web_searches=2), provider="openai", model="o3-mini", at=AT)
    # o3-mini: $1.10 input, $4.40 output per MTok, and no web search price.
    assert cost.components() == zero_but(input=Decimal(100) * Decimal("1.10") / M,
                                         output=Decimal(10) * Decimal("4.40") / M, web_search=None)
    assert (cost.status, cost.total) == ("partial", Decimal("0.000154"))
    assert cost.reason == "no price for web_searches (2) on openai/o3-mini"


def test_web_search_with_a_price(prices):
    cost = prices.price(Usage(web_searches=3), provider="google", model="gemini-2.5-flash", at=AT)
    # gemini-2.5-flash: $35 per 1,000 grounded searches.
    assert (cost.status, cost.web_search, cost.total) == ("priced", Decimal(3) * Decimal(35) / 1000, Decimal("0.105"))


def test_per_request_price(prices):
    cost = prices.price(Usage(input=1000, output=100), provider="perplexity", model="sonar", at=AT)
    # sonar: $1 input, $1 output per MTok, $12 per 1,000 requests.
    assert cost.components() == zero_but(input=Decimal(1000) * Decimal(1) / M, output=Decimal(100) * Decimal(1) / M,
                                         requests=Decimal(1) * Decimal(12) / 1000)
    assert cost.total == Decimal("0.0131")


def test_no_request_price_means_no_request_fee(prices):
    cost = prices.price(Usage(input=0, requests=1), provider="openai", model="gpt-4o-mini", at=AT)
    assert (cost.status, cost.requests, cost.total) == ("priced", Decimal(0), Decimal(0))


# -- fallbacks -----------------------------------------------------------------------------------------------------


def test_cache_read_without_a_cache_price_costs_the_input_price(prices):
    assert "cache_read_mtok" not in prices.find("mistral", "mistral-large-latest", at=AT)[0]
    cost = prices.price(Usage(input=44, cache_read=224, output=5), provider="mistral", model="mistral-large-latest",
                        at=AT)
    # mistral-large: $2 input (also for cached tokens), $6 output per MTok.
    assert cost.components() == zero_but(input=Decimal(44) * Decimal(2) / M, cache_read=Decimal(224) * Decimal(2) / M,
                                         output=Decimal(5) * Decimal(6) / M)
    assert (cost.status, cost.total) == ("priced", Decimal("0.000566"))


def test_reasoning_costs_the_output_price(prices):
    cost = prices.price(Usage(reasoning=1000), provider="openai", model="o3-mini", at=AT)
    # o3-mini: $4.40 output per MTok.
    assert cost.components() == zero_but(reasoning=Decimal(1000) * Decimal("4.40") / M)


def test_audio_without_an_audio_price_is_partial_not_the_text_price(prices):
    cost = prices.price(Usage(output=10, audio_out=10), provider="openai", model="o3-mini", at=AT)
    assert (cost.status, cost.audio_out) == ("partial", None)
    assert cost.reason == "no price for audio_out (10) on openai/o3-mini"
    assert cost.total == cost.output == Decimal(10) * Decimal("4.40") / M


def test_audio_with_an_audio_price(prices):
    cost = prices.price(Usage(input=100, audio_in=1000), provider="google", model="gemini-2.5-flash", at=AT)
    # gemini-2.5-flash: $0.30 text input, $1.00 audio input per MTok.
    assert cost.status == "priced"
    assert cost.audio_in == Decimal(1000) * Decimal(1) / M and cost.input == Decimal(100) * Decimal("0.30") / M


def test_cache_write_without_a_write_price_costs_the_input_price(prices):
    cost = prices.price(Usage(cache_write_5m=100, cache_write_1h=10), provider="openai", model="gpt-4o-mini", at=AT)
    # gpt-4o-mini has no cache write price: $0.15 input per MTok.
    assert cost.cache_write == Decimal(110) * Decimal("0.15") / M


# -- tiers, batch, service tiers, dates ----------------------------------------------------------------------------

SONNET_TIERS = {  # claude-sonnet-4-5 (USD per MTok): up to 200,000 input tokens, and above
    "input_mtok": (Decimal(3), Decimal(6)),
    "cache_read_mtok": (Decimal("0.30"), Decimal("0.60")),
    "cache_write_mtok": (Decimal("3.75"), Decimal("7.50")),
    "cache_write_1h_mtok": (Decimal(6), Decimal(12)),
    "output_mtok": (Decimal(15), Decimal("22.50")),
}


def test_catalog_tiers_of_claude_sonnet_4_5(prices):
    found, _, priced_as = prices.find("anthropic", "claude-sonnet-4-5", at=AT)
    assert priced_as == "anthropic/claude-sonnet-4-5"
    for key, (base, high) in SONNET_TIERS.items():
        assert found[key] == gp.TieredPrices(base=base, tiers=[gp.Tier(start=200_000, price=high)])
    assert describe_price(found["input_mtok"]) == "3 (6 above 200,000 input tokens)"
    assert describe_price(Decimal("0.15")) == "0.15"


def test_above_200k_total_input_every_count_takes_the_higher_tier(prices):
    # 150,000 + 40,000 cache read + 10,000 5m write + 1 1h write = 200,001 input tokens: over the threshold.
    usage = Usage(input=150_000, cache_read=40_000, cache_write_5m=10_000, cache_write_1h=1, output=1_000)
    cost = prices.price(usage, provider="anthropic", model="claude-sonnet-4-5", at=AT)
    # Above 200,000: $6 input, $0.60 cache read, $7.50 5m write, $12 1h write, $22.50 output per MTok.
    assert cost.components() == zero_but(
        input=Decimal(150_000) * Decimal(6) / M,
        cache_read=Decimal(40_000) * Decimal("0.60") / M,
        cache_write=Decimal(10_000) * Decimal("7.50") / M + Decimal(1) * Decimal(12) / M,
        output=Decimal(1_000) * Decimal("22.50") / M,
    )
    assert (cost.status, cost.total) == ("priced", Decimal("1.0215120"))


def test_at_exactly_200k_input_the_base_tier_applies(prices):
    usage = Usage(input=160_000, cache_read=40_000, output=1_000)
    cost = prices.price(usage, provider="anthropic", model="claude-sonnet-4-5", at=AT)
    # 200,000 is not above the threshold: $3 input, $0.30 cache read, $15 output per MTok.
    assert cost.components() == zero_but(input=Decimal(160_000) * Decimal(3) / M,
                                         cache_read=Decimal(40_000) * Decimal("0.30") / M,
                                         output=Decimal(1_000) * Decimal(15) / M)


@pytest.mark.parametrize("how", [{"batch": True}, {"service_tier": "batch"}])
def test_batch_price(prices, how):
    cost = prices.price(Usage(input=1000, cache_read=1000, output=1000), provider="openai", model="gpt-5", at=AT, **how)
    # gpt-5 batch: $0.625 input, $0.0625 cached input, $5 output per MTok (half the standard price).
    assert cost.components() == zero_but(input=Decimal(1000) * Decimal("0.625") / M,
                                         cache_read=Decimal(1000) * Decimal("0.0625") / M,
                                         output=Decimal(1000) * Decimal(5) / M)
    assert cost.total == Decimal("0.0056875")


def test_batch_price_of_a_tiered_model(prices):
    cost = prices.price(Usage(input=1000, output=1000), provider="anthropic", model="claude-sonnet-4-5", at=AT,
                        batch=True)
    # claude-sonnet-4-5 batch (up to 200,000 input tokens): $1.50 input, $7.50 output per MTok.
    assert cost.components() == zero_but(input=Decimal(1000) * Decimal("1.50") / M,
                                         output=Decimal(1000) * Decimal("7.50") / M)


@pytest.mark.parametrize(("tier", "input_mtok", "output_mtok"), [
    (None, Decimal("1.25"), Decimal(10)), ("default", Decimal("1.25"), Decimal(10)),
    ("flex", Decimal("0.625"), Decimal(5)), ("priority", Decimal("2.50"), Decimal(20)),
])
def test_service_tier_price(prices, tier, input_mtok, output_mtok):
    cost = prices.price(Usage(input=1000, output=100), provider="openai", model="gpt-5", at=AT, service_tier=tier)
    assert cost.components() == zero_but(input=Decimal(1000) * input_mtok / M, output=Decimal(100) * output_mtok / M)


def test_catalog_prices_follow_the_date(prices):
    usage = Usage(input=1000)
    before = prices.price(usage, provider="openai", model="gpt-5.6-sol", at=datetime(2026, 8, 20, 23, 59, tzinfo=UTC))
    after = prices.price(usage, provider="openai", model="gpt-5.6-sol", at=datetime(2026, 8, 21, tzinfo=UTC))
    # gpt-5.6-sol input: $5 per MTok until 2026-08-20, $4 from 2026-08-21.
    assert (before.input, after.input) == (Decimal(1000) * Decimal(5) / M, Decimal(1000) * Decimal(4) / M)


# -- overrides -----------------------------------------------------------------------------------------------------


def override(**raw):
    return PriceOverride.from_mapping({"provider": "openai", "model": "gpt-4o-mini", **raw})


def test_override_wins_over_the_catalog_from_its_date():
    book = PriceBook([override(input_mtok="0.10", output_mtok="0.40", **{"from": "2026-06-01"})])
    usage = Usage(input=1000, output=100)
    before = book.price(usage, provider="openai", model="gpt-4o-mini", at=datetime(2026, 5, 31, 23, tzinfo=UTC))
    after = book.price(usage, provider="openai", model="gpt-4o-mini", at=datetime(2026, 6, 1, tzinfo=UTC))
    # Before 2026-06-01 the catalog: $0.15 input, $0.60 output per MTok.
    assert (before.total, before.priced_as) == (
        Decimal(1000) * Decimal("0.15") / M + Decimal(100) * Decimal("0.60") / M, "openai/gpt-4o-mini")
    # From 2026-06-01 the override: $0.10 input, $0.40 output per MTok.
    assert after.components() == zero_but(input=Decimal(1000) * Decimal("0.10") / M,
                                          output=Decimal(100) * Decimal("0.40") / M)
    assert (after.status, after.total, after.price_version, after.priced_as) == (
        "priced", Decimal("0.00014"), "override openai/gpt-4o-mini from 2026-06-01", "openai/gpt-4o-mini")


def test_override_until_is_exclusive():
    book = PriceBook([override(input_mtok=1, **{"from": "2026-01-01", "until": "2026-02-01"})])
    last_hour, next_day = datetime(2026, 1, 31, 23, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    inside = book.price(Usage(input=M), provider="openai", model="gpt-4o-mini", at=last_hour)
    after = book.price(Usage(input=M), provider="openai", model="gpt-4o-mini", at=next_day)
    assert (inside.input, inside.price_version) == (Decimal(1), "override openai/gpt-4o-mini from 2026-01-01")
    assert (after.input, after.priced_as) == (Decimal("0.15"), "openai/gpt-4o-mini")  # the catalog's $0.15/MTok


def test_latest_starting_override_wins():
    book = PriceBook([override(input_mtok=1), override(input_mtok=2, **{"from": date(2026, 3, 1)})])
    early = book.price(Usage(input=M), provider="openai", model="gpt-4o-mini", at=datetime(2026, 2, 1, tzinfo=UTC))
    late = book.price(Usage(input=M), provider="openai", model="gpt-4o-mini", at=datetime(2026, 4, 1, tzinfo=UTC))
    assert (early.input, late.input) == (Decimal(1), Decimal(2))


def test_override_prices_a_model_the_catalog_lacks():
    book = PriceBook([PriceOverride.from_mapping(
        {"provider": "openai", "model": "ft:gpt-4o-mini:acme:*", "input_mtok": 0.30, "output_mtok": 1.20})])
    cost = book.price(Usage(input=1000, output=100), provider="openai", model="ft:gpt-4o-mini:acme:x1", at=AT)
    # The fine-tune: $0.30 input, $1.20 output per MTok (floats from YAML are read through str: exactly 0.30).
    assert cost.components() == zero_but(input=Decimal(1000) * Decimal("0.30") / M,
                                         output=Decimal(100) * Decimal("1.20") / M)
    assert (cost.status, cost.priced_as, cost.price_version) == (
        "priced", "openai/ft:gpt-4o-mini:acme:*", "override openai/ft:gpt-4o-mini:acme:* from always")


def test_override_for_any_provider():
    book = PriceBook([PriceOverride.from_mapping({"provider": "*", "model": "llama-local", "input_mtok": "0.01"})])
    for provider in ("openai", "together", None):
        assert book.price(Usage(input=M), provider=provider, model="llama-local", at=AT).input == Decimal("0.01")


def test_override_of_another_provider_does_not_apply():
    book = PriceBook([override(input_mtok=1)])
    assert book.price(Usage(input=M), provider="azure", model="gpt-4o-mini", at=AT).priced_as == "azure/gpt-4o-mini"


def test_override_replaces_the_whole_price_set():
    # An override with only an input price: output is unpriced (partial), not $0 and not the catalog's.
    book = PriceBook([override(input_mtok=1)])
    cost = book.price(Usage(input=M, output=10), provider="openai", model="gpt-4o-mini", at=AT)
    assert (cost.status, cost.input, cost.output, cost.total) == ("partial", Decimal(1), None, Decimal(1))
    assert cost.reason == "no price for output (10) on openai/gpt-4o-mini"


def test_override_as_read_from_yaml():
    parsed = PriceOverride.from_mapping({"provider": "OpenAI", "model": "FT:GPT-4o", "input_mtok": 0.1,
                                         "cache_read_mtok": 3, "from": date(2026, 1, 1), "until": "2026-07-01"})
    assert parsed == PriceOverride(provider="openai", model="ft:gpt-4o",
                                   prices={"input_mtok": Decimal("0.1"), "cache_read_mtok": Decimal(3)},
                                   start=date(2026, 1, 1), end=date(2026, 7, 1))


@pytest.mark.parametrize(("raw", "error"), [
    ({"input_mtok": 1, "output": 2}, r"prices\[0\]: unknown key\(s\) output; allowed: provider, model, from, until, "),
    ({"input_mtok": -0.5}, r"prices\[0\]\.input_mtok: a price must be a finite number ≥ 0, got -0\.5"),
    ({"input_mtok": "NaN"}, r"prices\[0\]\.input_mtok: a price must be a finite number ≥ 0, got 'NaN'"),
    ({"input_mtok": "Infinity"}, r"a price must be a finite number ≥ 0"),
    ({"input_mtok": "cheap"}, r"prices\[0\]\.input_mtok: 'cheap' is not a number"),
    ({"input_mtok": True}, r"prices\[0\]\.input_mtok: a price must be a number, got True"),
    ({"input_mtok": [1]}, r"prices\[0\]\.input_mtok: a price must be a number, got \[1\]"),
    ({"input_mtok": 1, "from": "2026-13-01"}, r"prices\[0\]\.from: expected a date like 2026-01-01, got '2026-13-01'"),
    ({"input_mtok": 1, "until": "soon"}, r"prices\[0\]\.until: expected a date like 2026-01-01, got 'soon'"),
    ({}, r"prices\[0\]: give at least one price, e\.g\. input_mtok: 0\.30"),
    ({"model": None, "input_mtok": 1}, r"prices\[0\]: 'model' is required and must be a string"),
    ({"provider": "", "input_mtok": 1}, r"prices\[0\]: 'provider' is required and must be a string"),
])
def test_override_rejects(raw, error):
    with pytest.raises(ConfigError, match=error):
        PriceOverride.from_mapping({"provider": "openai", "model": "gpt-4o-mini", **raw}, "prices[0]")


def test_override_must_be_a_mapping():
    with pytest.raises(ConfigError, match="each price must be a mapping"):
        PriceOverride.from_mapping(["openai", "gpt-4o-mini"])  # type: ignore[arg-type]


def test_every_price_key_is_accepted():
    parsed = PriceOverride.from_mapping({"provider": "p", "model": "m", **dict.fromkeys(PRICE_KEYS, 1)})
    assert set(parsed.prices) == set(PRICE_KEYS)


# -- the compiled-price cache --------------------------------------------------------------------------------------


def spy_on_find(book, monkeypatch):
    calls = []
    find = book.find

    def spy(*args, **kwargs):
        calls.append(args)
        return find(*args, **kwargs)

    monkeypatch.setattr(book, "find", spy)
    return calls


def test_prices_are_compiled_once_per_model_and_day(monkeypatch):
    book = PriceBook()
    calls = spy_on_find(book, monkeypatch)
    usage = Usage(input=1234, cache_read=56, output=78, reasoning=9)
    first = book.price(usage, provider="openai", model="o3-mini", at=AT)
    again = book.price(usage, provider="openai", model="o3-mini", at=AT.replace(hour=23))
    assert first == again
    assert len(calls) == 1
    book.price(usage, provider="openai", model="o3-mini", at=datetime(2026, 11, 2, tzinfo=UTC))
    book.price(usage, provider="openai", model="o3-mini", at=AT, batch=True)
    book.price(usage, provider="openai", model="o3-mini", at=AT, service_tier="flex")
    assert len(calls) == 4


def test_unknown_model_is_remembered_too(monkeypatch):
    book = PriceBook()
    calls = spy_on_find(book, monkeypatch)
    first = book.price(Usage(input=1), provider="openai", model="gpt-nonexistent-9", at=AT)
    assert book.price(Usage(input=1), provider="openai", model="gpt-nonexistent-9", at=AT) == first
    assert (first.status, len(calls)) == ("unpriced", 1)


def test_cached_plan_on_a_new_day_sees_a_new_price():
    book = PriceBook()
    usage = Usage(input=1000)
    # gpt-5.6-sol input: $5 per MTok until 2026-08-20, $4 from 2026-08-21.
    for day, input_mtok in ((20, 5), (21, 4), (20, 5)):
        cost = book.price(usage, provider="openai", model="gpt-5.6-sol", at=datetime(2026, 8, day, tzinfo=UTC))
        assert cost.input == Decimal(1000) * input_mtok / M


def test_time_of_day_prices_are_not_cached_for_the_whole_day():
    book = PriceBook()
    usage = Usage(input=M)
    day = book.price(usage, provider="deepseek", model="deepseek-chat", at=datetime(2026, 11, 1, 10, tzinfo=UTC))
    night = book.price(usage, provider="deepseek", model="deepseek-chat", at=datetime(2026, 11, 1, 20, tzinfo=UTC))
    # deepseek-chat input: $0.27 per MTok from 00:30 to 16:30 UTC, $0.135 off-peak.
    assert (day.input, night.input) == (Decimal("0.27"), Decimal("0.135"))
    assert book.price(usage, provider="deepseek", model="deepseek-chat",
                      at=datetime(2026, 11, 1, 10, 0, 30, tzinfo=UTC)) == day


# -- catalog file and Cost -----------------------------------------------------------------------------------------


def test_bad_catalog_file(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text("not json")
    with pytest.raises(ConfigError, match=f"cannot load the price catalog file {path}"):
        PriceBook(catalog_file=path)
    with pytest.raises(ConfigError, match="cannot load the price catalog file"):
        PriceBook(catalog_file=tmp_path / "missing.json")


def test_empty_catalog_file_prices_nothing(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([]))
    book = PriceBook(catalog_file=path)
    cost = book.price(Usage(input=1), provider="openai", model="gpt-4o-mini", at=AT)
    assert (cost.status, cost.total) == ("unpriced", None)
    assert f"(refreshed file {path})" in cost.reason


def test_unpriced_cost():
    cost = Cost.unpriced("why")
    assert (cost.status, cost.total, cost.reason) == ("unpriced", None, "why")
    assert cost.components() == dict.fromkeys(COMPONENTS)


def test_provider_ids_are_canonicalized(prices):
    usage = Usage(input=1000, output=100)
    by_alias = prices.price(usage, provider="claude", model="claude-sonnet-4-5", at=AT)
    assert by_alias.status == "priced" and by_alias.priced_as == "anthropic/claude-sonnet-4-5"
    assert by_alias == prices.price(usage, provider="Anthropic", model="claude-sonnet-4-5", at=AT)
    bedrock = prices.price(usage, provider="bedrock", model="us.amazon.nova-micro-v1:0", at=AT)
    assert bedrock.priced_as == "aws/amazon.nova-micro-v1:0"


def test_override_provider_matches_whatever_the_case_or_alias():
    book = PriceBook([PriceOverride.from_mapping({"provider": "Bedrock", "model": "my-model", "input_mtok": 1})])
    assert book.price(Usage(input=10), provider="aws", model="My-Model", at=AT).total == Decimal(10) / M


def test_an_unknown_model_is_answered_from_the_cache_without_growing(prices):
    # Caching an exception and re-raising it grew its traceback on every call (1 GB per million calls).
    first = prices.price(Usage(input=1), provider="openai", model="never-heard-of-it", at=AT)
    again = prices.price(Usage(input=2), provider="openai", model="never-heard-of-it", at=AT)
    assert again is first and first.status == "unpriced" and first.total is None


def test_prices_follow_the_utc_date_whatever_the_time_zone():
    from datetime import timedelta, timezone

    book = PriceBook([
        PriceOverride.from_mapping({"provider": "openai", "model": "tz-model", "input_mtok": 1, "until": "2026-03-01"}),
        PriceOverride.from_mapping({"provider": "openai", "model": "tz-model", "input_mtok": 2, "from": "2026-03-01"}),
    ])
    tokyo = timezone(timedelta(hours=9))
    # 08:00 on 1 March in Tokyo is still 28 February in UTC: the old price.
    assert book.price(Usage(input=10**6), provider="openai", model="tz-model",
                      at=datetime(2026, 3, 1, 8, tzinfo=tokyo)).total == 1
    assert book.price(Usage(input=10**6), provider="openai", model="tz-model",
                      at=datetime(2026, 3, 1, 10, tzinfo=tokyo)).total == 2
