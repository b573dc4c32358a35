"""Who and what a call is for: tags and sessions, held in `contextvars`.

``with llmledger.tags(feature="search", tenant="acme"):`` attributes every call made inside the block; nested
blocks merge (the inner value wins). ``with llmledger.session("ticket-123"):`` groups an agent run's calls; a
session opened inside another records the outer one as its parent. Both also work as decorators, on plain and
async functions. Values follow the context into asyncio tasks (asyncio copies it) and into work submitted to a
`concurrent.futures.ThreadPoolExecutor` once `propagate_to_threads()` has run (`instrument()` runs it).
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import inspect
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from .errors import ConfigError

__all__ = ["Context", "current", "tags", "session", "validate_tags", "propagate_to_threads"]

MAX_TAGS = 32
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 256
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = {"session": "llmledger.session()", "session_id": "llmledger.session()", "parent_id": "llmledger.session()"}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Context:
    """The attribution in force: tags, and the session (with its parent session) if inside one."""

    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    session_id: str | None = None
    parent_id: str | None = None


_EMPTY = Context()
_current: contextvars.ContextVar[Context] = contextvars.ContextVar("llmledger_attribution", default=_EMPTY)


def current() -> Context:
    """The tags and session in force here."""
    return _current.get()


def validate_tags(values: Mapping[str, Any], *, where: str = "tags") -> dict[str, str]:
    """Checked tags: lowercase keys (letters, digits, ``_``), string values of bounded length."""
    if len(values) > MAX_TAGS:
        raise ConfigError(f"{where}: {len(values)} tags given; at most {MAX_TAGS} are allowed")
    out: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not _KEY.match(key) or len(key) > MAX_KEY_LENGTH:
            raise ConfigError(
                f"{where}: tag name {key!r} is not allowed; use lowercase letters, digits and '_', starting with a "
                f"letter, at most {MAX_KEY_LENGTH} characters (e.g. feature, tenant, prompt_version)"
            )
        if key in _RESERVED:
            raise ConfigError(f"{where}: {key!r} is not a tag; use {_RESERVED[key]}")
        out[key] = _value(value, f"{where}: tag {key!r}")
    return out


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where} must be a string (or an integer), got {type(value).__name__}")
    text = str(value)
    if not text or len(text) > MAX_VALUE_LENGTH:
        raise ConfigError(f"{where} must be 1 to {MAX_VALUE_LENGTH} characters long, got {len(text)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError(f"{where} contains a control character: {text!r}")
    return text


class _Scope:
    """A context manager and decorator that sets a new `Context` for its duration."""

    _tokens: list[contextvars.Token[Context]]

    def _enter(self) -> Context:
        raise NotImplementedError

    def _apply(self) -> contextvars.Token[Context]:
        return _current.set(self._enter())

    def __enter__(self) -> Any:
        token = self._apply()
        self._tokens.append(token)
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                token = self._apply()
                try:
                    return await func(*args, **kwargs)
                finally:
                    _current.reset(token)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            token = self._apply()
            try:
                return func(*args, **kwargs)
            finally:
                _current.reset(token)

        return run  # type: ignore[return-value]


class tags(_Scope):  # noqa: N801 - used like a function: `with llmledger.tags(feature="x"):`
    """Attribute the calls made inside to these tags (merged over the outer ones; the inner value wins)."""

    def __init__(self, **values: Any) -> None:
        self.values = validate_tags(values)
        self._tokens = []

    def _enter(self) -> Context:
        outer = _current.get()
        merged = MappingProxyType({**outer.tags, **self.values})
        return Context(merged, outer.session_id, outer.parent_id)


class session(_Scope):  # noqa: N801
    """Group the calls made inside into one session (an agent run). `id` is generated when not given.

    A session opened inside another records the outer session as its parent. Extra keyword arguments are tags.
    """

    def __init__(self, id: str | None = None, **tag_values: Any) -> None:  # noqa: A002 - `id` reads best here
        self.id = _value(id, "session id") if id is not None else f"s-{uuid.uuid4().hex}"
        self.values = validate_tags(tag_values, where="session tags")
        self._tokens = []

    def _enter(self) -> Context:
        outer = _current.get()
        merged = MappingProxyType({**outer.tags, **self.values}) if self.values else outer.tags
        parent = outer.session_id if outer.session_id != self.id else outer.parent_id
        return Context(merged, self.id, parent)


_patch_lock = threading.Lock()


def propagate_to_threads() -> None:
    """Make work submitted to any `ThreadPoolExecutor` (and so `loop.run_in_executor`) run in the submitter's
    context, so tags and sessions follow it into the worker thread. Idempotent."""
    executor = concurrent.futures.ThreadPoolExecutor
    with _patch_lock:
        if getattr(executor.submit, "_llmledger", False):
            return
        original: Any = executor.submit

        @functools.wraps(original)
        def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            return original(self, contextvars.copy_context().run, fn, *args, **kwargs)

        submit._llmledger = True  # type: ignore[attr-defined]
        executor.submit = submit  # type: ignore[method-assign]
