"""Reading report.json back: the schema, the typed records, and what a bad file says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.engine.outcome import JobOutcome
from runner.errors import UsageError
from runner.report.load import parse_report, read_report, schema_problems
from runner.spec.schema_files import load_schema
from testing.reports import MIXED_OUTCOMES, MixedRun, attempt, report_document, report_job


def test_engine_report_validates_against_the_schema(mixed_run: MixedRun) -> None:
    Draft202012Validator(load_schema("report")).validate(mixed_run.document)
    assert schema_problems(mixed_run.document) == []


def test_markup_run_report_validates(markup_run: MixedRun) -> None:
    Draft202012Validator(load_schema("report")).validate(markup_run.document)


def test_records_match_the_run(mixed_run: MixedRun) -> None:
    report = read_report(mixed_run.directory)
    seen = {job.name: (job.outcome.value, len(job.attempts)) for job in report.jobs}
    assert seen == MIXED_OUTCOMES
    assert report.exit_code == 1
    extract = report.job("extract")
    first, second = extract.attempts
    assert first.outcome is JobOutcome.FAILED
    assert second.outcome is JobOutcome.SUCCEEDED
    assert second.counters  # job-details counters of the successful run
    # dmpipe's clock: aware times; Datameer's: naive server-local times.
    assert second.triggered_at is not None
    assert second.triggered_at.tzinfo is not None
    assert second.server_start is not None
    assert second.server_start.tzinfo is None
    assert second.observed_seconds is not None
    assert second.observed_seconds > 0
    assert second.server_seconds is not None
    assert second.server_seconds > 0


def test_attempt_durations_are_written_per_clock(mixed_run: MixedRun) -> None:
    extract = next(j for j in mixed_run.document["jobs"] if j["name"] == "extract")
    last = extract["attempts"][-1]
    assert last["observed_seconds"] > 0
    assert last["server_seconds"] > 0
    cancelled = next(j for j in mixed_run.document["jobs"] if j["name"] == "long_running")
    stopped = cancelled["attempts"][0]
    assert stopped["stop_requested"] is True
    assert stopped["stop_confirmed"] is True
    assert stopped["progress"] is not None  # seen running before it was stopped


def test_cancelled_attempt_was_seen_running(mixed_run: MixedRun) -> None:
    record = read_report(mixed_run.directory).job("long_running").attempts[0]
    assert record.outcome is JobOutcome.CANCELED
    assert record.progress is not None
    assert 0 <= record.progress <= 100


def test_a_report_file_path_works_too(mixed_run: MixedRun) -> None:
    report = read_report(mixed_run.directory / "report.json")
    assert report.pipeline_name == "test"


def test_report_without_the_newer_attempt_fields_still_reads(tmp_path: Path) -> None:
    old = attempt(1)  # a version-1 report written before progress and durations existed
    document = report_document(report_job("a", old))
    (tmp_path / "report.json").write_text(json.dumps(document), "utf-8")
    record = read_report(tmp_path).job("a").attempts[0]
    assert record.progress is None
    assert record.observed_seconds == 10.0
    assert record.server_seconds == 8.0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "no report at", id="missing"),
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param("[1, 2]", "a report is a JSON object", id="not-an-object"),
        pytest.param(
            json.dumps(report_document(exit_code="one")), "exit_code", id="schema-violation"
        ),
        pytest.param(
            json.dumps(report_document(report_job("a", attempt(0)))),
            "jobs/0/attempts/0/number",
            id="nested-violation",
        ),
        pytest.param(json.dumps({"version": 2}), "not a valid dmpipe report", id="other-version"),
    ],
)
def test_bad_reports_are_usage_errors(tmp_path: Path, content: str | None, expected: str) -> None:
    if content is not None:
        (tmp_path / "report.json").write_text(content, "utf-8")
    with pytest.raises(UsageError, match=expected):
        read_report(tmp_path)


def test_parse_report_names_a_missing_field() -> None:
    document: dict[str, Any] = report_document()
    del document["mode"]
    with pytest.raises(UsageError, match="mode"):
        parse_report(document)


def test_zone_less_runner_times_are_taken_as_utc() -> None:
    report = parse_report(report_document(started_at="2026-11-28T10:00:00"))
    assert report.started_at.utcoffset() is not None
    assert report.duration_seconds == 60.0
