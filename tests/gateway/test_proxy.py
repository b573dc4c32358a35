"""The real openai and anthropic SDKs, unchanged but for base_url, through a real `llmledger serve` process."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import anthropic
import httpx2
import openai
import pytest

from llmledger import Ledger, ReportQuery
from llmledger.events import UsageEvent

from ..fake_provider import FakeProvider
from .conftest import GatewayProcess, provider_config

HI = [{"role": "user", "content": "What is the capital of France?"}]
M = Decimal("0.000001")


@pytest.fixture(scope="module")
def gateway(gateway_factory: Callable[..., GatewayProcess], fake: FakeProvider) -> GatewayProcess:
    return gateway_factory(provider_config(fake, "policy:\n  max_tokens: {default: 2048, \"feature=summarize\": 300}"))


@pytest.fixture(scope="module")
def secret(gateway: GatewayProcess) -> str:
    return gateway.key("--tenant", "acme", "--team", "growth")


class Recorded:
    """Events the gateway records from now on (its writer stores them within a fraction of a second)."""

    def __init__(self, gateway: GatewayProcess) -> None:
        self.ledger = Ledger.open(gateway.db)
        # Calls made from now on; an earlier test's last events may still be on their way to the ledger.
        self.since = datetime.now(UTC)

    def wait(self, n: int, timeout: float = 10) -> list[UsageEvent]:
        deadline = time.monotonic() + timeout
        query = ReportQuery(since=self.since)
        while sum(1 for _ in self.ledger.events(query)) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)  # anything more would show up now
        found = list(self.ledger.events(query))
        self.ledger.close()
        assert len(found) == n, found
        return found


def openai_client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.openai_url, api_key=key, max_retries=0)


def test_openai_chat_is_metered_attributed_and_priced(gateway: GatewayProcess, secret: str, fake: FakeProvider) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=HI, user="u42",
        extra_headers={"X-Ledger-Feature": "search", "X-Ledger-Tag-Prompt-Version": "v7", "X-Ledger-Session": "s-1",
                       "x-fake-usage": "1200,35"},
    )
    assert reply.usage is not None and reply.usage.prompt_tokens == 1200
    # the provider saw the gateway's own key, never the client's virtual key, and no llmledger headers
    seen = fake.headers[-1]
    assert seen["authorization"] == "Bearer sk-provider-secret"
    assert not any(k.startswith("x-ledger") for k in seen)
    [event] = recorded.wait(1)
    assert (event.source, event.provider, event.model, event.status) == ("gateway", "openai", "gpt-4o-mini", "ok")
    assert (event.usage.input, event.usage.output) == (1200, 35)
    assert event.cost.total == 1200 * Decimal("0.15") * M + 35 * Decimal("0.6") * M
    assert event.tags == {"tenant": "acme", "team": "growth", "feature": "search", "prompt_version": "v7",
                          "user": "u42"}
    assert event.session_id == "s-1" and event.key_id is not None and event.key_id.startswith("key_")


def test_stream_relayed_without_the_usage_chunk_the_client_did_not_ask_for(gateway: GatewayProcess, secret: str,
                                                                         fake: FakeProvider) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}
    assert all(ch.usage is None for ch in chunks) and len(chunks) == 10
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == \
        "The capital of the UK is London."
    [event] = recorded.wait(1)
    assert (event.usage.input, event.usage.output, event.estimated) == (78, 9, False)


def test_responses_embeddings_and_anthropic(gateway: GatewayProcess, secret: str) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    client.responses.create(model="gpt-5", input="2+2")
    list(client.responses.create(model="gpt-5", input="story", stream=True))
    client.embeddings.create(model="text-embedding-3-small", input="hello")
    claude = anthropic.Anthropic(base_url=gateway.anthropic_url, api_key=secret, max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=HI)
        with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=HI) as stream:
            stream.get_final_message()
    body, streamed, embedding, message, message_stream = recorded.wait(5)
    assert (body.usage.cache_read, body.usage.reasoning) == (1280, 64)
    assert (streamed.usage.reasoning, streamed.service_tier) == (448, "flex")
    assert embedding.usage.input == 4
    assert (message.provider, message.usage.cache_read, message.usage.output) == ("anthropic", 1111, 406)
    assert (message_stream.usage.input, message_stream.usage.output) == (20, 5)


def test_max_tokens_policy_injects_and_clamps(gateway: GatewayProcess, secret: str, fake: FakeProvider) -> None:
    client = openai_client(gateway, secret)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert fake.requests[-1]["max_completion_tokens"] == 2048
    client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=100_000,
                                   extra_headers={"X-Ledger-Feature": "summarize"})
    assert fake.requests[-1]["max_tokens"] == 300
    client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=50)
    assert fake.requests[-1]["max_tokens"] == 50


def test_keys_are_required_and_revocable(gateway: GatewayProcess, fake: FakeProvider) -> None:
    sent = len(fake.requests)
    missing = httpx2.post(f"{gateway.openai_url}/chat/completions", json={"model": "gpt-4o-mini", "messages": HI})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    with pytest.raises(openai.AuthenticationError, match="invalid or revoked API key"):
        openai_client(gateway, "llk_not-a-real-key").chat.completions.create(model="gpt-4o-mini", messages=HI)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        anthropic.Anthropic(base_url=gateway.anthropic_url, api_key="nope", max_retries=0).messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=HI)
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert len(fake.requests) == sent

    admin = {"authorization": "Bearer admin-token"}
    created = httpx2.post(f"{gateway.url}/api/keys", headers=admin, json={"tags": {"tenant": "beta"}, "rpm": 100})
    assert created.status_code == 201
    key = created.json()
    openai_client(gateway, key["secret"]).chat.completions.create(model="gpt-4o-mini", messages=HI)
    listed = httpx2.get(f"{gateway.url}/api/keys", headers=admin).json()["keys"]
    assert any(k["id"] == key["id"] and k["tags"] == {"tenant": "beta"} for k in listed)
    assert all("secret" not in k and "secret_hash" not in k for k in listed)
    assert httpx2.delete(f"{gateway.url}/api/keys/{key['id']}", headers=admin).json() == {"id": key["id"],
                                                                                           "revoked": True}
    with pytest.raises(openai.AuthenticationError):
        openai_client(gateway, key["secret"]).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert httpx2.get(f"{gateway.url}/api/keys").status_code == 401


def test_cli_keys_list_and_revoke(gateway: GatewayProcess) -> None:
    secret = gateway.key("--tenant", "gamma", "--budget", "5/day", "--tpm", "1000")
    listed = gateway.cli("keys", "list", "--format", "json")
    assert secret not in listed and "gamma" in listed and "5/day" in listed
    import json

    key_id = next(k["id"] for k in json.loads(listed) if k["tags"].get("tenant") == "gamma")
    assert f"revoked {key_id}" in gateway.cli("keys", "revoke", key_id)


def test_bad_requests_get_clear_errors_in_the_providers_format(gateway: GatewayProcess, secret: str) -> None:
    auth = {"authorization": f"Bearer {secret}", "content-type": "application/json"}
    bad_json = httpx2.post(f"{gateway.openai_url}/chat/completions", headers=auth, content=b"{not json")
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]
    bad_tag = httpx2.post(f"{gateway.openai_url}/chat/completions", headers={**auth, "x-ledger-tag-a.b": "x"},
                          json={"model": "gpt-4o-mini", "messages": HI})
    assert bad_tag.status_code == 400 and bad_tag.json()["error"]["code"] == "invalid_tag"
    big = httpx2.post(f"{gateway.openai_url}/chat/completions", headers=auth, content=b"x" * (11 * 1024 * 1024))
    assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
    anthropic_bad = httpx2.post(f"{gateway.anthropic_url}/v1/messages", headers={**auth}, content=b"[1]")
    assert anthropic_bad.status_code == 400 and anthropic_bad.json()["type"] == "error"
    nowhere = httpx2.get(f"{gateway.url}/nowhere", headers=auth)
    assert nowhere.status_code == 404


def test_upstream_errors_are_passed_through(gateway: GatewayProcess, secret: str) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI, extra_headers={"x-fake-status": "429"})
    assert limited.value.code == "rate_limit_exceeded" and limited.value.status_code == 429
    [event] = recorded.wait(1)
    assert (event.status, event.http_status) == ("error", 429)


def test_client_disconnect_mid_stream_is_recorded(gateway: GatewayProcess, secret: str) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    # the fake waits 200 ms after its 3rd event: the client leaves before the rest arrives
    with client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True,
                                        extra_headers={"x-fake-pause-after": "3"}) as stream:
        taken = [next(iter(stream)) for _ in range(2)]
    assert taken
    [event] = recorded.wait(1)
    assert (event.status, event.estimated) == ("aborted", True)
    assert event.usage.input == 13 and event.usage.output >= 1  # counted: the request, and the text relayed
    assert event.cost.total is not None and event.cost.total > 0


def test_health_and_metrics(gateway: GatewayProcess) -> None:
    health = httpx2.get(f"{gateway.url}/healthz").json()
    assert health["status"] == "ok" and health["reservations_in_flight"] == 0
    metrics = httpx2.get(f"{gateway.url}/metrics").text
    assert 'llmledger_requests_total{feature="search",model="gpt-4o-mini",provider="openai",status="ok",' \
           'tenant="acme"}' in metrics
    assert "llmledger_cost_usd_total" in metrics and "llmledger_spool_files" in metrics
    assert "sk-provider-secret" not in metrics
    assert "sk-provider-secret" not in gateway.log.read_text()


def test_provider_stream_cut_off_midway(gateway: GatewayProcess, secret: str) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    with pytest.raises(openai.APIConnectionError):
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True,
                                                extra_headers={"x-fake-cut-after": "5"}):
            pass
    [event] = recorded.wait(1)
    assert (event.status, event.estimated) == ("aborted", True)
    assert (event.usage.input, event.usage.output) == (13, 4)  # counted: the request, and "The capital of the"


def test_other_paths_pass_through(gateway: GatewayProcess, secret: str) -> None:
    client = openai_client(gateway, secret)
    recorded = Recorded(gateway)
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]
    assert recorded.wait(0) == []
