"""A fake LLM provider: a real HTTP server on loopback that answers like OpenAI and Anthropic do.

It replays the recorded responses in ``shared/fixtures`` (bodies and SSE streams). Request headers steer it:

- ``x-fake-fixture: openai/chat_completion_cache_read.json``: the recording to answer with;
- ``x-fake-usage: 1200,35``: a Chat Completions / Messages answer with these input and output token counts;
- ``x-fake-status: 429``: an error in the provider's format (``x-fake-usage`` adds the usage it billed);
- ``x-fake-cut-after: 3``: send 3 stream events, then drop the connection;
- ``x-fake-delay-ms: 50``: wait before answering;
- ``x-fake-pause-after: 3``: pause 200 ms after the 3rd stream event;
- ``x-fake-no-usage: 1``: a body without its usage object (as some compatible servers send).

Like OpenAI, a Chat Completions stream carries usage only when the request asked for
``stream_options.include_usage``. Every request body is kept in `requests`. Run it alone with
``python tests/fake_provider.py PORT`` (the SDK benchmark does). Request headers are kept in `headers`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

FIXTURES = Path(os.environ.get("LLMLEDGER_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))

_DEFAULTS = {
    ("chat", False): "openai/chat_completion_docs_default.json",
    ("chat", True): "openai/chat_completions_stream_include_usage.txt",
    ("responses", False): "openai/responses_reasoning_cached.json",
    ("responses", True): "openai/responses_stream.txt",
    ("embeddings", False): "openai/embeddings_text-embedding-3-small.json",
    ("messages", False): "anthropic/messages_cache_read.json",
    ("messages", True): "anthropic/messages_stream_basic.txt",
}


class CutOff(Exception):
    """Raised inside a stream to drop the connection midway."""


def _events(text: str) -> list[str]:
    """An SSE transcript split into its events (each with its trailing blank line)."""
    return [block + "\n\n" for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]


def _chat_body(model: str, prompt: int, completion: int) -> dict[str, Any]:
    body = json.loads((FIXTURES / "openai/chat_completion_docs_default.json").read_text())
    body["model"] = model
    body["usage"].update(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
    return body


def _messages_body(model: str, prompt: int, completion: int) -> dict[str, Any]:
    body = json.loads((FIXTURES / "anthropic/messages_cache_read.json").read_text())
    body["model"] = model
    body["usage"].update(input_tokens=prompt, output_tokens=completion, cache_read_input_tokens=0)
    return body


def _error(api: str, status: int, usage: dict[str, Any] | None) -> JSONResponse:
    message = {429: "Rate limit reached", 500: "The server had an error", 400: "Invalid request"}.get(status, "error")
    if api == "messages":
        kind = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}.get(status, "invalid_request_error")
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        body = {"error": {"message": message, "type": "requests" if status == 429 else "server_error",
                          "param": None, "code": "rate_limit_exceeded" if status == 429 else None}}
    if usage:
        body["usage"] = usage
    # The SDKs retry 429 and 5xx unless told not to: tests want one attempt.
    return JSONResponse(body, status_code=status, headers={"x-should-retry": "false"})


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self.handle("chat"), methods=["POST"]),
            Route("/v1/responses", self.handle("responses"), methods=["POST"]),
            Route("/v1/embeddings", self.handle("embeddings"), methods=["POST"]),
            Route("/v1/messages", self.handle("messages"), methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
        ])
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})

    def handle(self, api: str) -> Any:
        async def endpoint(request: Request) -> Response:
            body = json.loads(await request.body())
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            headers = request.headers
            if "x-fake-delay-ms" in headers:
                await asyncio.sleep(int(headers["x-fake-delay-ms"]) / 1000)
            usage = [int(n) for n in headers["x-fake-usage"].split(",")] if "x-fake-usage" in headers else None
            if "x-fake-status" in headers:
                billed = None
                if usage:
                    billed = ({"input_tokens": usage[0], "output_tokens": usage[1]} if api == "messages" else
                              {"prompt_tokens": usage[0], "completion_tokens": usage[1]})
                return _error(api, int(headers["x-fake-status"]), billed)
            stream = body.get("stream") is True
            if usage is not None and not stream:
                make = _messages_body if api == "messages" else _chat_body
                return JSONResponse(make(body.get("model", "gpt-4o-mini"), *usage))
            fixture = headers.get("x-fake-fixture") or _DEFAULTS[(api, stream)]
            text = (FIXTURES / fixture).read_text()
            if not stream:
                if "x-fake-no-usage" in headers:
                    document = json.loads(text)
                    document.pop("usage", None)
                    return JSONResponse(document)
                return Response(text, media_type="application/json")
            events = _events(text)
            if api == "chat" and not (body.get("stream_options") or {}).get("include_usage"):
                events = _without_usage(events)
            cut = int(headers["x-fake-cut-after"]) if "x-fake-cut-after" in headers else None
            pause = int(headers["x-fake-pause-after"]) if "x-fake-pause-after" in headers else None
            return StreamingResponse(_send(events, cut, pause), media_type="text/event-stream")

        return endpoint

    def start(self) -> FakeProvider:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="critical", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(10)


def _without_usage(events: list[str]) -> list[str]:
    """What OpenAI streams when include_usage was not asked: no usage chunk, no usage field."""
    out = []
    for event in events:
        payload = event.removeprefix("data: ").strip()
        if payload.startswith("{"):
            data = json.loads(payload)
            if data.get("usage") is not None and not data.get("choices"):
                continue
            data.pop("usage", None)
            event = "data: " + json.dumps(data, separators=(",", ":")) + "\n\n"
        out.append(event)
    return out


async def _send(events: list[str], cut: int | None, pause: int | None = None) -> AsyncIterator[bytes]:
    for index, event in enumerate(events):
        if cut is not None and index >= cut:
            raise CutOff(f"connection dropped after {cut} events")
        if pause is not None and index == pause:
            await asyncio.sleep(0.2)
        yield event.encode()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    fake = FakeProvider()
    uvicorn.run(fake.app, host="127.0.0.1", port=port, log_level="critical", access_log=False)
