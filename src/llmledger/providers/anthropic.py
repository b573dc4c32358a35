"""Anthropic Messages, body and stream.

Semantics: ``input_tokens`` excludes cache reads and writes; ``cache_creation`` splits writes into 5-minute and
1-hour lifetimes; ``output_tokens`` includes thinking. In a stream, ``message_start`` carries the input side and a
provisional output count; each ``message_delta`` carries cumulative usage, so the last one wins. When context
compaction ran, ``usage.iterations`` lists every billed model pass and the top-level fields cover only the last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import IncompleteStream, ParseError
from ..usage import Usage
from . import Parsed, Partial, count, mapping, register, text
from .sse import SSEEvent


def messages_usage(usage: Mapping[str, Any], where: str = "usage") -> tuple[Usage, list[str]]:
    warnings: list[str] = []
    server_tools = mapping(usage, "server_tool_use", where)
    web_searches = count(server_tools, "web_search_requests", f"{where}.server_tool_use")
    iterations = usage.get("iterations")
    if isinstance(iterations, list) and iterations:
        total = Usage(requests=0)
        for index, item in enumerate(iterations):
            if not isinstance(item, Mapping):
                raise ParseError(f"{where}.iterations[{index}] must be an object")
            total = total + _one(item, f"{where}.iterations[{index}]", warnings)
        total = Usage(**{**total.as_dict(), "web_searches": web_searches, "requests": 1})
        return total, warnings
    one = _one(usage, where, warnings)
    return Usage(**{**one.as_dict(), "web_searches": web_searches}), warnings


def _one(usage: Mapping[str, Any], where: str, warnings: list[str]) -> Usage:
    written = count(usage, "cache_creation_input_tokens", where)
    split = mapping(usage, "cache_creation", where)
    write_5m = count(split, "ephemeral_5m_input_tokens", f"{where}.cache_creation")
    write_1h = count(split, "ephemeral_1h_input_tokens", f"{where}.cache_creation")
    if write_5m + write_1h == 0:
        write_5m = written  # no breakdown: the default lifetime is 5 minutes
    elif write_5m + write_1h != written:
        warnings.append(
            f"{where}: cache_creation_input_tokens ({written}) disagrees with its 5m+1h breakdown "
            f"({write_5m}+{write_1h}); the breakdown, which sets the price, was used"
        )
    return Usage(
        input=count(usage, "input_tokens", where),
        cache_read=count(usage, "cache_read_input_tokens", where),
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
        output=count(usage, "output_tokens", where),
    )


class AnthropicFamily:
    name = "anthropic"

    def sniff(self, document: Any) -> bool:
        return isinstance(document, Mapping) and document.get("type") in ("message", "message_start")

    def parse_body(self, body: Mapping[str, Any], *, provider: str) -> Parsed:
        usage = mapping(body, "usage", "body")
        if usage is None:
            raise ParseError(f"the {provider} response has no 'usage' object; was it a stream or an error?")
        parsed, warnings = messages_usage(usage)
        return Parsed(
            usage=parsed,
            provider=provider,
            model=text(body.get("model")),
            request_id=text(body.get("id")),
            service_tier=text(usage.get("service_tier")),
            warnings=tuple(warnings),
        )

    def collector(self, *, provider: str) -> _Collector:
        return _Collector(provider)


class _Collector:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.model: str | None = None
        self.request_id: str | None = None
        self.service_tier: str | None = None
        self.merged: dict[str, Any] = {}
        self.finished = False
        self.text: list[str] = []

    def feed(self, event: SSEEvent) -> None:
        data = event.data
        if not isinstance(data, Mapping):
            return
        kind = data.get("type")
        if kind == "message_start":
            message = mapping(data, "message", "message_start") or {}
            self.model = text(message.get("model"))
            self.request_id = text(message.get("id"))
            start = mapping(message, "usage", "message_start.message") or {}
            self.service_tier = text(start.get("service_tier"))
            self.merged.update(start)
        elif kind == "content_block_delta":
            delta = data.get("delta")
            if isinstance(delta, Mapping):
                for key in ("text", "partial_json", "thinking"):
                    value = delta.get(key)
                    if isinstance(value, str):
                        self.text.append(value)
        elif kind == "message_delta":
            delta = mapping(data, "usage", "message_delta")
            if delta is not None:
                self.merged.update({key: value for key, value in delta.items() if value is not None})
                self.finished = True

    def partial(self) -> Partial:
        """message_start's usage is exact for the input side; its output count is provisional."""
        usage = messages_usage(self.merged, "stream usage")[0] if self.merged else None
        return Partial(usage, "".join(self.text), self.model, self.request_id)

    def result(self) -> Parsed:
        if not self.finished:
            raise IncompleteStream(
                f"the {self.provider} stream ended before its message_delta usage: it was cut off"
                + (" after message_start" if self.merged else " before message_start")
            )
        usage, warnings = messages_usage(self.merged, "stream usage")
        return Parsed(usage, self.provider, self.model, self.request_id, self.service_tier, tuple(warnings))


register(AnthropicFamily(), providers=["anthropic"], aliases={"claude": "anthropic"})
