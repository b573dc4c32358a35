"""The provider registry: ids and aliases, sniffing, dispatch, and the shared count reader."""

import json
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger import providers
from llmledger.errors import IncompleteStream, ParseError, UnknownProvider
from llmledger.providers import (
    Parsed,
    canonical_provider,
    count,
    family_for,
    parse_body,
    parse_document,
    parse_stream,
    provider_ids,
    register,
    sniff_provider,
)
from llmledger.usage import USAGE_FIELDS, Usage


def test_all_names_exist():
    assert all(hasattr(providers, name) for name in providers.__all__)


@pytest.mark.parametrize(("given_id", "canonical"), [
    ("openai", "openai"), (" OpenAI ", "openai"), ("gemini", "google"), ("vertex_ai", "google"),
    ("gcp.gemini", "google"), ("bedrock", "aws"), ("aws.bedrock", "aws"), ("claude", "anthropic"),
    ("xai", "x-ai"), ("mistralai", "mistral"), ("azure-openai", "azure"), ("cohere", "cohere"),
])
def test_canonical_provider(given_id, canonical):
    assert canonical_provider(given_id) == canonical


def test_provider_ids_cover_every_family():
    ids = provider_ids()
    assert ids == sorted(ids)
    assert {"openai", "anthropic", "google", "aws", "cohere", "mistral", "deepseek", "azure"} <= set(ids)
    assert {family_for(p).name for p in ids} == {"openai", "anthropic", "gemini", "bedrock", "cohere"}


def test_unknown_provider_lists_the_known_ones():
    with pytest.raises(UnknownProvider, match=r"unknown provider 'acme'; known providers: anthropic, aws, .*openai"):
        family_for("acme")
    with pytest.raises(UnknownProvider, match="unknown provider 'acme'"):
        parse_body({"usage": {}}, provider="acme")
    with pytest.raises(UnknownProvider, match="unknown provider 'acme'"):
        parse_stream([], provider="acme")


@pytest.mark.parametrize(("name", "provider"), [
    ("openai/chat_completion_reasoning_o3-mini.json", "openai"),
    ("openai/responses_reasoning_cached.json", "openai"),
    ("openai/responses_stream_completed_event.json", "openai"),
    ("openai/embeddings_text-embedding-3-small.json", "openai"),
    ("anthropic/messages_cache_read.json", "anthropic"),
    ("google/generate_content_thinking.json", "google"),
    ("bedrock/converse_cache_write.json", "aws"),
    ("cohere/chat_v2_billed_units_cached.json", "cohere"),
    # An OpenAI-compatible body looks like OpenAI's: only --provider can tell it is Mistral's.
    ("mistral/chat_completion_cached.json", "openai"),
])
def test_sniff_bodies(fixtures_dir, name, provider):
    assert sniff_provider(json.loads((fixtures_dir / name).read_text(encoding="utf-8"))) == provider


@pytest.mark.parametrize(("name", "provider"), [
    ("openai/chat_completions_stream_include_usage.txt", "openai"),
    ("openai/responses_stream.txt", "openai"),
    ("anthropic/messages_stream_basic.txt", "anthropic"),
    ("google/stream_generate_content_cumulative_usage.txt", "google"),
])
def test_sniff_streams(fixtures_dir, name, provider):
    parsed, stream = parse_document((fixtures_dir / name).read_text(encoding="utf-8"))
    assert (parsed.provider, stream) == (provider, True)


def test_sniff_decoded_bedrock_frames(fixtures_dir):
    parsed, stream = parse_document((fixtures_dir / "bedrock/converse_stream_events_decoded.json").read_text(),
                                    model="us.amazon.nova-micro-v1:0")
    assert (parsed.provider, stream) == ("aws", True)


@pytest.mark.parametrize(("text", "error"), [
    ("", r"the file is empty"),
    ("   \n", r"the file is empty"),
    ("{not json", r"the file is not valid JSON"),
    ("[1, 2", r"the file is not valid JSON"),
    ("hello", r"no JSON body and no server-sent events \('data:' lines\) found"),
    ("[1, 2]", r"cannot tell which provider wrote this stream; pass --provider"),
    ('{"usage": {"tokens": 3}}', r"cannot tell which provider wrote this response; pass --provider"),
])
def test_parse_document_rejects(text, error):
    with pytest.raises(ParseError, match=error):
        parse_document(text)


@pytest.mark.parametrize("body", ["[1]", b'"text"', "3"])
def test_body_must_be_an_object(body):
    with pytest.raises(ParseError, match="response body must be a JSON object"):
        parse_body(body, provider="openai")


def test_body_that_is_not_utf8():
    with pytest.raises(ParseError, match="response body is not valid JSON"):
        parse_body(b'{"usage": "\xff"}', provider="openai")


def test_missing_model_asks_for_it():
    with pytest.raises(ParseError, match=r"the openai response does not name its model.*pass --model"):
        parse_body({"object": "chat.completion", "usage": {"prompt_tokens": 1}})


def test_incomplete_stream_is_a_parse_error():
    assert issubclass(IncompleteStream, ParseError)
    with pytest.raises(ParseError):
        parse_stream([], provider="anthropic")


