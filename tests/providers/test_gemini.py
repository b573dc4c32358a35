"""Gemini usage: ``promptTokenCount`` includes cached tokens, thoughts and tool-use prompts are extra, and a stream
repeats cumulative usage in every chunk (take the last, never the sum)."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.errors import IncompleteStream, ParseError
from llmledger.providers import parse_body, parse_document, parse_stream
from llmledger.providers.sse import SSEDecoder, SSEEvent
from llmledger.usage import Usage

from .helpers import M, assert_priced, cost_of, read

STREAM = "google/stream_generate_content_cumulative_usage.txt"


def test_thoughts_are_extra_output(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "google/generate_content_thinking.json"))
    assert not stream
    # modelVersion "models/gemini-2.5-pro" (the request URL said gemini-2.5-pro-preview-03-25).
    assert (parsed.provider, parsed.model, parsed.request_id, parsed.service_tier) == (
        "google", "gemini-2.5-pro", "1FpeaOWpAs-lkdUP_4eY2QY", None)
    # thoughtsTokenCount 275 is not inside candidatesTokenCount 8; totalTokenCount 298 = 15 + 8 + 275.
    assert parsed.usage == Usage(input=15, output=8, reasoning=275)
    assert parsed.usage.total_input + parsed.usage.total_output == 298
    # gemini-2.5-pro (up to 200,000 input tokens): $1.25 input, $10 output per MTok; thoughts are billed as output.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.00284875"), "google/gemini-2.5-pro",
        input=Decimal(15) * Decimal("1.25") / M,
        output=Decimal(8) * Decimal(10) / M,
        reasoning=Decimal(275) * Decimal(10) / M,
    )


def test_cached_content_is_inside_the_prompt(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "google/generate_content_cached_content.json"))
    assert (parsed.model, parsed.service_tier) == ("gemini-2.5-flash", "standard")
    # promptTokenCount 3520 = 8 uncached + 3512 cached; totalTokenCount 3564 = 3520 + 2 + 42.
    assert parsed.usage == Usage(input=8, cache_read=3512, output=2, reasoning=42)
    assert parsed.usage.total_input == 3520
    assert parsed.usage.total_input + parsed.usage.total_output == 3564
    # gemini-2.5-flash: $0.30 input, $0.03 cached input, $2.50 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.00021776"), "google/gemini-2.5-flash",
        input=Decimal(8) * Decimal("0.30") / M,
        cache_read=Decimal(3512) * Decimal("0.03") / M,
        output=Decimal(2) * Decimal("2.50") / M,
        reasoning=Decimal(42) * Decimal("2.50") / M,
    )


def test_tool_use_prompt_is_extra_input(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "google/generate_content_tool_use_prompt.json"))
    # toolUsePromptTokenCount 2395 is not inside promptTokenCount 32; totalTokenCount 2515 = 32 + 2395 + 41 + 47.
    assert parsed.usage == Usage(input=32 + 2395, output=41, reasoning=47)
    assert parsed.usage.total_input + parsed.usage.total_output == 2515
    # gemini-2.5-flash: $0.30 input, $2.50 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0009481"), "google/gemini-2.5-flash",
        input=Decimal(2427) * Decimal("0.30") / M,
        output=Decimal(41) * Decimal("2.50") / M,
        reasoning=Decimal(47) * Decimal("2.50") / M,
    )


def test_stream_takes_the_last_cumulative_usage(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, STREAM))
    assert stream
    assert (parsed.model, parsed.request_id, parsed.service_tier) == (
        "gemini-2.5-flash", "ru1garvBEoOiqtsP2fznmQw", "standard")
    # candidatesTokenCount goes 31 → 79 → 80: 80, never the 190 a sum would give (nor 54 prompt or 105 thoughts).
    assert parsed.usage == Usage(input=18, output=80, reasoning=35)
    # gemini-2.5-flash: $0.30 input, $2.50 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0002929"), "google/gemini-2.5-flash",
        input=Decimal(18) * Decimal("0.30") / M,
        output=Decimal(80) * Decimal("2.50") / M,
        reasoning=Decimal(35) * Decimal("2.50") / M,
    )


def test_audio_prompt_tokens_are_priced_as_audio(prices):
    body = {"modelVersion": "gemini-2.5-flash", "usageMetadata": {
        "promptTokenCount": 100, "candidatesTokenCount": 4,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 40}, {"modality": "AUDIO", "tokenCount": 60}]}}
    parsed = parse_body(body)
    assert parsed.usage == Usage(input=40, audio_in=60, output=4)
    # gemini-2.5-flash: $0.30 text input, $1 audio input, $2.50 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.000082"), "google/gemini-2.5-flash",
        input=Decimal(40) * Decimal("0.30") / M,
        audio_in=Decimal(60) * Decimal(1) / M,
        output=Decimal(4) * Decimal("2.50") / M,
    )


def test_explicit_model_wins(fixtures_dir):
    parsed, _ = parse_document(read(fixtures_dir, "google/generate_content_thinking.json"), provider="gemini",
                               model="gemini-2.5-pro-preview-03-25")
    assert (parsed.provider, parsed.model) == ("google", "gemini-2.5-pro-preview-03-25")


# -- streams cut short ---------------------------------------------------------------------------------------------


def stream_events(fixtures_dir):
    decoder = SSEDecoder()
    return [*decoder.feed(read(fixtures_dir, STREAM)), *decoder.close()]


def test_stream_cut_before_its_last_chunk(fixtures_dir):
    events = stream_events(fixtures_dir)
    assert len(events) == 3
    # The chunks seen carry usage, but cumulative-so-far: without the finishReason chunk it is incomplete.
    with pytest.raises(IncompleteStream, match=r"ended before a chunk with a finishReason: it was cut off \(its usage"):
        parse_stream(events[:-1], provider="google")


def test_stream_cut_inside_its_last_chunk(fixtures_dir):
    text = read(fixtures_dir, STREAM)
    with pytest.raises(IncompleteStream, match="cut off"):
        parse_document(text[: text.index('"finishReason"')], provider="google")


def test_stream_cut_before_any_usage():
    with pytest.raises(IncompleteStream, match=r"finishReason: it was cut off$"):
        parse_stream([SSEEvent(None, "not json")], provider="google")


# -- bad input -----------------------------------------------------------------------------------------------------


def gemini(**meta):
    return {"modelVersion": "gemini-2.5-flash", "usageMetadata": meta}


def test_body_without_usage_metadata():
    with pytest.raises(ParseError, match="the google response has no 'usageMetadata' object"):
        parse_body({"candidates": [], "modelVersion": "gemini-2.5-flash"})


@pytest.mark.parametrize(("meta", "error"), [
    ({"promptTokenCount": -1}, r"usageMetadata\.promptTokenCount must not be negative, got -1"),
    ({"candidatesTokenCount": 1.5}, r"usageMetadata\.candidatesTokenCount must be a whole number, got 1\.5"),
    ({"thoughtsTokenCount": "12"}, r"usageMetadata\.thoughtsTokenCount must be a whole number, got '12'"),
    ({"promptTokenCount": 5, "cachedContentTokenCount": 6},
     r"usageMetadata: cachedContentTokenCount \(6\) exceeds promptTokenCount \(5\)"),
    ({"promptTokenCount": 5, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": "3"}]},
     r"usageMetadata\.promptTokensDetails\[\]\.tokenCount must be a whole number"),
])
def test_bad_counts(meta, error):
    with pytest.raises(ParseError, match=error):
        parse_body(gemini(**meta))


def test_model_missing_without_model_version():
    with pytest.raises(ParseError, match=r"the google response does not name its model .*pass --model"):
        parse_body({"usageMetadata": {"promptTokenCount": 1}})


# -- properties ----------------------------------------------------------------------------------------------------

n = st.integers(min_value=0, max_value=10**9)


@st.composite
def cumulative_streams(draw):
    """Chunks as Gemini streams them: every one carries the usage so far; only candidates and thoughts grow."""
    prompt = draw(n)
    cached = draw(st.integers(min_value=0, max_value=prompt))
    tool_use = draw(n)
    steps = draw(st.lists(st.tuples(n, n), min_size=1, max_size=8))
    chunks, candidates, thoughts = [], 0, 0
    for grow_candidates, grow_thoughts in steps:
        candidates, thoughts = candidates + grow_candidates, thoughts + grow_thoughts
        chunks.append({
            "candidates": [{"content": {"parts": [{"text": "x"}]}, "index": 0}],
            "modelVersion": "gemini-2.5-flash",
            "usageMetadata": {"promptTokenCount": prompt, "cachedContentTokenCount": cached,
                              "toolUsePromptTokenCount": tool_use, "candidatesTokenCount": candidates,
                              "thoughtsTokenCount": thoughts},
        })
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    return chunks


@given(cumulative_streams())
def test_stream_equals_its_last_chunk(chunks):
    streamed = parse_stream([SSEEvent(None, c) for c in chunks], provider="google").usage
    last = chunks[-1]["usageMetadata"]
    assert streamed == parse_body(chunks[-1]).usage
    assert streamed.total_input == last["promptTokenCount"] + last["toolUsePromptTokenCount"]
    assert streamed.total_output == last["candidatesTokenCount"] + last["thoughtsTokenCount"]
    assert streamed.cache_read == last["cachedContentTokenCount"]


@given(cumulative_streams())
def test_stream_transcript_equals_its_last_chunk(chunks):
    transcript = "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)
    parsed, stream = parse_document(transcript)
    assert stream
    assert parsed.usage == parse_body(chunks[-1]).usage
