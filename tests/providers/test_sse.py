import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.providers.sse import SSEDecoder, SSEEvent

SSE_FIXTURES = [
    "openai/chat_completions_stream_include_usage.txt",
    "openai/responses_stream.txt",
    "anthropic/messages_stream_basic.txt",
    "anthropic/messages_stream_compaction_cache_read.txt",
    "google/stream_generate_content_cumulative_usage.txt",
]


def decode(*chunks):
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.close()


def test_data_is_decoded_as_json_or_kept_as_text():
    assert decode('data: {"a": 1}\n\ndata: [DONE]\n\ndata: not json\n\n') == [
        SSEEvent(None, {"a": 1}), SSEEvent(None, "[DONE]"), SSEEvent(None, "not json")]


def test_event_names_belong_to_one_event():
    assert decode("event: ping\ndata: {}\n\ndata: 1\n\n") == [SSEEvent("ping", {}), SSEEvent(None, 1)]


def test_multi_line_data_is_joined_with_newlines():
    assert decode('data: {"a":\ndata: 2}\n\n') == [SSEEvent(None, {"a": 2})]


def test_comments_other_fields_and_empty_events_are_skipped():
    text = ": keep-alive\n\nid: 7\nretry: 100\n\nevent: lonely\n\ndata:{\"x\":1}\n\n"
    # "data:" without a space after the colon is valid too.
    assert decode(text) == [SSEEvent(None, {"x": 1})]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending(newline):
    text = newline.join(["event: a", "data: 1", "", "data: 2", "", ""])
    assert decode(text) == [SSEEvent("a", 1), SSEEvent(None, 2)]


def test_close_flushes_an_event_without_its_blank_line():
    decoder = SSEDecoder()
    assert decoder.feed('data: {"last": true}') == []
    assert decoder.close() == [SSEEvent(None, {"last": True})]


def test_partial_lines_wait_for_the_rest():
    decoder = SSEDecoder()
    assert decoder.feed("data: {\"a\"") == []
    assert decoder.feed(": 1}\n") == []
    assert decoder.feed("\n") == [SSEEvent(None, {"a": 1})]


def test_crlf_split_across_chunks_is_one_line_end():
    # "\r" ends one chunk and "\n" starts the next: one line end, not an extra blank line that would end the event
    # early and drop its name.
    assert decode("event: a\r", "\ndata: 1\r", "\n\r", "\n") == [SSEEvent("a", 1)]


def test_multibyte_character_split_across_byte_chunks():
    raw = 'data: {"text": "héllo 👋"}\n\n'.encode()
    cut = raw.index("👋".encode()) + 2
    assert decode(raw[:cut], raw[cut:]) == [SSEEvent(None, {"text": "héllo 👋"})]


@pytest.mark.parametrize("name", SSE_FIXTURES)
def test_fixture_bytes_one_at_a_time(fixtures_dir, name):
    raw = (fixtures_dir / name).read_bytes()
    whole = decode(raw)
    assert whole == decode(raw.decode())
    assert decode(*(raw[i:i + 1] for i in range(len(raw)))) == whole


def test_fixture_event_counts(fixtures_dir):
    counts = {name: decode((fixtures_dir / name).read_text(encoding="utf-8")) for name in SSE_FIXTURES}
    assert {name: len(events) for name, events in counts.items()} == {
        "openai/chat_completions_stream_include_usage.txt": 12,  # 11 chunks and [DONE]
        "openai/responses_stream.txt": 14,
        "anthropic/messages_stream_basic.txt": 7,
        "anthropic/messages_stream_compaction_cache_read.txt": 12,
        "google/stream_generate_content_cumulative_usage.txt": 3,
    }
    assert counts["openai/chat_completions_stream_include_usage.txt"][-1] == SSEEvent(None, "[DONE]")
    assert [e.event for e in counts["anthropic/messages_stream_basic.txt"]] == [
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"]


# -- properties ----------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
names = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), min_size=1, max_size=10)


@st.composite
def transcripts(draw):
    """A transcript with names, comments, multi-line data, any line ending and non-ASCII text."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        if draw(st.booleans()):
            lines.append(": comment " + draw(names))
        if draw(st.booleans()):
            lines.append("event: " + draw(names))
        payload = json.dumps(draw(json_values), ensure_ascii=False, indent=draw(st.sampled_from([None, 1])))
        lines.extend("data: " + part for part in payload.split("\n"))
        lines.append("")
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


@st.composite
def split(draw, text):
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=12)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@given(st.data())
def test_any_split_of_a_text_transcript_gives_the_same_events(data):
    text = data.draw(transcripts())
    assert decode(*data.draw(split(text))) == decode(text)


@given(st.data())
def test_any_split_of_a_byte_transcript_gives_the_same_events(data):
    raw = data.draw(transcripts()).encode()
    assert decode(*data.draw(split(raw))) == decode(raw)


@given(data=st.data())
def test_any_split_of_a_recorded_fixture_gives_the_same_events(fixtures_dir, data):
    raw = (fixtures_dir / data.draw(st.sampled_from(SSE_FIXTURES))).read_bytes()
    assert decode(*data.draw(split(raw))) == decode(raw)
