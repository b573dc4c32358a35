"""Anthropic Messages usage: ``input_tokens`` excludes cache reads and writes; writes split by lifetime."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.errors import IncompleteStream, ParseError
from llmledger.pricing import COMPONENTS
from llmledger.providers import parse_body, parse_document, parse_stream
from llmledger.providers.sse import SSEDecoder, SSEEvent
from llmledger.usage import Usage

from .helpers import AT, M, assert_priced, cost_of, read


def test_cache_read_is_beside_input_tokens(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "anthropic/messages_cache_read.json"))
    assert not stream
    assert (parsed.provider, parsed.model, parsed.request_id, parsed.service_tier, parsed.warnings) == (
        "anthropic", "claude-sonnet-4-5-20250929", "msg_01UUPT9QdZnZSRzcQJkjG25U", "standard", ())
    # input_tokens 3 excludes the 1111 cache reads: the prompt was 1114 tokens.
    assert parsed.usage == Usage(input=3, cache_read=1111, output=406)
    assert parsed.usage.total_input == 1114
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $15 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0064323"), "anthropic/claude-sonnet-4-5",
        input=Decimal(3) * Decimal(3) / M,
        cache_read=Decimal(1111) * Decimal("0.30") / M,
        output=Decimal(406) * Decimal(15) / M,
    )


def test_cache_write_5m_and_read(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "anthropic/messages_cache_write_5m_and_read.json"))
    assert parsed.usage == Usage(input=3, cache_read=1111, cache_write_5m=418, output=33)
    assert parsed.usage.total_input == 3 + 1111 + 418
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 5-minute cache write, $15 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0024048"), "anthropic/claude-sonnet-4-5",
        input=Decimal(3) * Decimal(3) / M,
        cache_read=Decimal(1111) * Decimal("0.30") / M,
        cache_write=Decimal(418) * Decimal("3.75") / M,
        output=Decimal(33) * Decimal(15) / M,
    )


def test_docs_example_breakdown_wins_over_its_contradicting_total(fixtures_dir, prices):
    # The docs print cache_creation_input_tokens 248 beside a 456 + 100 breakdown. The breakdown says which
    # lifetime, and so which price: it is used, and the contradiction is reported.
    parsed, _ = parse_document(read(fixtures_dir, "anthropic/messages_usage_cache_ttl_docs_example.json"),
                               provider="anthropic", model="claude-sonnet-4-5")
    assert parsed.usage == Usage(input=2048, cache_read=1800, cache_write_5m=456, cache_write_1h=100, output=503)
    assert parsed.warnings == (
        "usage: cache_creation_input_tokens (248) disagrees with its 5m+1h breakdown (456+100); the breakdown, "
        "which sets the price, was used",
    )
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 5-minute and $6 1-hour cache write, $15 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.016539"), "anthropic/claude-sonnet-4-5",
        input=Decimal(2048) * Decimal(3) / M,
        cache_read=Decimal(1800) * Decimal("0.30") / M,
        cache_write=Decimal(456) * Decimal("3.75") / M + Decimal(100) * Decimal(6) / M,
        output=Decimal(503) * Decimal(15) / M,
    )


def test_the_1h_write_costs_more_than_the_5m_write(prices):
    five, hour = Usage(cache_write_5m=1000), Usage(cache_write_1h=1000)
    cost = {u: prices.price(u, provider="anthropic", model="claude-sonnet-4-5", at=AT) for u in (five, hour)}
    # claude-sonnet-4-5: $3.75 per MTok written for 5 minutes, $6 for 1 hour.
    assert cost[five].components() == {**dict.fromkeys(COMPONENTS, Decimal(0)), "cache_write": Decimal("0.00375")}
    assert cost[hour].components() == {**dict.fromkeys(COMPONENTS, Decimal(0)), "cache_write": Decimal("0.006")}
    assert (cost[five].cache_write, cost[hour].cache_write) == (
        Decimal(1000) * Decimal("3.75") / M, Decimal(1000) * Decimal(6) / M)


def test_web_search_priced_per_search(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "anthropic/messages_web_search.json"))
    assert parsed.model == "claude-sonnet-4-20250514"
    assert parsed.usage == Usage(input=8984, output=520, web_searches=1)
    # claude-sonnet-4-0: $3 input, $15 output per MTok, $10 per 1,000 searches.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.044752"), "anthropic/claude-sonnet-4-0",
        input=Decimal(8984) * Decimal(3) / M,
        output=Decimal(520) * Decimal(15) / M,
        web_search=Decimal(1) * Decimal(10) / 1000,
    )


def test_stream_last_cumulative_delta_wins(fixtures_dir, prices):
    parsed, stream = parse_document(read(fixtures_dir, "anthropic/messages_stream_basic.txt"))
    assert stream
    assert (parsed.model, parsed.request_id, parsed.service_tier) == (
        "claude-sonnet-4-5-20250929", "msg_018E1hg8GoVTGEKQY3ovMcSJ", "standard")
    # message_start says output 1, message_delta says 5 (cumulative): 5, not 6.
    assert parsed.usage == Usage(input=20, output=5)
    # claude-sonnet-4-5: $3 input, $15 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.000135"), "anthropic/claude-sonnet-4-5",
        input=Decimal(20) * Decimal(3) / M,
        output=Decimal(5) * Decimal(15) / M,
    )


def test_stream_compaction_iterations_are_summed(fixtures_dir, prices):
    parsed, _ = parse_document(read(fixtures_dir, "anthropic/messages_stream_compaction_cache_read.txt"))
    assert parsed.model == "claude-sonnet-4-6"
    # The top level covers only the last pass (181 in / 8 out / 0 cached); usage.iterations lists both billed passes:
    # compaction 100 in / 83 out / 55096 cache read, then message 181 in / 8 out.
    assert parsed.usage == Usage(input=100 + 181, cache_read=55096, output=83 + 8)
    # claude-sonnet-4-6: $3 input, $0.30 cache read, $15 output per MTok.
    assert_priced(
        cost_of(prices, parsed), Decimal("0.0187368"), "anthropic/claude-sonnet-4-6",
        input=Decimal(281) * Decimal(3) / M,
        cache_read=Decimal(55096) * Decimal("0.30") / M,
        output=Decimal(91) * Decimal(15) / M,
    )


def test_iterations_in_a_body_are_summed_and_searches_kept():
    body = {"type": "message", "model": "claude-sonnet-4-6", "usage": {
        "input_tokens": 5, "output_tokens": 7, "server_tool_use": {"web_search_requests": 2},
        "iterations": [
            {"input_tokens": 10, "output_tokens": 3, "cache_creation_input_tokens": 4},
            {"input_tokens": 5, "output_tokens": 7, "cache_creation": {"ephemeral_1h_input_tokens": 6},
             "cache_creation_input_tokens": 6},
        ]}}
    assert parse_body(body).usage == Usage(input=15, cache_write_5m=4, cache_write_1h=6, output=10, web_searches=2)


def test_cache_creation_without_breakdown_is_a_5m_write():
    body = {"type": "message", "model": "claude-3-5-haiku", "usage": {
        "input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 50}}
    parsed = parse_body(body)
    assert (parsed.usage, parsed.warnings) == (Usage(input=1, cache_write_5m=50, output=1), ())


# -- streams cut short ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["anthropic/messages_stream_basic.txt",
                                  "anthropic/messages_stream_compaction_cache_read.txt"])
@pytest.mark.parametrize("extra", [0, 60])  # just before the message_delta event, or inside its data line
def test_stream_cut_before_message_delta(fixtures_dir, name, extra):
    text = read(fixtures_dir, name)
    with pytest.raises(IncompleteStream, match="before its message_delta usage: it was cut off after message_start"):
        parse_document(text[: text.index("event: message_delta") + extra], provider="anthropic")


def test_stream_cut_before_message_start():
    with pytest.raises(IncompleteStream, match="it was cut off before message_start"):
        parse_stream([SSEEvent("ping", {"type": "ping"})], provider="anthropic")


def test_stream_events_fed_in_chunks(fixtures_dir):
    raw = (fixtures_dir / "anthropic/messages_stream_compaction_cache_read.txt").read_bytes()
    decoder = SSEDecoder()
    # 7-byte chunks split the emoji in the text delta and every line; the usage must not change.
    events = [e for i in range(0, len(raw), 7) for e in decoder.feed(raw[i:i + 7])] + decoder.close()
    assert parse_stream(events, provider="anthropic").usage == Usage(input=281, cache_read=55096, output=91)


# -- bad input -----------------------------------------------------------------------------------------------------


def message(**usage):
    return {"type": "message", "model": "claude-sonnet-4-5", "usage": usage}


def test_body_without_usage():
    with pytest.raises(ParseError, match="the anthropic response has no 'usage' object"):
        parse_body({"type": "message", "model": "claude-sonnet-4-5"})


@pytest.mark.parametrize(("usage", "error"), [
    ({"input_tokens": -1}, r"usage\.input_tokens must not be negative, got -1"),
    ({"output_tokens": 1.5}, r"usage\.output_tokens must be a whole number, got 1\.5"),
    ({"cache_read_input_tokens": "12"}, r"usage\.cache_read_input_tokens must be a whole number, got '12'"),
    ({"cache_creation": {"ephemeral_1h_input_tokens": -4}},
     r"usage\.cache_creation\.ephemeral_1h_input_tokens must not be negative"),
    ({"server_tool_use": {"web_search_requests": "1"}},
     r"usage\.server_tool_use\.web_search_requests must be a whole number"),
    ({"iterations": [{"input_tokens": 1}, 7]}, r"usage\.iterations\[1\] must be an object"),
    ({"iterations": [{"input_tokens": -1}]}, r"usage\.iterations\[0\]\.input_tokens must not be negative"),
])
def test_bad_counts(usage, error):
    with pytest.raises(ParseError, match=error):
        parse_body(message(**usage))


# -- properties ----------------------------------------------------------------------------------------------------

n = st.integers(min_value=0, max_value=10**9)


@st.composite
def messages_usages(draw):
    usage = {"input_tokens": draw(n), "cache_read_input_tokens": draw(n), "output_tokens": draw(n)}
    five, hour = draw(n), draw(n)
    usage["cache_creation_input_tokens"] = five + hour
    if draw(st.booleans()):
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": hour}
    return usage


@given(messages_usages())
def test_input_is_disjoint_from_cache_tokens(usage):
    parsed = parse_body(message(**usage))
    assert parsed.usage.total_input == (
        usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"])
    assert parsed.usage.total_output == usage["output_tokens"]
    assert parsed.warnings == ()
    assert all(type(v) is int and v >= 0 for v in parsed.usage.as_dict().values())


@given(messages_usages(), st.integers(min_value=1, max_value=10**9))
def test_stream_equals_body(usage, provisional_output):
    start = {"type": "message_start", "message": {
        "type": "message", "model": "claude-sonnet-4-5", "id": "msg_1",
        "usage": {**usage, "output_tokens": min(provisional_output, usage["output_tokens"])}}}
    delta = {"type": "message_delta", "usage": usage}
    streamed = parse_stream([SSEEvent("message_start", start), SSEEvent("message_delta", delta)], provider="anthropic")
    assert streamed.usage == parse_body(message(**usage)).usage


@given(n, n, n, n)
def test_a_disagreeing_breakdown_wins_with_a_warning(five, hour, stated, input_tokens):
    usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": stated,
             "cache_creation": {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": hour}}
    parsed = parse_body(message(**usage))
    if five + hour == 0:  # no breakdown: the stated total is a 5-minute write
        assert (parsed.usage.cache_write_5m, parsed.usage.cache_write_1h, parsed.warnings) == (stated, 0, ())
    else:
        assert (parsed.usage.cache_write_5m, parsed.usage.cache_write_1h) == (five, hour)
        assert len(parsed.warnings) == (five + hour != stated)
    assert parsed.usage.input == input_tokens
