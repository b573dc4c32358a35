"""Times users type: ``30d``, ``12h``, ``2w``, ``2026-01-01``, ISO 8601 timestamps, epoch seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time from a duration back from now (``7d``) or an absolute date/time."""
    match = _DURATION.match(text)
    if match:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        return parse_timestamp(text)
    except ValueError:
        raise ConfigError(
            f"cannot read the time {text!r}: use a duration like 30d, 12h, 2w or a date like 2026-01-01"
        ) from None


def parse_timestamp(value: object) -> datetime:
    """An ISO 8601 string (``Z`` allowed; naive means UTC) or epoch seconds/milliseconds, as an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a timestamp")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value!r} is out of the range of timestamps") from None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a timestamp")
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return parse_timestamp(float(text))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
