from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmledger.errors import ImportFailed
from llmledger.imports import read_records, to_events
from llmledger.pricing import PriceBook
from llmledger.usage import Usage

FASTAPI = {  # what a FastAPI logging middleware typically writes
    "timestamp": "2026-11-02T09:15:00.123Z", "model": "gpt-4o-mini", "query_type": "faq", "user_id": "u42",
    "input_tokens": 1200, "output_tokens": 300, "estimated_cost_usd": 0.00036, "latency_ms": 812.4,
}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def events_of(path: Path, prices: PriceBook):
    return to_events(read_records(path), prices, source=str(path))


def test_fastapi_middleware_record_imports_as_is(tmp_path, prices):
    (event,), summary = events_of(write_jsonl(tmp_path / "log.jsonl", [FASTAPI]), prices)
    assert event.provider == "openai" and event.model == "gpt-4o-mini"
    assert event.usage == Usage(input=1200, output=300)
    assert event.tags == {"query_type": "faq", "user": "u42"}
    assert event.latency_ms == 812
    assert event.cost.total == Decimal(1200) * Decimal("0.15") / 10**6 + Decimal(300) * Decimal("0.6") / 10**6
    assert event.reported_cost == Decimal("0.00036")
    assert summary.mismatches == []  # 0.00036 is the catalog price
    assert event.source == "import" and event.ts.isoformat() == "2026-11-02T09:15:00.123000+00:00"


def test_input_tokens_include_cache_and_output_includes_reasoning(tmp_path, prices):
    record = {"timestamp": 1762000000, "provider": "openai", "model": "o3-mini", "input_tokens": 1000,
              "cache_read_tokens": 800, "output_tokens": 500, "reasoning_tokens": 400, "feature": "agent"}
    (event,), _ = events_of(write_jsonl(tmp_path / "a.jsonl", [record]), prices)
    assert event.usage == Usage(input=200, cache_read=800, output=100, reasoning=400)
    assert event.tags == {"feature": "agent"}


def test_anthropic_style_uncached_input(tmp_path, prices):
    record = {"timestamp": "2026-11-02", "provider": "anthropic", "model": "claude-sonnet-4-5",
              "uncached_input_tokens": 3, "cache_read_tokens": 1111, "cache_write_tokens": 418,
              "cache_write_1h_tokens": 10, "output_tokens": 33}
    (event,), _ = events_of(write_jsonl(tmp_path / "a.jsonl", [record]), prices)
    assert event.usage == Usage(input=3, cache_read=1111, cache_write_5m=418, cache_write_1h=10, output=33)
    assert event.cost.cache_write == (Decimal(418) * Decimal("3.75") + Decimal(10) * Decimal(6)) / 10**6


def test_cost_mismatch_is_reported_and_kept(tmp_path, prices):
    record = {**FASTAPI, "estimated_cost_usd": "0.01"}
    (event,), summary = events_of(write_jsonl(tmp_path / "a.jsonl", [record]), prices)
    assert event.reported_cost == Decimal("0.01")
    assert summary.mismatches == [("line 1", Decimal("0.01"), event.cost.total)]


def test_unknown_model_with_a_cost_keeps_the_cost(tmp_path, prices):
    record = {**FASTAPI, "model": "in-house-llm-7b", "provider": "selfhosted", "estimated_cost_usd": "0.002"}
    (event,), summary = events_of(write_jsonl(tmp_path / "a.jsonl", [record]), prices)
    assert event.cost.status == "reported" and event.cost.total == Decimal("0.002")
    assert summary.reported_kept == 1


def test_unknown_model_without_a_cost_is_unpriced(tmp_path, prices):
    record = {k: v for k, v in FASTAPI.items() if k != "estimated_cost_usd"} | {"model": "in-house-llm-7b"}
    (event,), summary = events_of(write_jsonl(tmp_path / "a.jsonl", [record]), prices)
    assert event.cost.status == "unpriced" and event.cost.total is None
    assert event.provider == "unknown" and summary.unpriced == 1


