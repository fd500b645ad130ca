"""How reports phrase durations, times and verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from runner.engine.outcome import JobOutcome
from runner.report.load import parse_report
from runner.report.wording import (
    one_line,
    outcome_word,
    runner_time,
    server_time,
    stop_word,
    verdict,
)
from testing.reports import report_document


def test_times_say_which_clock() -> None:
    moment = datetime(2026, 11, 28, 11, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert runner_time(moment) == "2026-11-28 10:00:05 UTC"
    assert server_time(datetime(2026, 11, 28, 18, 44, 56)) == "2026-11-28 18:44:56"


_EAST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), id="cut-not-rounded"),
        pytest.param(datetime(2027, 1, 1, 3, 0, 0, 500, tzinfo=_EAST), id="offset-across-a-year"),
        pytest.param(
            datetime(2026, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-8))), id="west"
        ),
    ],
)
def test_times_read_as_strftime_writes_them(moment: datetime) -> None:
    assert runner_time(moment) == moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    # A server time is shown as given, even one that carries a zone.
    assert server_time(moment) == moment.strftime("%Y-%m-%d %H:%M:%S")
    assert server_time(moment.replace(tzinfo=None)) == moment.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"exit_code": 0}, "succeeded", id="ok"),
        pytest.param({"exit_code": 1}, "failed", id="failed"),
        pytest.param({"exit_code": 130, "interrupted": True}, "interrupted", id="interrupted"),
        pytest.param({"exit_code": 1, "timed_out": True}, "timed out", id="timed-out"),
        pytest.param({"exit_code": 3}, "server unreachable", id="server"),
    ],
)
def test_verdict(fields: dict[str, object], expected: str) -> None:
    assert verdict(parse_report(report_document(**fields))) == expected


@pytest.mark.parametrize(
    ("requested", "confirmed", "expected"),
    [
        pytest.param(False, None, "", id="none"),
        pytest.param(True, True, "stop confirmed", id="confirmed"),
        pytest.param(True, False, "stop NOT confirmed", id="refused"),
        pytest.param(True, None, "stop requested, confirmation never came", id="unanswered"),
    ],
)
def test_stop_word(requested: bool, confirmed: bool | None, expected: str) -> None:
    assert stop_word(requested, confirmed) == expected


def test_outcome_words_and_one_line() -> None:
    assert outcome_word(JobOutcome.TIMED_OUT) == "timed out"
    assert outcome_word(None) == "unfinished"
    assert one_line("a\n\tb  c") == "a b c"
    assert one_line("x" * 10, limit=5) == "xxxx…"
