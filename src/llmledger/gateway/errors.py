"""Errors as the client's own SDK expects them: OpenAI's or Anthropic's error JSON, with the right status."""

from __future__ import annotations

import json

__all__ = ["error_body"]

# status → (OpenAI error type, Anthropic error type)
_TYPES = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "authentication_error"),
    403: ("invalid_request_error", "permission_error"),
    404: ("invalid_request_error", "not_found_error"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_error"),
    502: ("server_error", "api_error"),
    504: ("server_error", "timeout_error"),
}


def error_body(family: str, status: int, message: str, code: str | None = None) -> bytes:
    """The error JSON for `family` (``openai`` or ``anthropic``). `code` is OpenAI's ``error.code``; Anthropic's
    format has no such field, so there it leads the message (``budget_exceeded: …``)."""
    openai_type, anthropic_type = _TYPES.get(status, ("server_error", "api_error"))
    if family == "anthropic":
        text = f"{code}: {message}" if code else message
        return json.dumps({"type": "error", "error": {"type": anthropic_type, "message": text}}).encode()
    return json.dumps({"error": {"message": message, "type": openai_type, "param": None, "code": code}}).encode()
