"""Durations: the schema's pattern and the parser agree, and text round-trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.spec.durations import format_duration, format_elapsed, parse_duration
from runner.spec.patterns import compile_pattern
from runner.spec.schema_files import load_schema


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(0, 0.0, id="zero"),
        pytest.param(90, 90.0, id="int-seconds"),
        pytest.param(2.5, 2.5, id="float-seconds"),
        pytest.param("500ms", 0.5, id="ms"),
        pytest.param("30s", 30.0, id="s"),
        pytest.param("5m", 300.0, id="m"),
        pytest.param("2h", 7200.0, id="h"),
        pytest.param("1d", 86400.0, id="d"),
        pytest.param("1h30m", 5400.0, id="h-m"),
        pytest.param("1m30s", 90.0, id="m-s"),
        pytest.param("1d2h3m4s5ms", 93784.005, id="every-unit"),
        pytest.param("1.5h", 5400.0, id="decimal"),
        pytest.param("0.25s", 0.25, id="decimal-seconds"),
        pytest.param("90m", 5400.0, id="minutes-over-an-hour"),
    ],
)
def test_parse_duration(value: float | str, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("30", id="digits-as-text"),
        pytest.param("ten minutes", id="words"),
        pytest.param("5 min", id="space"),
        pytest.param("30s1h", id="out-of-order"),
        pytest.param("1h1h", id="repeated-unit"),
        pytest.param("1.5h30m", id="decimal-in-compound"),
        pytest.param("-5s", id="negative-text"),
        pytest.param(-5, id="negative-number"),
        pytest.param(True, id="boolean"),
    ],
)
def test_parse_duration_rejects(value: float | str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(0, "0s", id="zero"),
        pytest.param(0.5, "500ms", id="ms"),
        pytest.param(30, "30s", id="s"),
        pytest.param(5400, "1h30m", id="h-m"),
        pytest.param(90061, "1d1h1m1s", id="every-unit"),
        pytest.param(86400, "1d", id="a-day"),
        pytest.param(90000, "1d1h", id="over-a-day"),
        pytest.param(600, "10m", id="m"),
        pytest.param(3725, "1h2m5s", id="h-m-s"),
        pytest.param(1.5, "1.5s", id="fraction"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(None, "—", id="unknown"),
        pytest.param(0.44, "0.4s", id="sub-second"),
        pytest.param(59.96, "60.0s", id="just-under-a-minute"),
        pytest.param(125, "2m 05s", id="minutes"),
        pytest.param(3725, "1h 02m", id="hours"),
        pytest.param(86399.6, "1d 00h", id="rounds-up-to-a-day"),
        pytest.param(86400, "1d 00h", id="a-day"),
        pytest.param(97200, "1d 03h", id="over-a-day"),
    ],
)
def test_format_elapsed(seconds: float | None, expected: str) -> None:
    assert format_elapsed(seconds) == expected


@pytest.mark.parametrize("seconds", [86400, 90000, 3725, 125])
def test_both_styles_name_the_same_largest_unit(seconds: float) -> None:
    largest = re.match(r"[0-9]+[a-z]", format_duration(seconds))
    assert largest is not None
    assert format_elapsed(seconds).split()[0] == largest[0]


def _schema_pattern(name: str) -> re.Pattern[str]:
    branches = load_schema("pipeline")["$defs"][name]["anyOf"]
    return compile_pattern(next(branch["pattern"] for branch in branches if "pattern" in branch))


DURATION_TEXT = st.text(alphabet="0123456789.dhms \n", max_size=10) | st.text(max_size=8)


@pytest.mark.slow
@given(DURATION_TEXT)
def test_the_schema_pattern_accepts_exactly_what_the_parser_parses(text: str) -> None:
    try:
        parse_duration(text)
        parsed = True
    except ValueError:
        parsed = False
    assert bool(_schema_pattern("duration").search(text)) == parsed


@given(DURATION_TEXT)
def test_positive_durations_are_the_durations_above_zero(text: str) -> None:
    expected = bool(_schema_pattern("duration").search(text)) and parse_duration(text) > 0
    assert bool(_schema_pattern("positive_duration").search(text)) == expected


@given(st.integers(min_value=0, max_value=10**7))
def test_whole_seconds_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
