"""Offline token counts and the pre-call estimate."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from llmledger import PriceBook
from llmledger.tokens import count_request, count_text, encoding_name, estimate_request


def test_openai_models_count_exactly_with_their_encoding() -> None:
    assert encoding_name("openai", "gpt-4o-mini") == "o200k_base"
    assert encoding_name("openai", "gpt-4-turbo") == "cl100k_base"
    assert encoding_name("anthropic", "claude-sonnet-4-5") is None
    assert count_text("hello world", model="gpt-4o") == count_text("hello world", model="gpt-4") != (0, False)
    assert count_text("hello world", model="gpt-4o").tokens == 2
    assert count_text("", model="gpt-4o").tokens == 0
    # o200k and cl100k differ on non-English text
    text = "日本語のテキストを数える"
    assert count_text(text, model="gpt-4o").tokens != count_text(text, model="gpt-4").tokens


def test_other_providers_are_estimated_on_the_high_side() -> None:
    counted = count_text("The quick brown fox jumps over the lazy dog", provider="anthropic", model="claude-x")
    assert not counted.exact
    assert counted.tokens == 12  # 9 o200k tokens × 1.25, rounded up


def test_chat_request_overhead_follows_openais_format() -> None:
    body = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi", "name": "bo"}]}
    counted = count_request(body, provider="openai", model="gpt-4o")
    # 3 priming + 3 per message + 1 for the name + the text
    assert count_text("Be brief.\nhi", model="gpt-4o").tokens == 4
    assert (counted.tokens, counted.exact) == (3 + 3 + 3 + 1 + 4, True)


def test_content_parts_tools_and_images_make_the_count_an_estimate() -> None:
    parts = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}
    counted = count_request(parts, provider="openai", model="gpt-4o")
    assert not counted.exact and counted.tokens >= 765
    tools = {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {
        "name": "lookup", "description": "Look a thing up", "parameters": {"type": "object"}}}]}
    assert not count_request(tools, provider="openai", model="gpt-4o").exact


def test_estimate_prices_the_worst_case(prices: PriceBook) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 500}
    estimate = estimate_request(body, provider="openai", model="gpt-4o-mini", prices=prices)
    assert (estimate.input_tokens, estimate.max_output_tokens) == (7, 500)  # 3 + 3 + "hi"
    assert estimate.cost.total == (7 * Decimal("0.15") + 500 * Decimal("0.60")) / 1_000_000


def test_unknown_model_estimate_is_unpriced_not_zero(prices: PriceBook) -> None:
    estimate = estimate_request({"messages": [], "max_tokens": 10}, provider="openai", model="my-own-model",
                                prices=prices)
    assert estimate.cost.status == "unpriced" and estimate.cost.total is None


@given(st.lists(st.text(max_size=200), max_size=8))
def test_counts_are_never_negative_and_grow_with_messages(texts: list[str]) -> None:
    body = {"messages": [{"role": "user", "content": t} for t in texts]}
    counted = count_request(body, provider="openai", model="gpt-4o")
    assert counted.tokens >= 3 + 3 * len(texts)
    more = count_request({"messages": [*body["messages"], {"role": "user", "content": "more"}]},
                         provider="openai", model="gpt-4o")
    assert more.tokens > counted.tokens
