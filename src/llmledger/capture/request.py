"""What a request asks for, read before it is sent: which API, model, stream or not, output cap, body tags.

Also the one change llmledger makes to a request: a streamed OpenAI-style Chat/legacy Completion that did not
ask for usage gets ``stream_options.include_usage`` added (the extra usage chunk is hidden from the caller by
the stream tap), because without it the stream's cost is unknowable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..attribution import validate_tags
from ..errors import ConfigError
from ..providers import canonical_provider, family_for

__all__ = ["CallRequest", "read_request", "body_tags", "decode_body", "api_of"]

# Path suffix → API. Longest first: "/chat/completions" before "/completions".
_APIS = (
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/embeddings", "embeddings"),
    ("/completions", "completions"),
    ("/messages", "messages"),
)
# Paths that cost nothing: never metered.
_FREE = ("/count_tokens", "/models")


class CallRequest:
    """One metered request. Its JSON body is decoded only when something needs it: a plain (non-streamed) call's
    usage and model come from the response, so a large prompt is not decoded on the caller's time for nothing."""

    __slots__ = ("provider", "api", "stream", "hide_usage", "_raw", "_body")

    def __init__(self, provider: str, api: str, stream: bool, hide_usage: bool, *, raw: bytes | None = None,
                 body: dict[str, Any] | None = None) -> None:
        self.provider = provider
        self.api = api  # chat | responses | embeddings | completions | messages | other
        self.stream = stream
        self.hide_usage = hide_usage  # include_usage was added by us: strip the usage chunk from the stream
        self._raw = raw
        self._body = body

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = decode_body(self._raw, strict=False)
        return self._body

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    def tags(self) -> dict[str, str]:
        """The body's own tags (see `body_tags`); an undecoded body is looked into only if it may have some."""
        if self._body is None and not (self._raw and (b'"user"' in self._raw or b'"metadata"' in self._raw)):
            return {}
        return body_tags(self.body)


def decode_body(content: bytes | None, *, strict: bool) -> dict[str, Any]:
    """A request body as a JSON object; anything else raises `ConfigError` when `strict`, else gives {}."""
    if not content:
        return {}
    try:
        body = json.loads(content)
    except ValueError as exc:
        if strict:
            raise ConfigError(f"the request body is not valid JSON: {exc}") from None
        return {}
    if not isinstance(body, dict):
        if strict:
            raise ConfigError(f"the request body must be a JSON object, got {type(body).__name__}")
        return {}
    return body


def api_of(path: str) -> str:
    """The API a request path calls: chat, responses, embeddings, completions, messages, or other."""
    return next((name for suffix, name in _APIS if path.rstrip("/").endswith(suffix)), "other")


def read_request(
    provider: str, method: str, path: str, content: bytes | Mapping[str, Any] | None, *, changed: bool = False,
) -> tuple[CallRequest, bytes | None]:
    """The request, and the body to send instead of `content` (None: send it unchanged).

    `content` is the body's bytes, or the body already decoded (then `changed` says the caller altered it, so it
    must be encoded again). A body that is not a JSON object is metered only if a usage object comes back.
    """
    provider = canonical_provider(provider)
    api = api_of(path)
    if isinstance(content, Mapping):
        body: dict[str, Any] | None = dict(content)
        raw = None
    else:
        raw = content if content and method.upper() == "POST" else None
        # Only a stream needs the body now; anything else decodes it lazily, if ever.
        body = decode_body(raw, strict=False) if raw and b'"stream"' in raw else None
    stream = body is not None and body.get("stream") is True
    hide = False
    if body is not None and stream and api in ("chat", "completions") and _wants_usage_option(provider):
        options = body.get("stream_options")
        if not (isinstance(options, dict) and options.get("include_usage") is True):
            body = {**body, "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True}}
            changed = hide = True
    replaced = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() if changed else None
    return CallRequest(provider, api, stream, hide, raw=raw, body=body), replaced


def is_free(path: str) -> bool:
    return path.rstrip("/").endswith(_FREE)


def _wants_usage_option(provider: str) -> bool:
    try:
        return family_for(provider).name == "openai"
    except Exception:  # noqa: BLE001 - an unknown provider: leave its request alone
        return False


def body_tags(body: Mapping[str, Any]) -> dict[str, str]:
    """Tags a request body carries: OpenAI's ``user`` and ``metadata``, Anthropic's ``metadata.user_id``.
    Values that are not valid tags are left out (they are the caller's data, not an error)."""
    found: dict[str, Any] = {}
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping):
        found.update({k: v for k, v in metadata.items() if k != "user_id"})
        if metadata.get("user_id") is not None:
            found["user"] = metadata["user_id"]
    if body.get("user") is not None:
        found["user"] = body["user"]
    tags: dict[str, str] = {}
    for key, value in found.items():
        try:
            tags.update(validate_tags({key: value}))
        except ConfigError:
            continue
    return tags
