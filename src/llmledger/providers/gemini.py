"""Google Gemini ``generateContent`` / ``streamGenerateContent`` (Gemini API and Vertex AI).

Semantics: ``promptTokenCount`` includes ``cachedContentTokenCount``; ``thoughtsTokenCount`` is billed as output
but is not in ``candidatesTokenCount``; ``toolUsePromptTokenCount`` is billed as input but is not in
``promptTokenCount``. Streams repeat cumulative usage in every chunk: take the last, never sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import IncompleteStream, ParseError
from ..usage import Usage
from . import Parsed, Partial, count, mapping, register
from .sse import SSEEvent


def usage_metadata(meta: Mapping[str, Any], where: str = "usageMetadata") -> Usage:
    prompt = count(meta, "promptTokenCount", where)
    cached = count(meta, "cachedContentTokenCount", where)
    if cached > prompt:
        raise ParseError(f"{where}: cachedContentTokenCount ({cached}) exceeds promptTokenCount ({prompt})")
    audio = _modality(meta, "promptTokensDetails", "AUDIO", where)
    audio -= _modality(meta, "cacheTokensDetails", "AUDIO", where)
    audio = max(0, min(audio, prompt - cached))
    return Usage(
        input=prompt - cached - audio + count(meta, "toolUsePromptTokenCount", where),
        cache_read=cached,
        output=count(meta, "candidatesTokenCount", where),
        reasoning=count(meta, "thoughtsTokenCount", where),
        audio_in=audio,
    )


def _modality(meta: Mapping[str, Any], key: str, modality: str, where: str) -> int:
    details = meta.get(key)
    if not isinstance(details, list):
        return 0
    return sum(
        count(item, "tokenCount", f"{where}.{key}[]")
        for item in details
        if isinstance(item, Mapping) and item.get("modality") == modality
    )


def _model(document: Mapping[str, Any]) -> str | None:
    version = document.get("modelVersion")
    if isinstance(version, str) and version:
        return version.removeprefix("models/")
    return None


def _finished(document: Mapping[str, Any]) -> bool:
    candidates = document.get("candidates")
    return isinstance(candidates, list) and any(
        isinstance(c, Mapping) and c.get("finishReason") for c in candidates
    )


class GeminiFamily:
    name = "gemini"

    def sniff(self, document: Any) -> bool:
        return isinstance(document, Mapping) and ("usageMetadata" in document or "candidates" in document)

    def parse_body(self, body: Mapping[str, Any], *, provider: str) -> Parsed:
        meta = mapping(body, "usageMetadata", "body")
        if meta is None:
            raise ParseError(f"the {provider} response has no 'usageMetadata' object; was it an error?")
        return Parsed(
            usage=usage_metadata(meta),
            provider=provider,
            model=_model(body),
            request_id=body.get("responseId") if isinstance(body.get("responseId"), str) else None,
            service_tier=_service_tier(meta),
        )

    def collector(self, *, provider: str) -> _Collector:
        return _Collector(self, provider)


def _service_tier(meta: Mapping[str, Any]) -> str | None:
    tier = meta.get("serviceTier")
    return tier.lower() if isinstance(tier, str) and tier else None


class _Collector:
    def __init__(self, family: GeminiFamily, provider: str) -> None:
        self.family = family
        self.provider = provider
        self.last: Mapping[str, Any] | None = None
        self.model: str | None = None
        self.finished = False
        self.text: list[str] = []

    def feed(self, event: SSEEvent) -> None:
        data = event.data
        if not isinstance(data, Mapping):
            return
        self.model = self.model or _model(data)
        self.finished = self.finished or _finished(data)
        for candidate in data.get("candidates") or ():
            content = candidate.get("content") if isinstance(candidate, Mapping) else None
            for part in (content.get("parts") or ()) if isinstance(content, Mapping) else ():
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    self.text.append(part["text"])
        if isinstance(data.get("usageMetadata"), Mapping):
            self.last = data

    def partial(self) -> Partial:
        """Gemini's usage is cumulative: the last chunk's is exact so far."""
        usage = self.family.parse_body(self.last, provider=self.provider).usage if self.last is not None else None
        return Partial(usage, "".join(self.text), self.model)

    def result(self) -> Parsed:
        if self.last is None or not self.finished:
            raise IncompleteStream(
                f"the {self.provider} stream ended before a chunk with a finishReason: it was cut off"
                + ("" if self.last is None else " (its usage so far is cumulative and incomplete)")
            )
        parsed = self.family.parse_body(self.last, provider=self.provider)
        return Parsed(parsed.usage, parsed.provider, parsed.model or self.model, parsed.request_id, parsed.service_tier)


register(
    GeminiFamily(),
    providers=["google"],
    aliases={"gemini": "google", "vertex": "google", "google-vertex": "google", "gcp.gemini": "google",
             "gcp.vertex_ai": "google", "vertex_ai": "google"},
)
