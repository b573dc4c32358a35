"""`Usage`: provider-neutral token counts of one call.

Every field counts something billed exactly once; the fields never overlap:

- ``input``: uncached, non-audio input tokens (OpenAI's ``prompt_tokens`` minus cached, cache-written and audio
  tokens; Anthropic's ``input_tokens`` as is).
- ``cache_read``: input tokens served from the prompt cache.
- ``cache_write_5m`` / ``cache_write_1h``: input tokens written to the prompt cache with a short (5 minute, or
  unstated) and a 1 hour lifetime.
- ``output``: visible, non-audio output tokens (reasoning and audio output excluded).
- ``reasoning``: hidden reasoning / thinking tokens, billed as output.
- ``audio_in`` / ``audio_out``: uncached audio tokens.
- ``web_searches``: server-side web search calls.
- ``requests``: API requests (1 per call), for per-request prices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import ParseError

__all__ = ["Usage", "USAGE_FIELDS"]


@dataclass(frozen=True, slots=True)
class Usage:
    input: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0
    audio_in: int = 0
    audio_out: int = 0
    web_searches: int = 0
    requests: int = 1

    def __post_init__(self) -> None:
        for name in USAGE_FIELDS:
            value = getattr(self, name)
            if type(value) is not int:
                raise ParseError(f"usage count {name!r} must be a whole number, got {value!r}")
            if value < 0:
                raise ParseError(f"usage count {name!r} must not be negative, got {value}")

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_input(self) -> int:
        """Every input token, cached or not: the prompt size, as OpenAI's ``prompt_tokens`` counts it."""
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h + self.audio_in

    @property
    def total_output(self) -> int:
        """Every output token, as OpenAI's ``completion_tokens`` counts it."""
        return self.output + self.reasoning + self.audio_out

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in USAGE_FIELDS})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


USAGE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Usage))
