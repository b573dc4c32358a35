"""Provider usage parsers: a registry of API families.

Each API family (OpenAI-style, Anthropic Messages, Gemini, Bedrock Converse, Cohere) is one module that turns a
response body or a stream into a `Parsed` result, and registers itself for the provider ids that speak it. Adding
a provider is one module plus real response fixtures; nothing else compares provider names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..errors import IncompleteStream, ParseError, UnknownProvider
from ..usage import Usage
from .sse import SSEDecoder, SSEEvent

__all__ = [
    "IncompleteStream",
    "Parsed",
    "Partial",
    "ApiFamily",
    "StreamCollector",
    "register",
    "family_for",
    "provider_ids",
    "canonical_provider",
    "sniff_provider",
    "parse_body",
    "parse_stream",
    "parse_document",
    "count",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one provider response says about its cost: usage, model and identifiers."""

    usage: Usage
    provider: str
    model: str | None
    request_id: str | None = None
    service_tier: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Partial:
    """What a stream showed before it stopped: any usage it reported (often only the input side) and the output
    text seen (content, tool arguments, thinking), from which the rest is estimated."""

    usage: Usage | None
    text: str
    model: str | None = None
    request_id: str | None = None


class StreamCollector(Protocol):
    """Watches a stream event by event and tells its final usage."""

    def feed(self, event: SSEEvent) -> None: ...

    def result(self) -> Parsed:
        """The stream's usage; raises `IncompleteStream` when the provider's final usage was never seen."""
        ...

    def partial(self) -> Partial:
        """What was seen so far, for a stream that ended without its final usage."""
        ...


class ApiFamily(Protocol):
    name: str

    def sniff(self, document: Any) -> bool:
        """True when a decoded body or stream event looks like this family's."""
        ...

    def parse_body(self, body: Mapping[str, Any], *, provider: str) -> Parsed: ...

    def collector(self, *, provider: str) -> StreamCollector: ...


_FAMILIES: dict[str, ApiFamily] = {}
_PROVIDERS: dict[str, str] = {}
_ALIASES: dict[str, str] = {}


def register(family: ApiFamily, providers: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
    """Register `family` as the parser for each provider id in `providers` (and alias → provider id)."""
    _FAMILIES[family.name] = family
    for provider in providers:
        _PROVIDERS[provider] = family.name
    _ALIASES.update(aliases or {})


def canonical_provider(provider: str) -> str:
    """The provider id the price catalog uses (``gemini`` → ``google``, ``bedrock`` → ``aws``…)."""
    key = provider.strip().lower()
    return _ALIASES.get(key, key)


def provider_ids() -> list[str]:
    return sorted(_PROVIDERS)


def family_for(provider: str) -> ApiFamily:
    name = _PROVIDERS.get(canonical_provider(provider))
    if name is None:
        raise UnknownProvider(
            f"unknown provider {provider!r}; known providers: {', '.join(provider_ids())} "
            f"(aliases: {', '.join(sorted(_ALIASES))})"
        )
    return _FAMILIES[name]


def sniff_provider(document: Any) -> str:
    """Guess the provider id from the shape of a body or of a stream's first event."""
    for name, family in _FAMILIES.items():
        if family.sniff(document):
            return next(p for p, f in _PROVIDERS.items() if f == name)
    raise ParseError("cannot tell which provider wrote this response; pass --provider (e.g. openai, anthropic)")


def count(container: Mapping[str, Any] | None, key: str, where: str) -> int:
    """A token count from a usage object: 0 when absent or null, else a non-negative whole number."""
    if container is None:
        return 0
    value = container.get(key)
    if value is None:
        return 0
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise ParseError(f"{where}.{key} must be a whole number, got {value!r}")
    if value < 0:
        raise ParseError(f"{where}.{key} must not be negative, got {value}")
    return value


def mapping(container: Mapping[str, Any] | None, key: str, where: str) -> Mapping[str, Any] | None:
    """A nested object, or None when absent or null."""
    if container is None:
        return None
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ParseError(f"{where}.{key} must be an object, got {type(value).__name__}")
    return value


def text(value: Any) -> str | None:
    """A non-empty string field, else None."""
    return value if isinstance(value, str) and value else None


def loads(text: str | bytes, where: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{where} is not valid JSON: {exc}") from None


def parse_body(
    body: str | bytes | Mapping[str, Any], *, provider: str | None = None, model: str | None = None
) -> Parsed:
    """Usage of a complete (non-streamed) response body."""
    document = loads(body, "response body") if isinstance(body, str | bytes) else body
    if not isinstance(document, Mapping):
        raise ParseError(f"response body must be a JSON object, got {type(document).__name__}")
    provider = provider or sniff_provider(document)
    parsed = family_for(provider).parse_body(document, provider=canonical_provider(provider))
    return _with_model(parsed, model)


def parse_stream(events: Iterable[SSEEvent], *, provider: str, model: str | None = None) -> Parsed:
    """Usage of a stream, given its events in order."""
    collector = family_for(provider).collector(provider=canonical_provider(provider))
    for event in events:
        collector.feed(event)
    return _with_model(collector.result(), model)


def parse_document(text: str, *, provider: str | None = None, model: str | None = None) -> tuple[Parsed, bool]:
    """Usage of a saved body or stream transcript; returns (parsed, was_stream).

    Accepts a JSON body, an SSE transcript (``data:`` lines), or a JSON list of decoded stream events (Bedrock's
    event stream, decoded into ``{"headers": …, "payload": …}`` frames).
    """
    stripped = text.lstrip()
    if not stripped:
        raise ParseError("the file is empty: expected a provider response body or a stream transcript")
    if stripped[0] in "{[":
        document = loads(stripped, "the file")
        if isinstance(document, Mapping):
            return parse_body(document, provider=provider, model=model), False
        if isinstance(document, list):
            events = [SSEEvent(event=None, data=item) for item in document]
            return parse_stream(events, provider=provider or _sniff_events(events), model=model), True
        raise ParseError(f"expected a JSON object or list, got {type(document).__name__}")
    decoder = SSEDecoder()
    events = [*decoder.feed(text), *decoder.close()]
    if not events:
        raise ParseError("no JSON body and no server-sent events ('data:' lines) found in the file")
    return parse_stream(events, provider=provider or _sniff_events(events), model=model), True


def _sniff_events(events: list[SSEEvent]) -> str:
    for event in events:
        if isinstance(event.data, Mapping):
            try:
                return sniff_provider(event.data)
            except ParseError:
                continue
    raise ParseError("cannot tell which provider wrote this stream; pass --provider (e.g. openai, anthropic)")


def _with_model(parsed: Parsed, model: str | None) -> Parsed:
    if model is not None:
        return replace(parsed, model=model)
    if parsed.model is None:
        raise ParseError(
            f"the {parsed.provider} response does not name its model (it is in the request URL); pass --model"
        )
    return parsed


# Importing the family modules registers them.
from . import anthropic, bedrock, cohere, gemini, openai  # noqa: E402, F401
