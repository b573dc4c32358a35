"""Cohere Chat usage: ``billed_units`` is what is billed; ``tokens`` and ``cached_tokens`` are not."""

import json
from decimal import Decimal

import pytest

from llmledger.errors import IncompleteStream, ParseError
from llmledger.pricing import COMPONENTS
from llmledger.providers import parse_body, parse_document, parse_stream
from llmledger.providers.sse import SSEEvent
from llmledger.usage import Usage

from .helpers import AT, M, read

MODEL = "command-r7b-12-2024"  # only in the request
FIXTURE = "cohere/chat_v2_billed_units_cached.json"


def test_billed_units_are_what_is_billed(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, FIXTURE), model=MODEL)
    assert not stream
    assert (parsed.provider, parsed.model, parsed.request_id) == (
        "cohere", MODEL, "0bf8e1a5-2af6-4014-a539-c12363a043a3")
    # billed_units 2406 in / 2 out; not tokens (2935 / 4) and not cached_tokens (2928).
    assert parsed.usage == Usage(input=2406, output=2)
    cost = prices.price(parsed.usage, provider=parsed.provider, model=parsed.model, at=AT)
    assert (cost.status, cost.reason, cost.priced_as) == ("priced", None, "cohere/command-r7b")
    # command-r7b: $0.0375 input, $0.15 output per MTok.
    expected = {"input": Decimal(2406) * Decimal("0.0375") / M, "output": Decimal(2) * Decimal("0.15") / M}
    assert cost.components() == {**dict.fromkeys(COMPONENTS, Decimal(0)), **expected}
    assert cost.total == sum(expected.values()) == Decimal("0.000090525")


def test_model_must_be_given(fixtures_dir):
    with pytest.raises(ParseError, match=r"the cohere response does not name its model .*pass --model"):
        parse_document(read(fixtures_dir, FIXTURE))


def test_v1_meta_billed_units():
    body = {"generation_id": "g1", "meta": {"billed_units": {"input_tokens": 11, "output_tokens": 4}}}
    assert parse_body(body, model="command-r").usage == Usage(input=11, output=4)


def test_stream_message_end(fixtures_dir):
    usage = json.loads(read(fixtures_dir, FIXTURE))["usage"]
    events = [SSEEvent("message-start", {"type": "message-start", "id": "x"}),
              SSEEvent("message-end", {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}})]
    assert parse_stream(events, provider="cohere", model=MODEL).usage == Usage(input=2406, output=2)


def test_stream_cut_before_message_end():
    with pytest.raises(IncompleteStream, match="the cohere stream ended before its message-end event: it was cut off"):
        parse_stream([SSEEvent("message-start", {"type": "message-start", "id": "x"})], provider="cohere", model=MODEL)


def test_usage_without_billed_units():
    with pytest.raises(ParseError, match="usage has no 'billed_units'"):
        parse_body({"usage": {"tokens": {"input_tokens": 1}}}, provider="cohere", model=MODEL)


def test_body_without_usage():
    with pytest.raises(ParseError, match="the cohere response has no 'usage' object"):
        parse_body({"id": "x"}, provider="cohere", model=MODEL)


@pytest.mark.parametrize(("billed", "error"), [
    ({"input_tokens": -1}, r"usage\.billed_units\.input_tokens must not be negative, got -1"),
    ({"output_tokens": 1.5}, r"usage\.billed_units\.output_tokens must be a whole number, got 1\.5"),
    ({"input_tokens": "12"}, r"usage\.billed_units\.input_tokens must be a whole number, got '12'"),
])
def test_bad_counts(billed, error):
    with pytest.raises(ParseError, match=error):
        parse_body({"usage": {"billed_units": billed}}, model=MODEL)