def test_csv(tmp_path, prices):
    path = tmp_path / "log.csv"
    path.write_text("timestamp,model,query_type,user_id,input_tokens,output_tokens,estimated_cost_usd,latency_ms\n"
                    "2026-11-02T09:15:00Z,gpt-4o-mini,faq,u42,1200,300,0.00036,812\n"
                    "2026-11-02T09:16:00Z,gpt-4o-mini,chat,u43,100,,,\n")
    events, summary = events_of(path, prices)
    assert [e.usage for e in events] == [Usage(input=1200, output=300), Usage(input=100)]
    assert events[1].tags == {"query_type": "chat", "user": "u43"} and events[1].reported_cost is None
    assert summary.records == 2


def test_ids_are_stable_and_identical_records_stay_distinct(tmp_path, prices):
    path = write_jsonl(tmp_path / "a.jsonl", [FASTAPI, FASTAPI, {**FASTAPI, "user_id": "u7"}])
    first, _ = events_of(path, prices)
    again, _ = events_of(path, prices)
    assert [e.id for e in first] == [e.id for e in again]
    assert len({e.id for e in first}) == 3
    write_jsonl(path, [FASTAPI, FASTAPI, {**FASTAPI, "user_id": "u7"}, {**FASTAPI, "user_id": "u8"}])
    appended, _ = events_of(path, prices)
    assert [e.id for e in appended[:3]] == [e.id for e in first]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**FASTAPI, "input_tokens": -5}, "input_tokens must be a whole number ≥ 0, got -5"),
        ({**FASTAPI, "input_tokens": 1.5}, "input_tokens must be a whole number ≥ 0, got 1.5"),
        ({**FASTAPI, "output_tokens": "many"}, "output_tokens must be a whole number ≥ 0, got 'many'"),
        ({k: v for k, v in FASTAPI.items() if k != "timestamp"}, "missing 'timestamp'"),
        ({**FASTAPI, "timestamp": "yesterday"}, "timestamp 'yesterday' is not ISO 8601"),
        ({k: v for k, v in FASTAPI.items() if k != "model"}, "missing 'model'"),
        ({**FASTAPI, "estimated_cost_usd": "lots"}, "cost must be a number"),
        ({**FASTAPI, "estimated_cost_usd": 1e13}, "cost 10000000000000.0 for one call is not plausible"),
        ({**FASTAPI, "cache_read_tokens": 5000}, "input_tokens (1200) is smaller than the cached"),
        ({**FASTAPI, "reasoning_tokens": 301}, "output_tokens (300) is smaller than the reasoning"),
        ({**FASTAPI, "note": "x" * 300}, "tag 'note' is longer than 256 characters"),
        ({**FASTAPI, "bad key!": 1}, "field name 'bad key!' cannot be a tag"),
        ({"timestamp": "2026-01-01", "model": "gpt-4o"}, "no token counts"),
    ],
)
def test_bad_records_fail_the_whole_file_with_every_problem(tmp_path, prices, record, message):
    path = write_jsonl(tmp_path / "a.jsonl", [FASTAPI, record, FASTAPI])
    with pytest.raises(ImportFailed) as failure:
        events_of(path, prices)
    assert failure.value.problems[0][0] == "line 2"
    assert message in failure.value.problems[0][1]
    assert "nothing was imported" in str(failure.value)


def test_malformed_json_lines_are_all_listed(tmp_path, prices):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(FASTAPI) + "\n{not json\n[1,2]\n")
    with pytest.raises(ImportFailed) as failure:
        events_of(path, prices)
    assert [where for where, _ in failure.value.problems] == ["line 2", "line 3"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens",
                                        "timestamp", "model", "cost_usd"]),
                       st.one_of(st.integers(-5, 10**7), st.floats(allow_nan=True), st.text(max_size=8), st.none(),
                                 st.booleans())))
def test_any_record_is_either_a_valid_event_or_a_clear_error(record):
    book = _BOOK
    try:
        events, _ = to_events(iter([("line 1", record)]), book, source="x")
    except ImportFailed as failure:
        assert failure.problems and all(message for _, message in failure.problems)
        return
    (event,) = events
    assert all(isinstance(v, int) and v >= 0 for v in event.usage.as_dict().values())
    assert event.cost.status in ("priced", "partial", "unpriced", "reported")
    if event.cost.status != "unpriced":
        assert event.cost.total is not None and event.cost.total >= 0


_BOOK = PriceBook()
