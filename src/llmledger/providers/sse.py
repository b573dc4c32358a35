"""An incremental server-sent-events decoder: feed text as it arrives, get whole events out."""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEEvent", "SSEDecoder"]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event: its ``event:`` name (if any) and its ``data:`` decoded as JSON (or the raw text)."""

    event: str | None
    data: Any


class SSEDecoder:
    """Splits an SSE byte/text stream into events; keeps partial lines between calls."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event: str | None = None
        self._data: list[str] = []
        # A multi-byte character may be split across byte chunks: decode incrementally.
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: str | bytes) -> list[SSEEvent]:
        if isinstance(chunk, bytes):
            chunk = self._utf8.decode(chunk)
        self._buffer += chunk
        # A trailing "\r" may be the first half of a "\r\n" split across chunks: keep it for the next call.
        held = "\r" if self._buffer.endswith("\r") else ""
        text = self._buffer[: len(self._buffer) - len(held)]
        *lines, rest = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = rest + held
        events: list[SSEEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[SSEEvent]:
        """Flush what is left at the end of the stream (a final event without a blank line after it)."""
        events: list[SSEEvent] = []
        self._buffer += self._utf8.decode(b"", final=True)
        if self._buffer:
            for line in self._buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
                self._line(line, events)
            self._buffer = ""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent(self._event, _decode("\n".join(self._data))))
            self._event, self._data = None, []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value


def _decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data
