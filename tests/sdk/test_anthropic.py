"""The real anthropic SDK, instrumented, against the fake provider."""

from __future__ import annotations

import asyncio
import warnings
from decimal import Decimal

import anthropic
import httpx2
import pytest

import llmledger
from llmledger import Ledger

from ..fake_provider import FakeProvider
from .test_openai import recorded

M = Decimal("0.000001")
# claude-sonnet-4-5, published prices per million tokens
IN, OUT, CACHE_READ, CACHE_WRITE_5M = Decimal(3) * M, Decimal(15) * M, Decimal("0.30") * M, Decimal("3.75") * M
MODEL = "claude-sonnet-4-5-20250929"
HI = [{"role": "user", "content": "What is 1+1?"}]


@pytest.fixture(autouse=True)
def _quiet_deprecation() -> None:
    # The SDK warns that this (recorded) model is near end of life; it is the model the fixtures were made with.
    warnings.filterwarnings("ignore", message="The model .* is deprecated", category=DeprecationWarning)


def client(fake: FakeProvider, ledger: Ledger) -> anthropic.Anthropic:
    return llmledger.instrument(anthropic.Anthropic(base_url=fake.anthropic_url, api_key="sk-ant", max_retries=0),
                                ledger=ledger)


def test_message_with_cache_read_and_write(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    with llmledger.tags(feature="summarize", tenant="acme"):
        c.messages.create(model=MODEL, max_tokens=1024, messages=HI)
        c.messages.create(model=MODEL, max_tokens=1024, messages=HI,
                          extra_headers={"x-fake-fixture": "anthropic/messages_cache_write_5m_and_read.json"})
    read, write = recorded(sqlite_ledger)
    assert (read.provider, read.usage.input, read.usage.cache_read, read.usage.output) == ("anthropic", 3, 1111, 406)
    assert read.cost.total == 3 * IN + 1111 * CACHE_READ + 406 * OUT == Decimal("0.0064323")
    assert (write.usage.cache_write_5m, write.usage.cache_read) == (418, 1111)
    assert write.cost.total == 3 * IN + 1111 * CACHE_READ + 418 * CACHE_WRITE_5M + 33 * OUT
    assert read.tags == {"feature": "summarize", "tenant": "acme"}


def test_stream_true_and_messages_stream(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    events = list(c.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True))
    assert events[0].type == "message_start"
    with c.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 5
    first, second = recorded(sqlite_ledger)
    for event in (first, second):
        # message_start said output 1; the final message_delta's cumulative 5 wins
        assert (event.usage.input, event.usage.output, event.status, event.estimated) == (20, 5, "ok", False)
        assert event.cost.total == 20 * IN + 5 * OUT


def test_metadata_user_id_is_the_user_tag(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    with llmledger.tags(user="from-context"):
        c.messages.create(model=MODEL, max_tokens=10, messages=HI, metadata={"user_id": "u-7"})
    [event] = recorded(sqlite_ledger)
    assert event.tags == {"user": "u-7"}


def test_cut_off_stream_keeps_the_exact_input_side_and_estimates_output(fake: FakeProvider,
                                                                        sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    with pytest.raises(httpx2.RemoteProtocolError):  # the anthropic SDK lets the transport's error through
        for _ in c.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True,
                                   extra_headers={"x-fake-cut-after": "4"}):
            pass
    [event] = recorded(sqlite_ledger)
    assert event.status == "aborted" and event.estimated
    assert event.usage.input == 20  # from message_start: exact
    # the text seen ("2") is one o200k token, scaled up by 1.25 for a foreign tokenizer: 2, above the provisional 1
    assert event.usage.output == 2


def test_anthropic_error_format(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    c = client(fake, sqlite_ledger)
    with pytest.raises(anthropic.RateLimitError):
        c.messages.create(model=MODEL, max_tokens=10, messages=HI, extra_headers={"x-fake-status": "429"})
    [event] = recorded(sqlite_ledger)
    assert (event.status, event.http_status, event.model) == ("error", 429, MODEL)


def test_async_client_create_and_stream(fake: FakeProvider, sqlite_ledger: Ledger) -> None:
    async def run() -> None:
        c = llmledger.instrument(
            anthropic.AsyncAnthropic(base_url=fake.anthropic_url, api_key="sk-ant", max_retries=0), ledger=sqlite_ledger
        )
        with llmledger.session("run-1"):
            await c.messages.create(model=MODEL, max_tokens=100, messages=HI, extra_headers={"x-fake-usage": "40,4"})
            async with c.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
                await stream.get_final_message()
        await c.close()

    asyncio.run(run())
    plain, streamed = recorded(sqlite_ledger)
    assert (plain.usage.input, plain.usage.output, plain.session_id) == (40, 4, "run-1")
    assert (streamed.usage.input, streamed.usage.output, streamed.session_id) == (20, 5, "run-1")
