from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.datameer.wire import parse_count, parse_estimate, parse_progress, parse_timestamp


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Sep 28, 2018 6:44:56 PM", datetime(2018, 9, 28, 18, 44, 56), id="v2-pm"),
        pytest.param("Sep 28, 2018 10:09:47 AM", datetime(2018, 9, 28, 10, 9, 47), id="v2-am"),
        pytest.param("Jul 18, 2018 1:46:38 PM", datetime(2018, 7, 18, 13, 46, 38), id="details-74"),
        pytest.param("Jan 1, 2019 12:00:01 AM", datetime(2019, 1, 1, 0, 0, 1), id="midnight"),
        pytest.param("Jan 1, 2019 12:30:00 PM", datetime(2019, 1, 1, 12, 30), id="noon"),
        pytest.param("Sep 28, 2018, 6:44:56 PM", datetime(2018, 9, 28, 18, 44, 56), id="comma"),
        pytest.param("Sep 28, 2018 6:44:56 pm", datetime(2018, 9, 28, 18, 44, 56), id="lower-pm"),
        pytest.param("Sep 28, 2018 6:44:56\u202fPM", datetime(2018, 9, 28, 18, 44, 56), id="nnbsp"),
        pytest.param("2012-07-06 18:19:09.0", datetime(2012, 7, 6, 18, 19, 9), id="sql-fraction"),
        pytest.param("2012-07-06 18:19:09", datetime(2012, 7, 6, 18, 19, 9), id="sql-plain"),
        pytest.param(
            "2012-07-06 18:19:09.123", datetime(2012, 7, 6, 18, 19, 9, 123000), id="sql-millis"
        ),
        pytest.param("2011-05-19 22:35:39.0", datetime(2011, 5, 19, 22, 35, 39), id="running"),
        pytest.param("2026-11-28T01:02:03", datetime(2026, 11, 28, 1, 2, 3), id="iso"),
        pytest.param("2026-11-28T01:02:03Z", datetime(2026, 11, 28, 1, 2, 3), id="iso-zulu"),
        pytest.param(
            "2026-11-28T01:02:03.5+02:00", datetime(2026, 11, 28, 1, 2, 3, 500000), id="iso-zone"
        ),
        pytest.param(None, None, id="null"),
        pytest.param("", None, id="empty"),
        pytest.param("yesterday", None, id="words"),
        pytest.param("Feb 30, 2018 6:44:56 PM", None, id="no-such-day"),
        pytest.param("Sep 28, 2018 13:44:56 PM", None, id="hour-13-pm"),
        pytest.param("Foo 28, 2018 6:44:56 PM", None, id="no-such-month"),
        pytest.param(1538160296000, None, id="number"),
        pytest.param({}, None, id="object"),
    ],
)
def test_parse_timestamp(raw: object, expected: datetime | None) -> None:
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("11s", 11.0, id="v2-seconds"),
        pytest.param("11 sec", 11.0, id="running-sec"),
        pytest.param("11 secs", 11.0, id="secs"),
        pytest.param("2m 3s", 123.0, id="minutes-seconds"),
        pytest.param("2m3s", 123.0, id="no-space"),
        pytest.param("1h", 3600.0, id="hour"),
        pytest.param("1h 2m 3s", 3723.0, id="all"),
        pytest.param("1 hour, 5 minutes", 3900.0, id="words"),
        pytest.param("1.5 min", 90.0, id="fraction"),
        pytest.param("11", 11.0, id="bare-text"),
        pytest.param("01:02:03", 3723.0, id="clock"),
        pytest.param("02:03", 123.0, id="clock-short"),
        pytest.param(11, 11.0, id="int"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("soon", None, id="words-only"),
        pytest.param("11 parsecs", None, id="bad-unit"),
        pytest.param("11s then some", None, id="trailing-junk"),
        pytest.param("-5s", None, id="negative-text"),
        pytest.param(-5, None, id="negative-number"),
        pytest.param(True, None, id="bool"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param("1:xx", None, id="bad-clock"),
        pytest.param([11], None, id="list"),
    ],
)
def test_parse_estimate(raw: object, expected: float | None) -> None:
    assert parse_estimate(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("0", 0.0, id="v2-text"),
        pytest.param(0, 0.0, id="running-int"),
        pytest.param("45%", 45.0, id="percent"),
        pytest.param(" 45.5 % ", 45.5, id="spaces"),
        pytest.param(99.9, 99.9, id="float"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("half", None, id="words"),
        pytest.param("nan", None, id="nan-text"),
        pytest.param(False, None, id="bool"),
        pytest.param({"done": 1}, None, id="object"),
    ],
)
def test_parse_progress(raw: object, expected: float | None) -> None:
    assert parse_progress(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(494400, 494400, id="int"),
        pytest.param(7.0, 7, id="integral-float"),
        pytest.param("12", 12, id="digits"),
        pytest.param("-3", -3, id="negative-digits"),
        pytest.param(7.5, None, id="fraction"),
        pytest.param(True, None, id="bool"),
        pytest.param("n/a", None, id="text"),
        pytest.param("١٢", None, id="non-ascii-digits"),
        pytest.param(None, None, id="null"),
        pytest.param([1], None, id="list"),
        pytest.param(float("inf"), None, id="infinite"),
    ],
)
def test_parse_count(raw: object, expected: int | None) -> None:
    assert parse_count(raw) == expected


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(_JSON)
def test_parsers_never_raise(value: object) -> None:
    parse_timestamp(value)
    parse_estimate(value)
    parse_progress(value)
    parse_count(value)


@given(st.text(max_size=40))
def test_text_parsers_never_raise(text: str) -> None:
    assert parse_timestamp(text) is None or isinstance(parse_timestamp(text), datetime)
    estimate = parse_estimate(text)
    assert estimate is None or estimate >= 0
    parse_progress(text)
