"""Cohere Chat (v2, and v1's ``meta``). Billing follows ``billed_units``; ``tokens`` counts are not what is billed.
The model is only in the request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import IncompleteStream, ParseError
from ..usage import Usage
from . import Parsed, Partial, count, mapping, register
from .sse import SSEEvent


def billed_usage(holder: Mapping[str, Any], where: str) -> Usage:
    billed = mapping(holder, "billed_units", where)
    if billed is None:
        raise ParseError(f"{where} has no 'billed_units'")
    return Usage(
        input=count(billed, "input_tokens", f"{where}.billed_units"),
        output=count(billed, "output_tokens", f"{where}.billed_units"),
    )


def _holder(document: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
    usage = mapping(document, "usage", "body")
    if usage is not None:
        return usage, "usage"
    return mapping(document, "meta", "body"), "meta"


class CohereFamily:
    name = "cohere"

    def sniff(self, document: Any) -> bool:
        if not isinstance(document, Mapping):
            return False
        holder = document.get("usage", document.get("meta"))
        return (isinstance(holder, Mapping) and "billed_units" in holder) or document.get("type") == "message-end"

    def parse_body(self, body: Mapping[str, Any], *, provider: str) -> Parsed:
        holder, where = _holder(body)
        if holder is None:
            raise ParseError(f"the {provider} response has no 'usage' object; was it an error?")
        request_id = body.get("id")
        return Parsed(billed_usage(holder, where), provider, None, request_id if isinstance(request_id, str) else None)

    def collector(self, *, provider: str) -> _Collector:
        return _Collector(provider)


class _Collector:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.usage: Usage | None = None
        self.text: list[str] = []

    def feed(self, event: SSEEvent) -> None:
        data = event.data
        if isinstance(data, Mapping) and data.get("type") == "content-delta":
            message = (data.get("delta") or {}).get("message") or {}
            content = message.get("content") if isinstance(message, Mapping) else None
            if isinstance(content, Mapping) and isinstance(content.get("text"), str):
                self.text.append(content["text"])
        if isinstance(data, Mapping) and data.get("type") == "message-end":
            delta = mapping(data, "delta", "message-end") or {}
            usage = mapping(delta, "usage", "message-end.delta")
            if usage is not None:
                self.usage = billed_usage(usage, "message-end.delta.usage")

    def partial(self) -> Partial:
        return Partial(self.usage, "".join(self.text))

    def result(self) -> Parsed:
        if self.usage is None:
            raise IncompleteStream(f"the {self.provider} stream ended before its message-end event: it was cut off")
        return Parsed(self.usage, self.provider, None)


register(CohereFamily(), providers=["cohere"])
