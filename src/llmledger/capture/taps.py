"""Taps watch a response's bytes on their way to the caller, without holding them back.

`StreamTap` splits a server-sent-event stream into whole events, shows each to the provider's stream collector
and passes it on (or, for the usage chunk llmledger asked for on the caller's behalf, drops it). `BodyTap` keeps
a plain body to read its usage at the end. Both only pass bytes through: what the caller gets is what the
provider sent, less the hidden usage chunk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ParseError
from ..providers import Parsed, Partial, StreamCollector, family_for, parse_body
from ..providers.sse import SSEDecoder

__all__ = ["StreamTap", "BodyTap", "Tap"]

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
MAX_BODY = 32 * 1024 * 1024  # a usage-bearing JSON body is far smaller; past this it is not kept


class StreamTap:
    def __init__(self, provider: str, *, hide_usage: bool) -> None:
        self.collector: StreamCollector = family_for(provider).collector(provider=provider)
        self.hide_usage = hide_usage
        self.decoder = SSEDecoder()
        self.pending = b""
        self.problem: str | None = None

    def feed(self, chunk: bytes) -> bytes:
        """Bytes to pass on to the caller: every whole event in what has arrived (a partial one waits)."""
        data = self.pending + chunk if self.pending else chunk
        out: list[bytes] = []
        start = 0
        for match in _EVENT_END.finditer(data):
            block = data[start : match.end()]
            start = match.end()
            if self._observe(block):
                out.append(block)
        self.pending = data[start:]
        return b"".join(out) if len(out) != 1 else out[0]

    def close(self) -> bytes:
        """The end of the stream: what is left (an event without its blank line) goes to the caller too."""
        rest, self.pending = self.pending, b""
        if rest and self._observe(rest, final=True):
            return rest
        return b""

    def _observe(self, block: bytes, *, final: bool = False) -> bool:
        events = self.decoder.feed(block)
        if final:
            events += self.decoder.close()
        keep = True
        for event in events:
            if self.problem is None:
                try:
                    self.collector.feed(event)
                except ParseError as exc:  # a malformed usage object: count what was seen, never break the caller
                    self.problem = str(exc)
            if self.hide_usage and _is_usage_chunk(event.data):
                keep = False
        return keep

    def result(self) -> Parsed:
        if self.problem is not None:
            raise ParseError(self.problem)
        return self.collector.result()

    def partial(self) -> Partial:
        return self.collector.partial()

    def content(self) -> Any:
        """What the caller was sent, as text (for users who opted in to storing it)."""
        return {"text": self.collector.partial().text}


def _is_usage_chunk(data: Any) -> bool:
    """The chunk that `stream_options.include_usage` adds: usage and no choices."""
    return isinstance(data, Mapping) and data.get("usage") is not None and not data.get("choices")


class BodyTap:
    def __init__(self, provider: str, model: str | None) -> None:
        self.provider = provider
        self.model = model
        self.parts: list[bytes] = []
        self.size = 0

    def feed(self, chunk: bytes) -> bytes:
        if self.size <= MAX_BODY:
            self.parts.append(chunk)
            self.size += len(chunk)
        return chunk

    def close(self) -> bytes:
        return b""

    def result(self) -> Parsed:
        if self.size > MAX_BODY:
            raise ParseError(f"the response body is larger than {MAX_BODY} bytes; its usage was not read")
        body = b"".join(self.parts)
        try:
            document = json.loads(body)
        except ValueError:
            raise ParseError("the response body is not JSON") from None
        if not isinstance(document, Mapping) or "usage" not in document and "usageMetadata" not in document:
            raise ParseError("the response has no usage object")
        model = document.get("model")
        return parse_body(document, provider=self.provider, model=model if isinstance(model, str) else self.model)

    def partial(self) -> Partial:
        """A body without a usage object: its generated text, to count."""
        try:
            document = json.loads(b"".join(self.parts)) if self.size <= MAX_BODY else None
        except ValueError:
            document = None
        return Partial(None, "".join(_generated(document)))

    def content(self) -> Any:
        body = b"".join(self.parts).decode("utf-8", "replace")
        try:
            return json.loads(body)
        except ValueError:
            return body


def _generated(value: Any) -> list[str]:
    """Text a response body generated: strings under content/text/arguments/refusal keys, anywhere."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str) and key in ("content", "text", "arguments", "refusal"):
                found.append(item)
            elif isinstance(item, Mapping | list):
                found += _generated(item)
    elif isinstance(value, list):
        for item in value:
            found += _generated(item)
    return found


Tap = StreamTap | BodyTap
