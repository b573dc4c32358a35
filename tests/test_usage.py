from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.errors import ParseError
from llmledger.usage import USAGE_FIELDS, Usage


def test_fields_in_order_and_defaults():
    assert USAGE_FIELDS == (
        "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning", "audio_in", "audio_out",
        "web_searches", "requests",
    )
    # One call is one request; every count starts at zero.
    assert Usage().as_dict() == {**dict.fromkeys(USAGE_FIELDS, 0), "requests": 1}


def test_totals_add_the_disjoint_counts():
    usage = Usage(input=10, cache_read=20, cache_write_5m=30, cache_write_1h=40, output=5, reasoning=6, audio_in=7,
                  audio_out=8, web_searches=2)
    assert usage.cache_write == 70
    assert usage.total_input == 10 + 20 + 30 + 40 + 7
    assert usage.total_output == 5 + 6 + 8


def test_add_sums_every_field():
    a = Usage(input=1, cache_read=2, cache_write_5m=3, cache_write_1h=4, output=5, reasoning=6, audio_in=7,
              audio_out=8, web_searches=9, requests=1)
    b = Usage(input=10, cache_read=20, cache_write_5m=30, cache_write_1h=40, output=50, reasoning=60, audio_in=70,
              audio_out=80, web_searches=90, requests=1)
    assert a + b == Usage(input=11, cache_read=22, cache_write_5m=33, cache_write_1h=44, output=55, reasoning=66,
                          audio_in=77, audio_out=88, web_searches=99, requests=2)


def test_add_refuses_other_types():
    with pytest.raises(TypeError):
        Usage() + 1  # type: ignore[operator]


def test_is_frozen():
    with pytest.raises(FrozenInstanceError):
        Usage().input = 3  # type: ignore[misc]


@pytest.mark.parametrize("field", USAGE_FIELDS)
def test_negative_count_is_refused_by_name(field):
    with pytest.raises(ParseError, match=rf"usage count '{field}' must not be negative, got -1"):
        Usage(**{field: -1})


@pytest.mark.parametrize("value", [1.5, 2.0, "12", None, True, [1]])
def test_non_integer_count_is_refused_by_name(value):
    # Even 2.0 and True: the parsers convert whole floats; Usage itself holds only ints.
    with pytest.raises(ParseError, match=r"usage count 'output' must be a whole number"):
        Usage(output=value)  # type: ignore[arg-type]


counts = st.integers(min_value=0, max_value=10**12)
usages = st.builds(Usage, **dict.fromkeys(USAGE_FIELDS, counts))


@given(usages, usages)
def test_sum_keeps_totals(a, b):
    total = a + b
    assert total.total_input == a.total_input + b.total_input
    assert total.total_output == a.total_output + b.total_output
    assert Usage(**total.as_dict()) == total
