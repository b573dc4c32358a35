"""Bedrock Converse usage: ``inputTokens`` excludes cache reads and writes; the model is only in the request URL."""

import json
from decimal import Decimal

import pytest

from llmledger.errors import IncompleteStream, ParseError
from llmledger.providers import parse_body, parse_document, parse_stream
from llmledger.providers.sse import SSEEvent
from llmledger.usage import Usage

from .helpers import M, assert_priced, cost_of, read

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # from the request URL /model/{id}/converse
NOVA = "us.amazon.nova-micro-v1:0"
STREAM = "bedrock/converse_stream_events_decoded.json"


def test_cache_write_is_beside_input_tokens(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "bedrock/converse_cache_write.json"), model=SONNET)
    assert not stream
    assert (parsed.provider, parsed.model) == ("aws", SONNET)
    # totalTokens 1329 = 2 input + 1322 cache write + 5 output: the write is not inside inputTokens.
    assert parsed.usage == Usage(input=2, cache_write_5m=1322, output=5)
    assert parsed.usage.total_input + parsed.usage.total_output == 1329
    # Claude Sonnet 4.5 through a us. (regional) inference profile: $3.30 input, $4.125 cache write, $16.50 output
    # per MTok (10% over the global price).
    assert_priced(
        cost_of(prices, parsed), Decimal("0.00554235"), "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0",
        input=Decimal(2) * Decimal("3.30") / M,
        cache_write=Decimal(1322) * Decimal("4.125") / M,
        output=Decimal(5) * Decimal("16.50") / M,
    )


def test_cache_read_is_beside_input_tokens(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "bedrock/converse_cache_read.json"), provider="bedrock", model=SONNET)
    assert parsed.usage == Usage(input=2, cache_read=1322, output=5)
    # Regional Claude Sonnet 4.5: $3.30 input, $0.33 cache read, $16.50 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.00052536"), "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0",
        input=Decimal(2) * Decimal("3.30") / M,
        cache_read=Decimal(1322) * Decimal("0.33") / M,
        output=Decimal(5) * Decimal("16.50") / M,
    )


def test_decoded_event_stream(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, STREAM), model=NOVA)
    assert stream
    assert (parsed.provider, parsed.model) == ("aws", NOVA)
    assert parsed.usage == Usage(input=2, output=32)
    # Nova Micro: $0.035 input, $0.14 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.00000455"), "aws/amazon.nova-micro-v1:0",
        input=Decimal(2) * Decimal("0.035") / M,
        output=Decimal(32) * Decimal("0.14") / M,
    )


def test_boto3_event_dicts():
    # boto3's converse_stream yields {"metadata": {...}} dicts instead of raw frames.
    events = [SSEEvent(None, {"messageStart": {"role": "assistant"}}),
              SSEEvent(None, {"metadata": {"usage": {"inputTokens": 7, "outputTokens": 3, "cacheReadInputTokens": 2}}})]
    assert parse_stream(events, provider="bedrock", model=NOVA).usage == Usage(input=7, cache_read=2, output=3)


@pytest.mark.parametrize("name", ["bedrock/converse_cache_write.json", STREAM])
def test_model_must_be_given(fixtures_dir, name):
    with pytest.raises(ParseError, match=r"the aws response does not name its model \(it is in the request URL\)"):
        parse_document(read(fixtures_dir, name))


def test_stream_cut_before_metadata(fixtures_dir):
    frames = json.loads(read(fixtures_dir, STREAM))
    assert frames[-1]["headers"][":event-type"] == "metadata"
    with pytest.raises(IncompleteStream, match="the aws stream ended before its metadata event: it was cut off"):
        parse_document(json.dumps(frames[:-1]), model=NOVA)


def test_body_without_usage():
    with pytest.raises(ParseError, match="the aws Converse response has no 'usage' object"):
        parse_body({"output": {}}, provider="aws", model=SONNET)


@pytest.mark.parametrize(("usage", "error"), [
    ({"inputTokens": -1}, r"usage\.inputTokens must not be negative, got -1"),
    ({"inputTokens": 1, "outputTokens": 1.5}, r"usage\.outputTokens must be a whole number, got 1\.5"),
    ({"inputTokens": 1, "cacheReadInputTokens": "12"}, r"usage\.cacheReadInputTokens must be a whole number, got '12'"),
])
def test_bad_counts(usage, error):
    with pytest.raises(ParseError, match=error):
        parse_body({"usage": usage}, model=SONNET)


def test_bad_count_in_a_stream_frame():
    frame = {"headers": {":event-type": "metadata"}, "payload": {"usage": {"inputTokens": -5}}}
    with pytest.raises(ParseError, match=r"metadata\.usage\.inputTokens must not be negative"):
        parse_stream([SSEEvent(None, frame)], provider="aws", model=NOVA)


def test_non_object_metadata_is_not_taken_for_bedrock():
    # A body whose "metadata" is a plain value must not crash the provider sniffing.
    with pytest.raises(ParseError, match="cannot tell which provider"):
        parse_body({"metadata": 1})