def test_register_a_new_family(monkeypatch):
    monkeypatch.setattr(providers, "_FAMILIES", dict(providers._FAMILIES))
    monkeypatch.setattr(providers, "_PROVIDERS", dict(providers._PROVIDERS))
    monkeypatch.setattr(providers, "_ALIASES", dict(providers._ALIASES))

    class Tokens:
        name = "tokens"

        def sniff(self, document):
            return isinstance(document, Mapping) and "tokens_used" in document

        def parse_body(self, body, *, provider):
            return Parsed(Usage(input=count(body, "tokens_used", "body")), provider, "acme-1")

        def collector(self, *, provider):
            raise NotImplementedError

    register(Tokens(), providers=["acme"], aliases={"acme-ai": "acme"})
    assert parse_body({"tokens_used": 5}, provider="ACME-AI") == Parsed(Usage(input=5), "acme", "acme-1")
    assert parse_body('{"tokens_used": 6}').usage == Usage(input=6)
    assert "acme" in provider_ids()


@pytest.mark.parametrize(("value", "expected"), [(None, 0), (0, 0), (7, 7), (7.0, 7), (10**15, 10**15)])
def test_count_reads(value, expected):
    assert count({"n": value}, "n", "usage") == expected


def test_count_of_absent_container_or_key():
    assert count(None, "n", "usage") == 0
    assert count({}, "n", "usage") == 0


@pytest.mark.parametrize(("value", "error"), [
    (-1, r"usage\.n must not be negative, got -1"),
    (-1.0, r"usage\.n must not be negative, got -1"),
    (1.5, r"usage\.n must be a whole number, got 1\.5"),
    ("12", r"usage\.n must be a whole number, got '12'"),
    (True, r"usage\.n must be a whole number, got True"),
    (float("nan"), r"usage\.n must be a whole number, got nan"),
    (float("inf"), r"usage\.n must be a whole number, got inf"),
    ([3], r"usage\.n must be a whole number, got \[3\]"),
])
def test_count_rejects(value, error):
    with pytest.raises(ParseError, match=error):
        count({"n": value}, "n", "usage")


# -- junk never becomes a bad Usage --------------------------------------------------------------------------------

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

# (provider, body template, paths of count fields); junk replaces the count at each chosen path.
TEMPLATES = [
    ("openai", {"object": "chat.completion", "model": "m", "usage": {
        "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 1, "audio_tokens": 1},
        "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 1}}}),
    ("openai", {"object": "response", "model": "m", "usage": {
        "input_tokens": 10, "output_tokens": 5, "input_tokens_details": {"cached_tokens": 2},
        "output_tokens_details": {"reasoning_tokens": 2}}, "tool_usage": {"web_search": {"num_requests": 1}}}),
    ("anthropic", {"type": "message", "model": "m", "usage": {
        "input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 4,
        "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 1},
        "server_tool_use": {"web_search_requests": 1}}}),
    ("google", {"modelVersion": "m", "usageMetadata": {
        "promptTokenCount": 10, "cachedContentTokenCount": 2, "candidatesTokenCount": 5, "thoughtsTokenCount": 3,
        "toolUsePromptTokenCount": 4, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 2}]}}),
    ("aws", {"usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokens": 2,
                       "cacheWriteInputTokens": 1}}),
    ("cohere", {"usage": {"billed_units": {"input_tokens": 10, "output_tokens": 5}}}),
]


def count_paths(node, path=()):
    """Every path to an int leaf."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from count_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from count_paths(value, (*path, index))
    elif type(node) is int:
        yield path


def replaced(node, path, value):
    if not path:
        return value
    copy = list(node) if isinstance(node, list) else dict(node)
    copy[path[0]] = replaced(node[path[0]], path[1:], value)
    return copy


@given(st.data())
def test_junk_counts_parse_or_raise_parse_error(data):
    provider, body = data.draw(st.sampled_from(TEMPLATES))
    paths = list(count_paths(body))
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)):
        body = replaced(body, path, data.draw(junk))
    try:
        usage = parse_body(body, provider=provider, model="m").usage
    except ParseError:
        return
    assert all(type(getattr(usage, name)) is int and getattr(usage, name) >= 0 for name in USAGE_FIELDS)


# Number spellings JSON allows (and Python's decoder accepts) that are not plain counts.
json_tokens = st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-0", "-0.0", "5.0", "5e0", "1" * 5000, "null"])


@given(st.data())
def test_junk_counts_in_json_text_parse_or_raise_parse_error(data):
    provider, body = data.draw(st.sampled_from(TEMPLATES))
    path = data.draw(st.sampled_from(list(count_paths(body))))
    token = data.draw(json_tokens | junk.map(json.dumps))
    text = json.dumps(replaced(body, path, "JUNK")).replace('"JUNK"', token)
    try:
        usage = parse_document(text, provider=provider, model="m")[0].usage
    except ParseError:
        return
    assert all(type(getattr(usage, name)) is int and getattr(usage, name) >= 0 for name in USAGE_FIELDS)
