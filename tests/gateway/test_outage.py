"""The ledger's database goes down under a running gateway: requests keep working, nothing is lost."""

from __future__ import annotations

import time
from collections.abc import Callable

import openai
import pytest

from llmledger import Ledger

from ..fake_provider import FakeProvider
from ..servers import start_postgres
from .conftest import GatewayProcess, provider_config
from .test_proxy import HI

pytestmark = pytest.mark.postgres


def test_requests_succeed_while_the_ledger_is_down_and_events_replay(
    gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider,
) -> None:
    server = start_postgres()  # its own server: this test stops it
    try:
        db = server.create_database("outage")
        gateway = gateway_factory(provider_config(fake, "auth: none"), db=db)
        client = openai.OpenAI(base_url=gateway.openai_url, api_key="unused", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-usage": "1,1"})
        server.halt()
        for i in range(2, 7):
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                                   extra_headers={"x-fake-usage": f"{i},1"})
            assert reply.usage is not None and reply.usage.prompt_tokens == i
        spool = gateway.config.parent / "spool"
        deadline = time.monotonic() + 15
        while not list(spool.glob("*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(spool.glob("*.jsonl")), "events were not spooled while the database was down"
        server.resume()
        deadline = time.monotonic() + 30
        with Ledger.open(db) as ledger:
            while ledger.count() < 6 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert sorted(e.usage.input for e in ledger.events()) == [1, 2, 3, 4, 5, 6]
    finally:
        server.stop()
