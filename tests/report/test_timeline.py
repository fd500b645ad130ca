"""The timeline's geometry and the run's critical path, from report documents alone."""

from __future__ import annotations

import pytest

from runner.engine.outcome import JobOutcome
from runner.report.load import parse_report
from runner.report.timeline import Bar, build_timeline, elapsed_seconds
from testing.reports import attempt, report_document, report_job


def at(seconds: int) -> str:
    return f"2026-11-28T10:{seconds // 60:02d}:{seconds % 60:02d}+00:00"


def timed(number: int, start: int, end: int | None, **fields: object) -> dict[str, object]:
    return attempt(
        number, triggered_at=at(start), detected_at=None if end is None else at(end), **fields
    )


def bars_of(document: dict[str, object]) -> dict[tuple[str, int], Bar]:
    timeline = build_timeline(parse_report(document))
    return {(bar.job, bar.attempt): bar for bar in timeline.bars}


def test_bars_use_dmpipe_times_relative_to_the_run_start() -> None:
    bars = bars_of(
        report_document(report_job("a", timed(1, 5, 15, outcome="FAILED"), timed(2, 20, 30)))
    )
    assert (bars["a", 1].start, bars["a", 1].end, bars["a", 1].retried) == (5, 15, True)
    assert (bars["a", 2].start, bars["a", 2].end, bars["a", 2].retried) == (20, 30, False)
    assert bars["a", 1].outcome is JobOutcome.FAILED


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        pytest.param(
            [timed(1, 50, None, outcome=None)],
            (50.0, 60.0, False, True),
            id="unseen-end-runs-to-run-end",
        ),
        pytest.param(
            [attempt(1, triggered_at="2026-11-27T09:00:00+00:00", detected_at=None)],
            (0.0, 0.0, True, True),
            id="finished-in-an-earlier-run",
        ),
        pytest.param(
            [attempt(1, triggered_at="2026-11-27T09:00:00+00:00", detected_at=None, outcome=None)],
            (0.0, 60.0, True, True),
            id="re-attached-and-still-running",
        ),
        pytest.param(
            [attempt(1, triggered_at=None, detected_at=at(10))],
            (0.0, 10.0, True, False),
            id="trigger-time-unknown",
        ),
    ],
)
def test_open_ends(attempts: list[dict[str, object]], expected: tuple[object, ...]) -> None:
    bar = bars_of(report_document(report_job("a", *attempts)))["a", 1]
    assert (bar.start, bar.end, bar.open_start, bar.open_end) == expected


def test_an_earlier_attempt_with_no_end_is_a_stub_not_a_span() -> None:
    bars = bars_of(report_document(report_job("a", timed(1, 10, None), timed(2, 20, 30))))
    assert (bars["a", 1].start, bars["a", 1].end) == (10, 10)


def test_rows_follow_the_dependencies_and_skip_unknown_needs() -> None:
    document = report_document(
        report_job("late", timed(1, 30, 40), needs=["early"]),
        report_job("early", timed(1, 0, 30), needs=["deselected"]),
        report_job("alone", timed(1, 0, 5)),
    )
    timeline = build_timeline(parse_report(document))
    assert timeline.rows == ("early", "alone", "late")
    assert timeline.edges == (("early", "late"),)


def test_the_critical_path_weighs_jobs_by_elapsed_time() -> None:
    document = report_document(
        report_job("root", timed(1, 0, 10)),
        report_job("quick", timed(1, 10, 12), needs=["root"]),
        report_job("slow", timed(1, 10, 50), needs=["root"]),
        report_job("end", timed(1, 50, 55), needs=["quick", "slow"]),
        report_job("side", timed(1, 0, 45)),
    )
    assert build_timeline(parse_report(document)).critical == ("root", "slow", "end")


def test_elapsed_spans_retries_and_their_delay() -> None:
    job = parse_report(
        report_document(report_job("a", timed(1, 0, 10, outcome="FAILED"), timed(2, 40, 50)))
    ).job("a")
    assert elapsed_seconds(job) == 50
    assert job.observed_seconds == 20  # the attempts alone, without the retry delay


def test_jobs_that_never_started_are_not_on_the_critical_path() -> None:
    document = report_document(
        report_job("a", timed(1, 0, 10)),
        report_job("b", timed(1, 10, 20), needs=["a"]),
        report_job("handler", needs=["b"], outcome="SKIPPED"),
    )
    timeline = build_timeline(parse_report(document))
    assert timeline.critical == ("a", "b")
    assert "handler" in timeline.rows
