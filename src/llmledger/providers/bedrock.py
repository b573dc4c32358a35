"""AWS Bedrock Converse and ConverseStream.

Semantics: ``inputTokens`` excludes ``cacheReadInputTokens`` and ``cacheWriteInputTokens``. The model id is in
the request URL, not the body. A stream reports usage only in its final ``metadata`` event; a saved stream is the
binary event stream decoded into ``{"headers": …, "payload": …}`` frames (or boto3's ``{"metadata": …}`` events).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import IncompleteStream, ParseError
from ..usage import Usage
from . import Parsed, Partial, count, mapping, register
from .sse import SSEEvent


def converse_usage(usage: Mapping[str, Any], where: str = "usage") -> Usage:
    return Usage(
        input=count(usage, "inputTokens", where),
        cache_read=count(usage, "cacheReadInputTokens", where),
        cache_write_5m=count(usage, "cacheWriteInputTokens", where),
        output=count(usage, "outputTokens", where),
    )


class BedrockFamily:
    name = "bedrock"

    def sniff(self, document: Any) -> bool:
        if not isinstance(document, Mapping):
            return False
        usage = document.get("usage")
        headers = document.get("headers")
        return (isinstance(usage, Mapping) and "inputTokens" in usage) or (
            isinstance(headers, Mapping) and ":event-type" in headers
        ) or "messageStart" in document or (
            isinstance(document.get("metadata"), Mapping) and "usage" in document["metadata"]
        )

    def parse_body(self, body: Mapping[str, Any], *, provider: str) -> Parsed:
        usage = mapping(body, "usage", "body")
        if usage is None:
            raise ParseError(f"the {provider} Converse response has no 'usage' object; was it an error?")
        return Parsed(usage=converse_usage(usage), provider=provider, model=None)

    def collector(self, *, provider: str) -> _Collector:
        return _Collector(provider)


class _Collector:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.usage: Usage | None = None
        self.text: list[str] = []

    def feed(self, event: SSEEvent) -> None:
        data = event.data
        if not isinstance(data, Mapping):
            return
        headers = data.get("headers")
        if isinstance(headers, Mapping):  # a decoded event-stream frame
            kind, payload = headers.get(":event-type"), data.get("payload")
        else:  # boto3's event dicts: {"metadata": {...}}
            kind = next(iter(data), None)
            payload = data.get(kind) if isinstance(kind, str) else None
        if kind == "contentBlockDelta" and isinstance(payload, Mapping):
            delta = payload.get("delta")
            if isinstance(delta, Mapping) and isinstance(delta.get("text"), str):
                self.text.append(delta["text"])
        if kind != "metadata" or not isinstance(payload, Mapping):
            return
        metadata = payload
        usage = mapping(metadata, "usage", "metadata")
        if usage is not None:
            self.usage = converse_usage(usage, "metadata.usage")

    def partial(self) -> Partial:
        return Partial(self.usage, "".join(self.text))

    def result(self) -> Parsed:
        if self.usage is None:
            raise IncompleteStream(f"the {self.provider} stream ended before its metadata event: it was cut off")
        return Parsed(self.usage, self.provider, None)


register(BedrockFamily(), providers=["aws"], aliases={"bedrock": "aws", "aws-bedrock": "aws", "aws.bedrock": "aws"})
