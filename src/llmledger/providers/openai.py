"""OpenAI's API family: Chat Completions, Responses, Embeddings and legacy Completions, bodies and streams.

Also every OpenAI-compatible provider (Mistral, DeepSeek, Groq, Together, OpenRouter, xAI…), under its own id.

Semantics: ``prompt_tokens`` / ``input_tokens`` include cached, cache-written and audio tokens;
``completion_tokens`` / ``output_tokens`` include reasoning and audio tokens, and accepted and rejected
prediction tokens (all billed as output, so they need no separate count).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import IncompleteStream, ParseError
from ..usage import Usage
from . import Parsed, Partial, count, mapping, register, text
from .sse import SSEEvent

_BODY_OBJECTS = {"chat.completion", "chat.completion.chunk", "text_completion", "response", "list"}
_RESPONSE_FINAL_EVENTS = {"response.completed", "response.incomplete", "response.failed"}
# Responses events whose "delta" is generated text (billed as output).
_RESPONSE_TEXT_EVENTS = {
    "response.output_text.delta", "response.function_call_arguments.delta", "response.refusal.delta",
    "response.reasoning_summary_text.delta", "response.reasoning_text.delta", "response.custom_tool_call_input.delta",
}
_DELTA_TEXT_KEYS = ("content", "refusal", "reasoning_content", "reasoning")
_CHAT_NAMES = ("prompt_tokens", "prompt_tokens_details", "completion_tokens", "completion_tokens_details")
_RESPONSES_NAMES = ("input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details")


def chat_usage(usage: Mapping[str, Any], where: str = "usage") -> Usage:
    """Chat Completions / legacy Completions / Embeddings usage (``prompt_tokens`` …)."""
    prompt = count(usage, "prompt_tokens", where)
    completion = count(usage, "completion_tokens", where)
    prompt_details = mapping(usage, "prompt_tokens_details", where)
    completion_details = mapping(usage, "completion_tokens_details", where)
    # DeepSeek reports its cache hits at the top level instead of in prompt_tokens_details.
    cached = count(prompt_details, "cached_tokens", f"{where}.prompt_tokens_details") or count(
        usage, "prompt_cache_hit_tokens", where
    )
    return _split(
        where,
        prompt=prompt,
        cached=cached,
        cache_write=count(prompt_details, "cache_write_tokens", f"{where}.prompt_tokens_details"),
        audio_in=count(prompt_details, "audio_tokens", f"{where}.prompt_tokens_details"),
        completion=completion,
        reasoning=count(completion_details, "reasoning_tokens", f"{where}.completion_tokens_details"),
        audio_out=count(completion_details, "audio_tokens", f"{where}.completion_tokens_details"),
        total=usage.get("total_tokens"),
        names=_CHAT_NAMES,
    )


def responses_usage(usage: Mapping[str, Any], where: str = "usage", web_searches: int = 0) -> Usage:
    """Responses API usage (``input_tokens`` / ``output_tokens`` with their details)."""
    input_details = mapping(usage, "input_tokens_details", where)
    output_details = mapping(usage, "output_tokens_details", where)
    return _split(
        where,
        prompt=count(usage, "input_tokens", where),
        cached=count(input_details, "cached_tokens", f"{where}.input_tokens_details"),
        cache_write=count(input_details, "cache_write_tokens", f"{where}.input_tokens_details"),
        audio_in=count(input_details, "audio_tokens", f"{where}.input_tokens_details"),
        completion=count(usage, "output_tokens", where),
        reasoning=count(output_details, "reasoning_tokens", f"{where}.output_tokens_details"),
        audio_out=count(output_details, "audio_tokens", f"{where}.output_tokens_details"),
        total=usage.get("total_tokens"),
        web_searches=web_searches,
        names=_RESPONSES_NAMES,
    )


def _split(
    where: str,
    *,
    prompt: int,
    cached: int,
    cache_write: int,
    audio_in: int,
    completion: int,
    reasoning: int,
    audio_out: int,
    total: Any,
    names: tuple[str, str, str, str],
    web_searches: int = 0,
) -> Usage:
    prompt_name, details_name, completion_name, output_details_name = names
    uncached = prompt - cached - cache_write
    if uncached < 0:
        raise ParseError(
            f"{where}: {details_name}.cached_tokens ({cached}) plus {details_name}.cache_write_tokens "
            f"({cache_write}) exceed {prompt_name} ({prompt})"
        )
    audio_in = min(audio_in, uncached)
    # Some compatible providers (xAI) report reasoning beside completion_tokens rather than inside it;
    # total_tokens tells which.
    reasoning_outside = reasoning and isinstance(total, int) and total == prompt + completion + reasoning
    visible = completion - audio_out - (0 if reasoning_outside else reasoning)
    if visible < 0:
        raise ParseError(
            f"{where}: {output_details_name}.reasoning_tokens ({reasoning}) plus .audio_tokens ({audio_out}) "
            f"exceed {completion_name} ({completion})"
        )
    return Usage(
        input=uncached - audio_in,
        cache_read=cached,
        cache_write_5m=cache_write,
        output=visible,
        reasoning=reasoning,
        audio_in=audio_in,
        audio_out=audio_out,
        web_searches=web_searches,
    )


def _response_web_searches(response: Mapping[str, Any]) -> int:
    tool_usage = mapping(response, "tool_usage", "response")
    searches = mapping(tool_usage, "web_search", "response.tool_usage")
    if searches is not None:
        return count(searches, "num_requests", "response.tool_usage.web_search")
    output = response.get("output")
    if isinstance(output, list):
        return sum(1 for item in output if isinstance(item, Mapping) and item.get("type") == "web_search_call")
    return 0


class OpenAIFamily:
    name = "openai"

    def sniff(self, document: Any) -> bool:
        if not isinstance(document, Mapping):
            return False
        kind = document.get("object")
        event_type = document.get("type")
        return kind in _BODY_OBJECTS or (isinstance(event_type, str) and event_type.startswith("response."))

    def parse_body(self, body: Mapping[str, Any], *, provider: str) -> Parsed:
        event_type = body.get("type")
        if isinstance(event_type, str) and event_type.startswith("response."):
            # One saved Responses stream event: response.completed wraps the whole response and its usage.
            collector = self.collector(provider=provider)
            collector.feed(SSEEvent(event_type, body))
            return collector.result()
        usage = mapping(body, "usage", "body")
        if usage is None:
            raise ParseError(f"the {provider} response has no 'usage' object; was it a stream or an error?")
        if body.get("object") == "response" or "input_tokens" in usage:
            parsed_usage = responses_usage(usage, web_searches=_response_web_searches(body))
        else:
            parsed_usage = chat_usage(usage)
        return Parsed(
            usage=parsed_usage,
            provider=provider,
            model=text(body.get("model")),
            request_id=text(body.get("id")),
            service_tier=text(body.get("service_tier")),
        )

    def collector(self, *, provider: str) -> _Collector:
        return _Collector(provider)


class _Collector:
    """Chat Completions chunks (usage in the last chunk) or Responses events (usage in ``response.completed``)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.model: str | None = None
        self.request_id: str | None = None
        self.service_tier: str | None = None
        self.usage: Usage | None = None
        self.text: list[str] = []

    def feed(self, event: SSEEvent) -> None:
        data = event.data
        if not isinstance(data, Mapping):
            return  # "[DONE]" and comments
        if "error" in data and data.get("object") is None and data.get("type") in (None, "error"):
            return
        event_type = data.get("type")
        if isinstance(event_type, str) and event_type.startswith("response."):
            if event_type in _RESPONSE_TEXT_EVENTS:
                delta = data.get("delta")
                if isinstance(delta, str):
                    self.text.append(delta)
                return
            response = mapping(data, "response", event_type)
            if response is None:
                return
            self._identify(response)
            usage = mapping(response, "usage", f"{event_type}.response")
            if event_type in _RESPONSE_FINAL_EVENTS and usage is not None:
                self.usage = responses_usage(usage, f"{event_type}.response.usage", _response_web_searches(response))
            return
        self._identify(data)
        choices = data.get("choices")
        if choices:
            self._choice_text(choices)
        usage = mapping(data, "usage", "chunk")
        if usage is not None:  # compatible providers may repeat cumulative usage in every chunk: the last one wins
            self.usage = chat_usage(usage, "chunk.usage")

    def _choice_text(self, choices: Any) -> None:
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, Mapping):
                continue
            if isinstance(choice.get("text"), str):  # legacy Completions
                self.text.append(choice["text"])
            delta = choice.get("delta")
            if not isinstance(delta, Mapping):
                continue
            for key in _DELTA_TEXT_KEYS:
                value = delta.get(key)
                if isinstance(value, str):
                    self.text.append(value)
            for call in delta.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, Mapping) else None
                if isinstance(function, Mapping):
                    self.text.extend(v for v in (function.get("name"), function.get("arguments")) if isinstance(v, str))

    def partial(self) -> Partial:
        return Partial(self.usage, "".join(self.text), self.model, self.request_id)

    def _identify(self, data: Mapping[str, Any]) -> None:
        self.model = self.model or text(data.get("model"))
        self.request_id = self.request_id or text(data.get("id"))
        self.service_tier = text(data.get("service_tier")) or self.service_tier

    def result(self) -> Parsed:
        if self.usage is None:
            raise IncompleteStream(
                f"the {self.provider} stream ended without reporting usage: either it was cut off, or the request "
                "did not ask for it (Chat Completions needs stream_options={'include_usage': true}; Responses "
                "streams report it in response.completed)"
            )
        return Parsed(self.usage, self.provider, self.model, self.request_id, self.service_tier)


register(
    OpenAIFamily(),
    providers=[
        "openai", "azure", "mistral", "deepseek", "groq", "together", "openrouter", "x-ai", "fireworks",
        "perplexity", "cerebras", "moonshotai", "novita", "zai",
    ],
    aliases={"xai": "x-ai", "azure-openai": "azure", "mistralai": "mistral", "together-ai": "together"},
)
