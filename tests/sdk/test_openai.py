"""The real openai SDK, instrumented, against the fake provider: every endpoint, streamed and not, sync and async."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import pytest

import llmledger
from llmledger import Ledger
from llmledger.events import UsageEvent
from llmledger.sdk import capture_of

from ..fake_provider import FakeProvider

M = Decimal("0.000001")  # $ per token at $1 per million
MINI_IN, MINI_OUT = Decimal("0.15") * M, Decimal("0.60") * M  # gpt-4o-mini, published prices
HI = [{"role": "user", "content": "What is the capital of France?"}]


def client(fake: FakeProvider, ledger: Ledger, **options: object) -> openai.OpenAI:
    bare = openai.OpenAI(base_url=fake.openai_url, api_key="sk-test", max_retries=0)
    return llmledger.instrument(bare, ledger=ledger, **options)  # type: ignore[arg-type]


def recorded(ledger: Ledger) -> list[UsageEvent]:
    assert ledger.flush(10)
    return list(ledger.events())


def test_chat_completion_is_recorded_with_exact_tokens_cost_and_tags(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger, tags={"environment": "test"})
    with llmledger.tags(feature="support-chat", tenant="acme", user="u42", prompt_version="v7"):
        reply = c.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                          extra_headers={"x-fake-usage": "1200,35"})
    assert reply.usage is not None and reply.usage.prompt_tokens == 1200
    [event] = recorded(sqlite_ledger)
    assert (event.provider, event.model, event.status, event.http_status) == ("openai", "gpt-4o-mini", "ok", 200)
    assert (event.usage.input, event.usage.output, event.usage.cache_read) == (1200, 35, 0)
    assert event.cost.status == "priced"
    assert event.cost.total == 1200 * MINI_IN + 35 * MINI_OUT == Decimal("0.000201")
    assert event.tags == {"environment": "test", "feature": "support-chat", "tenant": "acme", "user": "u42",
                          "prompt_version": "v7"}
    assert event.source == "sdk" and not event.estimated and event.latency_ms is not None
    assert event.request_id == reply.id


def test_cached_prompt_tokens_are_split_out_and_priced_at_the_cache_rate(fake: FakeProvider,
                                                                        sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    c.chat.completions.create(model="gpt-5.6-sol", messages=HI,
                              extra_headers={"x-fake-fixture": "openai/chat_completion_cache_read.json"})
    [event] = recorded(sqlite_ledger)
    # prompt_tokens 4020 includes 4012 cached: never counted twice, never dropped
    assert (event.usage.input, event.usage.cache_read, event.usage.output) == (8, 4012, 4)
    assert event.usage.total_input == 4020


def test_stream_without_include_usage_is_metered_and_the_caller_sees_the_stream_it_expected(
    fake: FakeProvider, sqlite_ledger: Ledger
) -> None:
    bare = openai.OpenAI(base_url=fake.openai_url, api_key="sk-test", max_retries=0)
    expected = list(bare.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    c = client(fake, sqlite_ledger)
    seen = list(c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    # llmledger asked for usage on the caller's behalf…
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}
    # …and hid the extra chunk: same chunks, same text, no usage
    assert [ch.model_dump(exclude={"usage"}) for ch in seen] == [ch.model_dump(exclude={"usage"}) for ch in expected]
    assert all(ch.usage is None for ch in seen)
    [event] = recorded(sqlite_ledger)
    assert (event.usage.input, event.usage.output) == (78, 9)  # the recorded stream's usage chunk
    assert event.cost.total == 78 * MINI_IN + 9 * MINI_OUT != 0
    assert event.status == "ok" and not event.estimated


def test_a_caller_who_asked_for_usage_still_gets_the_usage_chunk(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    chunks = list(c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True,
                                            stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 78
    [event] = recorded(sqlite_ledger)
    assert event.usage.input == 78


def test_stream_as_context_manager(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    with c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True) as stream:
        text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
    assert text == "The capital of the UK is London."
    [event] = recorded(sqlite_ledger)
    assert (event.usage.input, event.usage.output, event.status) == (78, 9, "ok")


def test_abandoned_stream_is_recorded_as_aborted_with_an_estimate(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    stream = c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    taken = [next(stream) for _ in range(4)]  # role chunk, "The", " capital", " of"
    stream.close()
    assert "".join(ch.choices[0].delta.content or "" for ch in taken) == "The capital of"
    [event] = recorded(sqlite_ledger)
    assert event.status == "aborted" and event.estimated
    # input counted from the request (o200k: 3 per message + 3 priming + 7 of text), output from what was seen
    assert event.usage.input == 3 + 3 + 7
    assert event.usage.output == 3
    assert event.cost.status == "priced" and event.cost.total > 0


def test_stream_cut_off_midway_is_estimated_not_zero(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    stream = c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True,
                                       extra_headers={"x-fake-cut-after": "5"})
    with pytest.raises(openai.APIConnectionError):
        for _ in stream:
            pass
    [event] = recorded(sqlite_ledger)
    assert event.status == "aborted" and event.estimated
    assert event.usage.output == 4  # "The capital of the" in o200k
    assert event.cost.total is not None and event.cost.total > 0


def test_a_body_without_usage_is_estimated_not_zero(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    reply = c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-no-usage": "1"})
    assert reply.usage is None
    [event] = recorded(sqlite_ledger)
    assert (event.status, event.estimated, event.usage.input) == ("ok", True, 13)
    assert reply.choices[0].message.content == "Hello! How can I assist you today?"
    assert event.usage.output == 9  # that answer, counted in o200k
    assert event.cost.total is not None and event.cost.total > 0


def test_with_raw_response(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    raw = c.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI,
                                                      extra_headers={"x-fake-usage": "50,5"})
    assert raw.http_request.url.path == "/v1/chat/completions"
    assert raw.parse().usage.total_tokens == 55  # type: ignore[union-attr]
    [event] = recorded(sqlite_ledger)
    assert (event.usage.input, event.usage.output) == (50, 5)


def test_responses_api_body_and_stream(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    c.responses.create(model="gpt-5", input="Compute 2+2 with code")
    streamed = list(c.responses.create(model="gpt-5", input="Tell me a story", stream=True))
    assert streamed[-1].type == "response.completed"
    body, stream = recorded(sqlite_ledger)
    assert (body.usage.input, body.usage.cache_read, body.usage.output, body.usage.reasoning) == (213, 1280, 61, 64)
    assert (stream.usage.input, stream.usage.output, stream.usage.reasoning) == (53, 21, 448)
    assert stream.service_tier == "flex"
    assert "stream_options" not in fake.requests[-1]  # Responses streams report usage unasked


def test_embeddings(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    c.embeddings.create(model="text-embedding-3-small", input="hello world", dimensions=128,
                        encoding_format="base64")
    [event] = recorded(sqlite_ledger)
    assert (event.model, event.usage.input, event.usage.output) == ("text-embedding-3-small", 4, 0)
    assert event.cost.total == 4 * Decimal("0.02") * M


def test_failed_call_is_recorded_as_failed_with_what_was_billed(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    with pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-status": "429"})
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                  extra_headers={"x-fake-status": "500", "x-fake-usage": "100,0"})
    unbilled, billed = recorded(sqlite_ledger)
    assert (unbilled.status, unbilled.http_status, unbilled.usage.total_input) == ("error", 429, 0)
    assert unbilled.cost.status == "priced" and unbilled.cost.total == 0 and "nothing billed" in unbilled.cost.reason
    assert (billed.status, billed.http_status, billed.usage.input) == ("error", 500, 100)
    assert billed.cost.total == 100 * MINI_IN


def test_connection_failure_is_recorded_and_raised_as_usual(sqlite_ledger: Ledger) -> None:
    bare = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test", max_retries=0)
    c = llmledger.instrument(bare, ledger=sqlite_ledger)
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(model="gpt-4o-mini", messages=HI)
    [event] = recorded(sqlite_ledger)
    assert (event.status, event.http_status, event.usage.total_input) == ("error", None, 0)


def test_model_listing_is_not_metered(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    assert [m.id for m in c.models.list()] == ["gpt-4o-mini"]
    assert recorded(sqlite_ledger) == []


def test_async_client_plain_and_streamed(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    async def run() -> None:
        bare = openai.AsyncOpenAI(base_url=fake.openai_url, api_key="sk-test", max_retries=0)
        c = llmledger.instrument(bare, ledger=sqlite_ledger)
        with llmledger.tags(feature="async"):
            await c.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "7,3"})
            stream = await c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
            chunks = [chunk async for chunk in stream]
        assert all(ch.usage is None for ch in chunks)
        async with await c.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True) as stream:
            async for _ in stream:
                break
        await c.close()

    asyncio.run(run())
    plain, streamed, abandoned = recorded(sqlite_ledger)
    assert (plain.usage.input, plain.usage.output, plain.tags) == (7, 3, {"feature": "async"})
    assert (streamed.usage.input, streamed.usage.output, streamed.status) == (78, 9, "ok")
    assert abandoned.status == "aborted" and abandoned.estimated


def test_instrumenting_twice_records_once(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    assert llmledger.instrument(c, ledger=sqlite_ledger) is c
    c.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert len(recorded(sqlite_ledger)) == 1


def test_with_options_copies_keep_recording(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    c.with_options(timeout=5).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert len(recorded(sqlite_ledger)) == 1


def test_provider_comes_from_the_base_url_or_the_caller() -> None:
    ledger = Ledger.open("sqlite:///:memory:")
    deepseek = llmledger.instrument(openai.OpenAI(base_url="https://api.deepseek.com/v1", api_key="k"), ledger=ledger)
    assert capture_of(deepseek).provider == "deepseek"
    local = llmledger.instrument(openai.OpenAI(base_url="http://127.0.0.1:1/v1", api_key="k"), ledger=ledger,
                                 provider="groq")
    assert capture_of(local).provider == "groq"
    ledger.close()


def test_instrument_refuses_what_it_cannot_wrap() -> None:
    with pytest.raises(llmledger.ConfigError, match="expected an openai or anthropic client"):
        llmledger.instrument(object())
    with pytest.raises(llmledger.ConfigError, match="tag name 'Bad-Key'"):
        llmledger.instrument(openai.OpenAI(api_key="k"), tags={"Bad-Key": "x"}, ledger=Ledger.open(":memory:"))
