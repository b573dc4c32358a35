"""What a request asks for, read before it is sent: which API, model, stream or not, output cap, body tags.

Also the one change llmledger makes to a request: a streamed OpenAI-style Chat/legacy Completion that did not
ask for usage gets ``stream_options.include_usage`` added (the extra usage chunk is hidden from the caller by
the stream tap), because without it the stream's cost is unknowable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..attribution import validate_tags
from ..errors import ConfigError
from ..providers import canonical_provider, family_for

__all__ = ["CallRequest", "read_request", "body_tags"]

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


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One metered request."""

    provider: str
    api: str  # chat | responses | embeddings | completions | messages | other
    model: str | None
    stream: bool
    body: Mapping[str, Any]
    hide_usage: bool = False  # include_usage was added by us: strip the usage chunk from the caller's stream


def read_request(
    provider: str, method: str, path: str, content: bytes | Mapping[str, Any] | None, *, changed: bool = False,
) -> tuple[CallRequest, bytes | None]:
    """The request, and the body to send instead of `content` (None: send it unchanged).

    `content` is the body's bytes, or the body already decoded (then `changed` says the caller altered it, so it
    must be encoded again). Raises `ConfigError` for a body that is not a JSON object; returns an ``other``
    request for anything without a JSON body (it is metered only if a usage object comes back).
    """
    provider = canonical_provider(provider)
    api = next((name for suffix, name in _APIS if path.rstrip("/").endswith(suffix)), "other")
    body: Any = {}
    if isinstance(content, Mapping):
        body = dict(content)
    elif content and method.upper() == "POST":
        try:
            body = json.loads(content)
        except ValueError as exc:
            raise ConfigError(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ConfigError(f"the request body must be a JSON object, got {type(body).__name__}")
    model = body.get("model") if isinstance(body.get("model"), str) else None
    stream = body.get("stream") is True
    hide = False
    if stream and api in ("chat", "completions") and _wants_usage_option(provider):
        options = body.get("stream_options")
        if not (isinstance(options, dict) and options.get("include_usage") is True):
            body = {**body, "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True}}
            changed = hide = True
    replaced = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() if changed else None
    return CallRequest(provider, api, model, stream, body, hide), replaced


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
