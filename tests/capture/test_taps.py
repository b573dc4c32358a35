"""Stream taps: however the bytes are split, the caller gets the same bytes and the usage is the same."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from llmledger.capture.request import body_tags, read_request
from llmledger.capture.taps import StreamTap

from ..conftest import FIXTURES

OPENAI_STREAM = (FIXTURES / "openai/chat_completions_stream_include_usage.txt").read_bytes()
ANTHROPIC_STREAM = (FIXTURES / "anthropic/messages_stream_basic.txt").read_bytes()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def run(tap: StreamTap, chunks: list[bytes]) -> bytes:
    return b"".join(tap.feed(chunk) for chunk in chunks) + tap.close()


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0), max_size=40), st.sampled_from([b"\n", b"\r\n"]))
def test_any_split_passes_the_stream_through_and_reads_its_usage(cuts: list[int], newline: bytes) -> None:
    data = OPENAI_STREAM.replace(b"\n", newline)
    tap = StreamTap("openai", hide_usage=False)
    assert run(tap, split(data, cuts)) == data
    usage = tap.result().usage
    assert (usage.input, usage.output) == (78, 9)


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0), max_size=40))
def test_any_split_hides_exactly_the_usage_chunk(cuts: list[int]) -> None:
    tap = StreamTap("openai", hide_usage=True)
    out = run(tap, split(OPENAI_STREAM, cuts))
    events = [block for block in OPENAI_STREAM.split(b"\n\n") if block.strip()]
    usage_events = [e for e in events if b'"choices":[]' in e]
    assert len(usage_events) == 1
    assert out == b"".join(e + b"\n\n" for e in events if e not in usage_events)
    assert tap.result().usage.input == 78


@given(st.lists(st.integers(min_value=0), max_size=40))
def test_anthropic_stream_any_split(cuts: list[int]) -> None:
    tap = StreamTap("anthropic", hide_usage=False)
    assert run(tap, split(ANTHROPIC_STREAM, cuts)) == ANTHROPIC_STREAM
    assert (tap.result().usage.input, tap.result().usage.output) == (20, 5)


def test_a_malformed_usage_object_does_not_break_the_stream() -> None:
    bad = b'data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":-3}}\n\n'
    tap = StreamTap("openai", hide_usage=False)
    assert tap.feed(bad) == bad
    partial = tap.partial()
    assert partial.usage is None


def test_include_usage_is_added_only_where_needed() -> None:
    asked = json.dumps({"model": "m", "stream": True, "stream_options": {"include_usage": True}}).encode()
    request, replaced = read_request("openai", "POST", "/v1/chat/completions", asked)
    assert replaced is None and not request.hide_usage
    silent = json.dumps({"model": "m", "stream": True, "stream_options": {"foo": 1}}).encode()
    request, replaced = read_request("openai", "POST", "/v1/chat/completions", silent)
    assert request.hide_usage and json.loads(replaced or b"")["stream_options"] == {"foo": 1, "include_usage": True}
    for path, provider in (("/v1/responses", "openai"), ("/v1/messages", "anthropic")):
        _, replaced = read_request(provider, "POST", path, json.dumps({"model": "m", "stream": True}).encode())
        assert replaced is None  # those streams report usage unasked


def test_body_tags_read_user_and_metadata_and_skip_what_is_not_a_tag() -> None:
    body = {"user": "u1", "metadata": {"feature": "x", "Bad Key": "y", "tenant": "acme", "user_id": "ignored-by-user"}}
    assert body_tags(body) == {"feature": "x", "tenant": "acme", "user": "u1"}

