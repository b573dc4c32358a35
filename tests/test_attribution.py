"""Tags and sessions in contextvars: nesting, decorators, tasks, threads, validation."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmledger
from llmledger.attribution import current, propagate_to_threads


def test_nested_tags_merge_and_the_inner_value_wins() -> None:
    assert dict(current().tags) == {}
    with llmledger.tags(feature="search", tenant="acme"):
        with llmledger.tags(feature="rerank", user="u1"):
            assert dict(current().tags) == {"feature": "rerank", "tenant": "acme", "user": "u1"}
        assert dict(current().tags) == {"feature": "search", "tenant": "acme"}
    assert dict(current().tags) == {}


def test_tags_as_decorator_on_sync_and_async_functions() -> None:
    @llmledger.tags(feature="summarize")
    def summarize() -> dict[str, str]:
        return dict(current().tags)

    @llmledger.tags(feature="classify")
    async def classify() -> dict[str, str]:
        await asyncio.sleep(0)
        return dict(current().tags)

    with llmledger.tags(tenant="acme"):
        assert summarize() == {"tenant": "acme", "feature": "summarize"}
        assert asyncio.run(classify()) == {"tenant": "acme", "feature": "classify"}
    assert summarize() == {"feature": "summarize"}
    assert dict(current().tags) == {}


def test_sessions_generate_ids_and_record_their_parent() -> None:
    with llmledger.session() as outer:
        assert outer.id.startswith("s-") and current().session_id == outer.id and current().parent_id is None
        with llmledger.session("sub-agent", feature="research") as inner:
            assert (current().session_id, current().parent_id) == ("sub-agent", outer.id)
            assert current().tags["feature"] == "research" and inner.id == "sub-agent"
        assert current().session_id == outer.id
    assert current().session_id is None
    with llmledger.session() as again:
        assert again.id != outer.id


def test_async_context_manager_and_tasks_keep_their_own_values() -> None:
    async def task(i: int) -> tuple[str, str | None]:
        async with llmledger.tags(user=f"u{i}"):
            await asyncio.sleep(0.001 * (5 - i))
            return current().tags["user"], current().session_id

    async def run() -> list[tuple[str, str | None]]:
        with llmledger.session("batch"):
            return await asyncio.gather(*(task(i) for i in range(5)))

    assert asyncio.run(run()) == [(f"u{i}", "batch") for i in range(5)]


def test_executor_threads_get_the_submitters_context() -> None:
    propagate_to_threads()
    propagate_to_threads()  # idempotent
    with llmledger.tags(team="growth"), ThreadPoolExecutor(2) as pool:
        assert pool.submit(lambda: dict(current().tags)).result() == {"team": "growth"}
    # a plain thread starts with an empty context, as Python defines it
    seen: list[dict[str, str]] = []
    with llmledger.tags(team="growth"):
        t = threading.Thread(target=lambda: seen.append(dict(current().tags)))
        t.start()
        t.join()
    assert seen == [{}]
    # and a copied context carries the tags, the usual way to hand them to a thread
    with llmledger.tags(team="growth"):
        ctx = contextvars.copy_context()
    assert ctx.run(lambda: dict(current().tags)) == {"team": "growth"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Feature": "x"}, "tag name 'Feature' is not allowed"),
        ({"fea-ture": "x"}, "tag name 'fea-ture'"),
        ({"f" * 65: "x"}, "at most 64 characters"),
        ({"session": "x"}, "use llmledger.session"),
        ({"feature": ""}, "1 to 256 characters"),
        ({"feature": "x" * 257}, "1 to 256 characters"),
        ({"feature": 1.5}, "must be a string"),
        ({"feature": True}, "must be a string"),
        ({"feature": "a\nb"}, "control character"),
        ({f"k{i}": "v" for i in range(33)}, "at most 32"),
    ],
)
def test_bad_tags_are_refused_with_a_clear_message(values: dict[str, object], message: str) -> None:
    with pytest.raises(llmledger.ConfigError, match=message):
        llmledger.tags(**values)


def test_integer_values_become_strings() -> None:
    with llmledger.tags(prompt_version=7):
        assert current().tags["prompt_version"] == "7"
