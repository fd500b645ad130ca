from __future__ import annotations

import pytest

from runner.datameer.status import JobStatus, parse_status


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("RUNNING", JobStatus.RUNNING, id="running"),
        pytest.param("QUEUED", JobStatus.QUEUED, id="queued"),
        pytest.param("WAITING_FOR_OTHER_JOB", JobStatus.WAITING_FOR_OTHER_JOB, id="waiting"),
        pytest.param("COMPLETED", JobStatus.COMPLETED, id="completed"),
        pytest.param("COMPLETED_WITH_Warnings", JobStatus.COMPLETED_WITH_WARNINGS, id="v1-warn"),
        pytest.param("COMPLETED_WITH_WARNINGS", JobStatus.COMPLETED_WITH_WARNINGS, id="v2-warn"),
        pytest.param("completed_with_warnings", JobStatus.COMPLETED_WITH_WARNINGS, id="lower"),
        pytest.param("ERROR", JobStatus.ERROR, id="error"),
        pytest.param("CANCELED", JobStatus.CANCELED, id="canceled"),
        pytest.param("CANCELLED", JobStatus.CANCELED, id="cancelled-british"),
        pytest.param(" RUNNING\n", JobStatus.RUNNING, id="whitespace"),
        pytest.param("_NONE", JobStatus.NEVER_RAN, id="v2-none"),
        pytest.param({}, JobStatus.NEVER_RAN, id="v1-empty-object"),
        pytest.param(None, JobStatus.NEVER_RAN, id="null"),
        pytest.param("", JobStatus.NEVER_RAN, id="empty"),
        pytest.param("EXPLODED", JobStatus.UNKNOWN, id="unknown-text"),
        pytest.param(3, JobStatus.UNKNOWN, id="number"),
        pytest.param({"a": 1}, JobStatus.UNKNOWN, id="object"),
        pytest.param("UNKNOWN", JobStatus.UNKNOWN, id="literal-unknown"),
    ],
)
def test_parse_status(raw: object, expected: JobStatus) -> None:
    assert parse_status(raw) is expected


@pytest.mark.parametrize(
    ("status", "terminal", "success", "active"),
    [
        pytest.param(JobStatus.NEVER_RAN, False, False, False, id="never-ran"),
        pytest.param(JobStatus.QUEUED, False, False, True, id="queued"),
        pytest.param(JobStatus.WAITING_FOR_OTHER_JOB, False, False, True, id="waiting"),
        pytest.param(JobStatus.RUNNING, False, False, True, id="running"),
        pytest.param(JobStatus.COMPLETED, True, True, False, id="completed"),
        pytest.param(JobStatus.COMPLETED_WITH_WARNINGS, True, True, False, id="warnings"),
        pytest.param(JobStatus.ERROR, True, False, False, id="error"),
        pytest.param(JobStatus.CANCELED, True, False, False, id="canceled"),
        pytest.param(JobStatus.UNKNOWN, False, False, False, id="unknown-non-terminal"),
    ],
)
def test_status_properties(status: JobStatus, terminal: bool, success: bool, active: bool) -> None:
    assert (status.is_terminal, status.is_success, status.is_active) == (terminal, success, active)
