"""OpenAI-style usage (Chat Completions, Responses, Embeddings, and compatible providers like Mistral).

``prompt_tokens`` / ``input_tokens`` include cached, cache-written and audio tokens; ``completion_tokens`` /
``output_tokens`` include reasoning, audio and prediction tokens. Each recorded fixture is checked for its exact
normalized usage and its exact cost, written from the catalog's per-million-token prices.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.errors import IncompleteStream, ParseError
from llmledger.providers import parse_body, parse_document, parse_stream
from llmledger.providers.sse import SSEDecoder, SSEEvent
from llmledger.usage import Usage

from .helpers import AT, M, assert_priced, cost_of, read

# Priced on one fixed day, after the catalog's latest changes used here (gpt-5.6-sol's 2026-08-21 price cut, the
# flex and batch variants from 2026-10-12/14), so the expected figures never drift with the clock.


# -- Chat Completions ----------------------------------------------------------------------------------------------


def test_reasoning_tokens_are_inside_completion_tokens(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "openai/chat_completion_reasoning_o3-mini.json"))
    assert not stream
    assert (parsed.provider, parsed.model, parsed.request_id, parsed.service_tier) == (
        "openai", "o3-mini-2025-01-31", "chatcmpl-Dr3KNfXKBS1oDOrhqYDuLYdjX9PM4", "default")
    # completion_tokens 87 = 23 visible + 64 reasoning: the reasoning is not added on top.
    assert parsed.usage == Usage(input=7, output=23, reasoning=64)
    assert (parsed.usage.total_input, parsed.usage.total_output) == (7, 87)
    # o3-mini: $1.10 input, $4.40 output per MTok; reasoning is billed as output.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0003905"), "openai/o3-mini",
        input=Decimal(7) * Decimal("1.10") / M,
        output=Decimal(23) * Decimal("4.40") / M,
        reasoning=Decimal(64) * Decimal("4.40") / M,
    )


def test_cache_write_tokens_are_inside_prompt_tokens(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/chat_completion_cache_write.json"))
    # prompt_tokens 4020 = 8 uncached + 4012 written to the cache.
    assert parsed.usage == Usage(input=8, cache_write_5m=4012, output=4)
    assert parsed.usage.total_input == 4020
    # gpt-5.6-sol: $4 input, $5 cache write, $20 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.020172"), "openai/gpt-5.6-sol",
        input=Decimal(8) * Decimal(4) / M,
        cache_write=Decimal(4012) * Decimal(5) / M,
        output=Decimal(4) * Decimal(20) / M,
    )


def test_cached_tokens_are_inside_prompt_tokens(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/chat_completion_cache_read.json"))
    # prompt_tokens 4020 = 8 uncached + 4012 cached: the cached ones are not also billed as input.
    assert parsed.usage == Usage(input=8, cache_read=4012, output=4)
    assert parsed.usage.total_input == 4020
    # gpt-5.6-sol: $4 input, $0.40 cached input, $20 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0017168"), "openai/gpt-5.6-sol",
        input=Decimal(8) * Decimal(4) / M,
        cache_read=Decimal(4012) * Decimal("0.40") / M,
        output=Decimal(4) * Decimal(20) / M,
    )


def test_gpt_5_6_sol_before_its_price_cut(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/chat_completion_cache_read.json"))
    cost = prices.price(parsed.usage, provider="openai", model=parsed.model, at=datetime(2026, 8, 20, tzinfo=UTC))
    # Until 2026-08-20 the catalog has $5 input, $0.50 cached input, $30 output per MTok.
    assert_priced(
        cost, Decimal("0.002166"), "openai/gpt-5.6-sol",
        input=Decimal(8) * Decimal(5) / M,
        cache_read=Decimal(4012) * Decimal("0.50") / M,
        output=Decimal(4) * Decimal(30) / M,
    )


def test_audio_tokens_are_inside_prompt_tokens(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/chat_completion_audio_input.json"))
    assert parsed.model == "gpt-4o-audio-preview-2024-12-17"
    # prompt_tokens 64 = 20 text + 44 audio.
    assert parsed.usage == Usage(input=20, audio_in=44, output=9)
    assert parsed.usage.total_input == 64
    # gpt-4o-audio-preview: $2.50 input, $10 output per MTok. The catalog has no audio price for this model, and
    # audio costs far more than text ($40/MTok listed by OpenAI), so the audio is left unpriced, visibly: the
    # cost is partial, never audio at the text price.
    cost = cost_of(prices, parsed)
    assert (cost.status, cost.reason) == ("partial", "no price for audio_in (44) on openai/gpt-4o-audio-preview")
    assert cost.audio_in is None
    assert cost.input == Decimal(20) * Decimal("2.50") / M
    assert cost.output == Decimal(9) * Decimal(10) / M
    assert cost.total == cost.input + cost.output


def test_documented_default_example(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/chat_completion_docs_default.json"))
    assert (parsed.model, parsed.service_tier) == ("gpt-5.4", "default")
    assert parsed.usage == Usage(input=19, output=10)
    # gpt-5.4: $2.50 input, $15 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0001975"), "openai/gpt-5.4",
        input=Decimal(19) * Decimal("2.50") / M,
        output=Decimal(10) * Decimal(15) / M,
    )


def test_prediction_tokens_are_inside_completion_tokens(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/chat_completion_predicted_outputs_docs.json"))
    # completion_tokens 39 already holds the 18 accepted and 10 rejected prediction tokens: 39, not 67.
    assert parsed.usage == Usage(input=81, output=39)
    # gpt-4o: $2.50 input, $10 output per MTok; rejected predictions are billed as output, inside the 39.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0005925"), "openai/gpt-4o",
        input=Decimal(81) * Decimal("2.50") / M,
        output=Decimal(39) * Decimal(10) / M,
    )


def test_chat_stream_with_include_usage(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "openai/chat_completions_stream_include_usage.txt"))
    assert stream
    assert (parsed.provider, parsed.model, parsed.request_id, parsed.service_tier) == (
        "openai", "gpt-4o-mini-2024-07-18", "chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc", "default")
    assert parsed.usage == Usage(input=78, output=9)
    # gpt-4o-mini: $0.15 input, $0.60 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0000171"), "openai/gpt-4o-mini",
        input=Decimal(78) * Decimal("0.15") / M,
        output=Decimal(9) * Decimal("0.60") / M,
    )


def test_embeddings(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/embeddings_text-embedding-3-small.json"))
    assert (parsed.model, parsed.request_id) == ("text-embedding-3-small", None)
    assert parsed.usage == Usage(input=4)
    # text-embedding-3-small: $0.02 input per MTok.
    assert_priced(cost_of(prices, parsed), Decimal("0.00000008"), "openai/text-embedding-3-small",
                  input=Decimal(4) * Decimal("0.02") / M)


def test_mistral_cache_read_falls_back_to_the_input_price(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "mistral/chat_completion_cached.json"), provider="mistral")
    assert (parsed.provider, parsed.model) == ("mistral", "mistral-large-latest")
    # prompt_tokens 268 = 44 uncached + 224 cached.
    assert parsed.usage == Usage(input=44, cache_read=224, output=5)
    # mistral-large: $2 input, $6 output per MTok; no cache price in the catalog, so cached tokens cost the input
    # price (never $0).
    assert_priced(
        cost_of(prices, parsed), Decimal("0.000566"), "mistral/mistral-large",
        input=Decimal(44) * Decimal(2) / M,
        cache_read=Decimal(224) * Decimal(2) / M,
        output=Decimal(5) * Decimal(6) / M,
    )


# -- Responses -----------------------------------------------------------------------------------------------------


def test_responses_reasoning_and_cached(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/responses_reasoning_cached.json"))
    assert (parsed.model, parsed.service_tier) == ("gpt-5-2025-08-07", "default")
    # input_tokens 1493 = 213 uncached + 1280 cached; output_tokens 125 = 61 visible + 64 reasoning.
    assert parsed.usage == Usage(input=213, cache_read=1280, output=61, reasoning=64)
    assert (parsed.usage.total_input, parsed.usage.total_output) == (1493, 125)
    # gpt-5: $1.25 input, $0.125 cached input, $10 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.00167625"), "openai/gpt-5",
        input=Decimal(213) * Decimal("1.25") / M,
        cache_read=Decimal(1280) * Decimal("0.125") / M,
        output=Decimal(61) * Decimal(10) / M,
        reasoning=Decimal(64) * Decimal(10) / M,
    )


def test_responses_cache_read_with_tool_usage(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/responses_cache_read.json"))
    # tool_usage.web_search.num_requests is 0: no search is billed.
    assert parsed.usage == Usage(input=8, cache_read=4012, output=5)
    # gpt-5.6-sol: $4 input, $0.40 cached input, $20 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0017368"), "openai/gpt-5.6-sol",
        input=Decimal(8) * Decimal(4) / M,
        cache_read=Decimal(4012) * Decimal("0.40") / M,
        output=Decimal(5) * Decimal(20) / M,
    )


def test_responses_documented_reasoning_example(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "openai/responses_docs_reasoning_o1.json"))
    assert (parsed.model, parsed.service_tier) == ("o1-2024-12-17", None)
    # output_tokens 1035 = 203 visible + 832 reasoning.
    assert parsed.usage == Usage(input=81, output=203, reasoning=832)
    # o1: $15 input, $60 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.063315"), "openai/o1",
        input=Decimal(81) * Decimal(15) / M,
        output=Decimal(203) * Decimal(60) / M,
        reasoning=Decimal(832) * Decimal(60) / M,
    )


FLEX_USAGE = Usage(input=53, output=21, reasoning=448)


def assert_gpt_5_flex(cost):
    # gpt-5 at the flex tier: $0.625 input, $5 output per MTok (half the $1.25 / $10 standard price).
    assert_priced(
        cost, Decimal("0.002378125"), "openai/gpt-5",
        input=Decimal(53) * Decimal("0.625") / M,
        output=Decimal(21) * Decimal(5) / M,
        reasoning=Decimal(448) * Decimal(5) / M,
    )


def test_responses_stream_is_priced_at_its_flex_tier(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "openai/responses_stream.txt"))
    assert stream
    assert (parsed.model, parsed.request_id, parsed.service_tier) == (
        "gpt-5-2025-08-07", "resp_0050471a34b36ae60068c97b94a480819587a9d70cf2979b33", "flex")
    assert parsed.usage == FLEX_USAGE
    assert_gpt_5_flex(cost_of(prices, parsed))
    # The same usage at the standard tier costs twice as much: the tier is not ignored.
    standard = prices.price(parsed.usage, provider="openai", model=parsed.model, at=AT)
    assert standard.total == Decimal(53) * Decimal("1.25") / M + Decimal(21 + 448) * Decimal(10) / M
    assert standard.total == 2 * cost_of(prices, parsed).total


def test_responses_completed_event_alone(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "openai/responses_stream_completed_event.json"))
    assert not stream
    assert (parsed.model, parsed.service_tier) == ("gpt-5-2025-08-07", "flex")
    assert parsed.usage == FLEX_USAGE
    assert_gpt_5_flex(cost_of(prices, parsed))


def test_body_and_document_agree(fixtures_dir):
    raw = (fixtures_dir / "openai/chat_completion_cache_read.json").read_bytes()
    assert parse_body(raw) == parse_body(raw.decode(), provider="openai") == parse_document(raw.decode())[0]


def test_explicit_model_wins_over_the_body(fixtures_dir):
    parsed = parse_body((fixtures_dir / "openai/chat_completion_docs_default.json").read_bytes(), model="gpt-5.4-mini")
    assert parsed.model == "gpt-5.4-mini"


def test_web_search_calls_counted_from_output_items():
    body = {"object": "response", "model": "gpt-5", "usage": {"input_tokens": 10, "output_tokens": 2},
            "output": [{"type": "web_search_call"}, {"type": "message"}, {"type": "web_search_call"}]}
    assert parse_body(body).usage == Usage(input=10, output=2, web_searches=2)


def test_reasoning_beside_completion_tokens_is_detected_by_total():
    # xAI reports reasoning outside completion_tokens; total_tokens = prompt + completion + reasoning tells.
    body = {"object": "chat.completion", "model": "grok-4", "usage": {
        "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 45,
        "completion_tokens_details": {"reasoning_tokens": 30}}}
    assert parse_body(body, provider="xai").usage == Usage(input=10, output=5, reasoning=30)


def test_deepseek_top_level_cache_hits():
    body = {"object": "chat.completion", "model": "deepseek-chat", "usage": {
        "prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 60, "prompt_cache_miss_tokens": 40}}
    assert parse_body(body, provider="deepseek").usage == Usage(input=40, cache_read=60, output=5)


# -- streams cut short ---------------------------------------------------------------------------------------------


def events_of(text):
    decoder = SSEDecoder()
    return [*decoder.feed(text), *decoder.close()]


@pytest.mark.parametrize(("name", "usage_marker"), [
    ("openai/chat_completions_stream_include_usage.txt", '"choices":[],"usage":{'),
    ("openai/responses_stream.txt", '"type":"response.completed"'),
])
@pytest.mark.parametrize("cut", ["before", "inside"])
def test_stream_cut_before_its_usage(fixtures_dir, name, usage_marker, cut):
    text = read(fixtures_dir, name)
    marker = text.index(usage_marker)
    # Just before the event that carries the usage, or in the middle of its data line.
    at = text.rindex("\n\n", 0, marker) + 2 if cut == "before" else marker
    with pytest.raises(IncompleteStream, match="stream ended without reporting usage: either it was cut off"):
        parse_document(text[:at], provider="openai")


def test_chat_stream_without_include_usage(fixtures_dir):
    text = read(fixtures_dir, "openai/chat_completions_stream_include_usage.txt")
    # As the API sends it when the request lacks stream_options.include_usage: no usage chunk before [DONE].
    chunks = [block for block in text.split("\n\n") if '"choices":[],' not in block]
    assert len(chunks) == len(text.split("\n\n")) - 1
    with pytest.raises(IncompleteStream, match=r"stream_options=\{'include_usage': true\}"):
        parse_stream(events_of("\n\n".join(chunks)), provider="openai")


def test_responses_stream_that_failed_still_reports_usage():
    usage = {"input_tokens": 9, "output_tokens": 0}
    event = {"type": "response.failed", "response": {"model": "gpt-5", "usage": usage}}
    assert parse_stream([SSEEvent("response.failed", event)], provider="openai").usage == Usage(input=9)


def test_error_event_mid_stream_is_skipped(fixtures_dir):
    events = events_of(read(fixtures_dir, "openai/chat_completions_stream_include_usage.txt"))
    events.insert(3, SSEEvent(None, {"error": {"message": "overloaded"}}))
    assert parse_stream(events, provider="openai").usage == Usage(input=78, output=9)


# -- bad input -----------------------------------------------------------------------------------------------------


def chat(**usage):
    return {"object": "chat.completion", "model": "gpt-4o-mini", "usage": usage}


def test_malformed_json():
    with pytest.raises(ParseError, match="response body is not valid JSON"):
        parse_body('{"object": "chat.completion", "usage": {', provider="openai")


def test_body_without_usage():
    with pytest.raises(ParseError, match="the openai response has no 'usage' object"):
        parse_body({"object": "chat.completion", "model": "gpt-4o-mini"})


@pytest.mark.parametrize(("usage", "message"), [
    ({"prompt_tokens": -1}, r"usage\.prompt_tokens must not be negative, got -1"),
    ({"prompt_tokens": 1.5}, r"usage\.prompt_tokens must be a whole number, got 1\.5"),
    ({"prompt_tokens": "12"}, r"usage\.prompt_tokens must be a whole number, got '12'"),
    ({"prompt_tokens": True}, r"usage\.prompt_tokens must be a whole number, got True"),
    ({"completion_tokens": -3}, r"usage\.completion_tokens must not be negative"),
    ({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": "4"}},
     r"usage\.prompt_tokens_details\.cached_tokens must be a whole number, got '4'"),
    ({"prompt_tokens": 5, "prompt_tokens_details": []}, r"usage\.prompt_tokens_details must be an object, got list"),
    ({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 10}},
     r"usage: prompt_tokens_details\.cached_tokens \(10\) plus prompt_tokens_details\.cache_write_tokens \(0\) "
     r"exceed prompt_tokens \(5\)"),
    ({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 3}},
     r"usage: prompt_tokens_details\.cached_tokens \(3\) plus prompt_tokens_details\.cache_write_tokens \(3\) "
     r"exceed prompt_tokens \(5\)"),
    ({"completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 6}},
     r"usage: completion_tokens_details\.reasoning_tokens \(6\) plus \.audio_tokens \(0\) exceed "
     r"completion_tokens \(5\)"),
])
def test_bad_chat_counts(usage, message):
    with pytest.raises(ParseError, match=message):
        parse_body(chat(**usage))


def test_bad_responses_count():
    body = {"object": "response", "model": "gpt-5", "usage": {"input_tokens": 5, "output_tokens": -2}}
    with pytest.raises(ParseError, match=r"usage\.output_tokens must not be negative, got -2"):
        parse_body(body)


def test_whole_float_counts_are_accepted():
    assert parse_body(chat(prompt_tokens=12.0, completion_tokens=3.0)).usage == Usage(input=12, output=3)


def test_bad_usage_in_a_stream_chunk_names_the_chunk():
    chunk = {"object": "chat.completion.chunk", "model": "gpt-4o-mini", "usage": {"prompt_tokens": "x"}}
    with pytest.raises(ParseError, match=r"chunk\.usage\.prompt_tokens must be a whole number"):
        parse_stream([SSEEvent(None, chunk)], provider="openai")


# -- properties ----------------------------------------------------------------------------------------------------

n = st.integers(min_value=0, max_value=10**9)


@st.composite
def chat_usages(draw):
    """A usage object as OpenAI sends it: the details are parts of prompt_tokens and completion_tokens."""
    text_in, cached, written, audio_in = draw(n), draw(n), draw(n), draw(n)
    visible, reasoning, audio_out = draw(n), draw(n), draw(n)
    accepted = draw(st.integers(min_value=0, max_value=visible))
    rejected = draw(st.integers(min_value=0, max_value=visible - accepted))
    prompt, completion = text_in + cached + written + audio_in, visible + reasoning + audio_out
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written, "audio_tokens": audio_in},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": audio_out,
                                      "accepted_prediction_tokens": accepted, "rejected_prediction_tokens": rejected},
    }
    if draw(st.booleans()):
        usage["total_tokens"] = prompt + completion
    return usage


@given(chat_usages())
def test_chat_usage_is_split_without_double_or_zero_counting(usage):
    parsed = parse_body(chat(**usage)).usage
    assert parsed.total_input == usage["prompt_tokens"]
    assert parsed.total_output == usage["completion_tokens"]
    assert parsed.cache_read == usage["prompt_tokens_details"]["cached_tokens"]
    assert parsed.cache_write == usage["prompt_tokens_details"]["cache_write_tokens"]
    assert parsed.reasoning == usage["completion_tokens_details"]["reasoning_tokens"]
    assert all(type(v) is int and v >= 0 for v in parsed.as_dict().values())


@given(chat_usages())
def test_responses_usage_matches_chat_usage(usage):
    details, out = usage["prompt_tokens_details"], usage["completion_tokens_details"]
    body = {"object": "response", "model": "gpt-5", "usage": {
        "input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
        "input_tokens_details": details, "output_tokens_details": out}}
    assert parse_body(body).usage == parse_body(chat(**usage)).usage


# -- legacy Completions --------------------------------------------------------------------------------------------

LEGACY = {  # the Completions API reference's example response
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", "object": "text_completion", "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct", "system_fingerprint": "fp_44709d6fcb",
    "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def test_legacy_completions_body_and_stream(prices):
    parsed = parse_body(LEGACY)
    assert (parsed.provider, parsed.model, parsed.request_id) == ("openai", "gpt-3.5-turbo-instruct",
                                                                  "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7")
    assert parsed.usage == Usage(input=5, output=7)
    # gpt-3.5-turbo-instruct: $1.50 input, $2 output per MTok.
    assert_priced(cost_of(prices, parsed), Decimal("0.0000215"), "openai/gpt-3.5-turbo-instruct",
                  input=Decimal(5) * Decimal("1.5") / M, output=Decimal(7) * Decimal(2) / M)
    chunk = {k: v for k, v in LEGACY.items() if k != "usage"} | {"usage": None}
    last = chunk | {"choices": [], "usage": LEGACY["usage"]}
    transcript = "".join(f"data: {json.dumps(c)}\n\n" for c in (chunk, last))
    streamed, was_stream = parse_document(transcript + "data: [DONE]\n\n")
    assert was_stream and streamed.usage == parsed.usage and streamed.model == "gpt-3.5-turbo-instruct"
