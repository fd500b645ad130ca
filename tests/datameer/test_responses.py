from __future__ import annotations

from datetime import datetime

import pytest

from runner.datameer import responses
from runner.datameer.records import (
    ConfigurationStatus,
    DeleteResult,
    ExecutionPlan,
    ExecutionStatus,
    HistoryEntry,
    JobDetails,
    PlannedExecution,
    RunningJob,
    TriggerResult,
)
from runner.datameer.responses import ShapeError
from runner.datameer.status import JobStatus

# -- v1 status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"id": 49, "jobStatus": "RUNNING"},
            ConfigurationStatus(7, JobStatus.RUNNING, "RUNNING", execution_id=49),
            id="running",
        ),
        pytest.param(
            {"id": 30, "jobStatus": "COMPLETED"},
            ConfigurationStatus(7, JobStatus.COMPLETED, "COMPLETED", execution_id=30),
            id="completed",
        ),
        pytest.param(
            {"id": 32, "jobStatus": "COMPLETED_WITH_Warnings"},
            ConfigurationStatus(
                7, JobStatus.COMPLETED_WITH_WARNINGS, "COMPLETED_WITH_Warnings", execution_id=32
            ),
            id="warnings-v1-spelling",
        ),
        pytest.param(
            {"id": 36, "jobStatus": "ERROR"},
            ConfigurationStatus(7, JobStatus.ERROR, "ERROR", execution_id=36),
            id="error",
        ),
        pytest.param(
            {"id": 39, "jobStatus": "CANCELED"},
            ConfigurationStatus(7, JobStatus.CANCELED, "CANCELED", execution_id=39),
            id="canceled",
        ),
        pytest.param({}, ConfigurationStatus(7, JobStatus.NEVER_RAN, ""), id="never-ran-empty"),
        pytest.param(
            {"id": 40, "jobStatus": "EXPLODED"},
            ConfigurationStatus(7, JobStatus.UNKNOWN, "EXPLODED", execution_id=40),
            id="unknown-kept-raw",
        ),
    ],
)
def test_configuration_status(body: object, expected: ConfigurationStatus) -> None:
    assert responses.configuration_status(body, 7) == expected


# -- v2 status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"status": "success", "job-status": "_NONE"},
            ExecutionStatus(JobStatus.NEVER_RAN, "_NONE"),
            id="never-run",
        ),
        pytest.param(
            {
                "status": "success",
                "file-id": 48,
                "job-execution-id": 3,
                "job-status": "RUNNING",
                "start-time": "Sep 28, 2018 6:44:56 PM",
                "estimate-time": "11s",
                "job-progress": "0",
            },
            ExecutionStatus(
                JobStatus.RUNNING,
                "RUNNING",
                file_id=48,
                execution_id=3,
                start_time=datetime(2018, 9, 28, 18, 44, 56),
                estimate_seconds=11.0,
                progress=0.0,
            ),
            id="running",
        ),
        pytest.param(
            {
                "status": "success",
                "file-id": 48,
                "job-execution-id": 3,
                "job-status": "COMPLETED",
                "start-time": "Sep 28, 2018 6:44:56 PM",
                "stop-time": "Sep 28, 2018 6:44:58 PM",
            },
            ExecutionStatus(
                JobStatus.COMPLETED,
                "COMPLETED",
                file_id=48,
                execution_id=3,
                start_time=datetime(2018, 9, 28, 18, 44, 56),
                stop_time=datetime(2018, 9, 28, 18, 44, 58),
            ),
            id="completed",
        ),
        pytest.param(
            {
                "status": "success",
                "file-id": 46,
                "job-execution-id": 4,
                "job-status": "COMPLETED_WITH_WARNINGS",
                "start-time": "Sep 28, 2018 10:09:47 AM",
                "stop-time": "Sep 28, 2018 10:09:52 AM",
            },
            ExecutionStatus(
                JobStatus.COMPLETED_WITH_WARNINGS,
                "COMPLETED_WITH_WARNINGS",
                file_id=46,
                execution_id=4,
                start_time=datetime(2018, 9, 28, 10, 9, 47),
                stop_time=datetime(2018, 9, 28, 10, 9, 52),
            ),
            id="warnings-v2-spelling",
        ),
        pytest.param(
            {
                "status": "success",
                "file-id": 48,
                "job-execution-id": 4,
                "job-status": "QUEUED",
                "start-time": None,
            },
            ExecutionStatus(JobStatus.QUEUED, "QUEUED", file_id=48, execution_id=4),
            id="queued-null-start",
        ),
        pytest.param(
            {
                "status": "success",
                "file-id": 48,
                "job-execution-id": 4,
                "job-status": "CANCELED",
                "start-time": None,
                "stop-time": "Sep 28, 2018 6:58:41 PM",
            },
            ExecutionStatus(
                JobStatus.CANCELED,
                "CANCELED",
                file_id=48,
                execution_id=4,
                stop_time=datetime(2018, 9, 28, 18, 58, 41),
            ),
            id="canceled",
        ),
        pytest.param(
            {
                "status": "success",
                "job-execution-id": 3,
                "job-execution-user": "analyst",
                "job-execution-trigger": "RESTAPI",
            },
            ExecutionStatus(
                JobStatus.QUEUED, "", execution_id=3, user="analyst", trigger="RESTAPI"
            ),
            id="triggered-no-status-yet",
        ),
        pytest.param(
            {"status": "success", "job-status": "WAITING_FOR_OTHER_JOB", "job-progress": "45%"},
            ExecutionStatus(JobStatus.WAITING_FOR_OTHER_JOB, "WAITING_FOR_OTHER_JOB", progress=45),
            id="waiting-percent",
        ),
        pytest.param(
            {"job-status": "RUNNING", "estimate-time": "whenever", "start-time": "later"},
            ExecutionStatus(JobStatus.RUNNING, "RUNNING"),
            id="unreadable-optional-values",
        ),
        pytest.param(
            {"job-status": {}}, ExecutionStatus(JobStatus.NEVER_RAN, "{}"), id="empty-object"
        ),
    ],
)
def test_execution_status(body: object, expected: ExecutionStatus) -> None:
    assert responses.execution_status(body) == expected


# -- history, details, running --------------------------------------------------------


def test_history_keeps_order_newest_first() -> None:
    body = [
        {"id": 30, "jobStatus": "COMPLETED"},
        {"id": 27, "jobStatus": "COMPLETED_WITH_Warnings"},
        {"id": 23, "jobStatus": "ERROR"},
    ]
    assert responses.history(body) == [
        HistoryEntry(30, JobStatus.COMPLETED, "COMPLETED"),
        HistoryEntry(27, JobStatus.COMPLETED_WITH_WARNINGS, "COMPLETED_WITH_Warnings"),
        HistoryEntry(23, JobStatus.ERROR, "ERROR"),
    ]


def test_history_of_a_job_that_never_ran_is_empty() -> None:
    assert responses.history([]) == []


PRE_74_DETAILS = {
    "counters": {
        "IMPORT_RECORDS": 494400,
        "IMPORT_BYTES": 23911522,
        "IMPORT_DROPPED_RECORDS": 0,
        "IMPORT_PREVIEW_RECORDS": 5000,
        "IMPORT_OUTPUT_BYTES": 24444883,
        "IMPORT_DROPPED_SPLITS": 0,
        "IMPORT_OUTPUT_PARTITIONS": 0,
    },
    "failureCount": 0,
    "jobStatus": "COMPLETED",
    "startTime": "2012-07-06 18:19:09.0",
    "stopTime": "2012-07-06 18:21:07.0",
    "successCount": 494400,
}

DETAILS_74 = {
    "startTime": "Jul 18, 2018 1:46:38 PM",
    "stopTime": "Jul 18, 2018 1:47:03 PM",
    "jobStatus": "COMPLETED",
    "jobConfigurationId": 4,
    "file": {"id": 6, "uuid": "f8d450cd-f065-4abb-a232-27cd20c48c2b"},
    "successCount": 7,
    "failureCount": 0,
    "counters": {
        "IMPORT_RECORDS": 7,
        "IMPORT_PREVIEW_RECORDS": 7,
        "IMPORT_OUTPUT_BYTES": 4167,
        "IMPORT_DROPPED_SPLITS": 0,
        "IMPORT_DROPPED_RECORDS": 0,
    },
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            PRE_74_DETAILS,
            JobDetails(
                execution_id=9,
                status=JobStatus.COMPLETED,
                raw_status="COMPLETED",
                start_time=datetime(2012, 7, 6, 18, 19, 9),
                stop_time=datetime(2012, 7, 6, 18, 21, 7),
                success_count=494400,
                failure_count=0,
                counters=dict(PRE_74_DETAILS["counters"]),  # type: ignore[call-overload]
            ),
            id="pre-7.4",
        ),
        pytest.param(
            DETAILS_74,
            JobDetails(
                execution_id=9,
                status=JobStatus.COMPLETED,
                raw_status="COMPLETED",
                start_time=datetime(2018, 7, 18, 13, 46, 38),
                stop_time=datetime(2018, 7, 18, 13, 47, 3),
                success_count=7,
                failure_count=0,
                counters=dict(DETAILS_74["counters"]),  # type: ignore[call-overload]
                configuration_id=4,
                file_id=6,
                file_uuid="f8d450cd-f065-4abb-a232-27cd20c48c2b",
            ),
            id="7.4",
        ),
        pytest.param(
            {
                "jobStatus": "ERROR",
                "startTime": "2012-07-06 18:19:09.0",
                "stopTime": None,
                "counters": {"SOMETHING_ODD": "n/a", "EXPORT_RECORDS": 12.0, "flag": True},
            },
            JobDetails(
                execution_id=9,
                status=JobStatus.ERROR,
                raw_status="ERROR",
                start_time=datetime(2012, 7, 6, 18, 19, 9),
                stop_time=None,
                success_count=None,
                failure_count=None,
                counters={"EXPORT_RECORDS": 12},
            ),
            id="error-junk-counters-dropped",
        ),
        pytest.param(
            {"jobStatus": "ERROR", "counters": None},
            JobDetails(9, JobStatus.ERROR, "ERROR", None, None, None, None),
            id="error-null-counters",
        ),
        pytest.param(
            {"jobStatus": "ERROR", "counters": ["IMPORT_RECORDS"]},
            JobDetails(9, JobStatus.ERROR, "ERROR", None, None, None, None),
            id="error-list-counters",
        ),
        pytest.param(
            {"jobStatus": "COMPLETED", "counters": {"EXPORT_RECORDS": 3, "EXPORT_BYTES": 300}},
            JobDetails(
                9,
                JobStatus.COMPLETED,
                "COMPLETED",
                None,
                None,
                None,
                None,
                counters={"EXPORT_RECORDS": 3, "EXPORT_BYTES": 300},
            ),
            id="export-counters",
        ),
    ],
)
def test_job_details(body: object, expected: JobDetails) -> None:
    assert responses.job_details(body, 9) == expected


def test_running_entries_may_lack_execution_id_and_estimate() -> None:
    body = [
        {
            "dapJobConfigurationId": 17,
            "estimateTime": "11 sec",
            "jobExecutionId": 37,
            "jobStatus": "RUNNING",
            "progress": 0,
            "startTime": "2011-05-19 22:35:39.0",
        },
        {
            "dapJobConfigurationId": 18,
            "jobStatus": "RUNNING",
            "progress": 0,
            "startTime": "2011-05-19 22:35:39.0",
        },
        {"dapJobConfigurationId": 19, "jobStatus": "WAITING_FOR_OTHER_JOB"},
    ]
    started = datetime(2011, 5, 19, 22, 35, 39)
    assert responses.running(body) == [
        RunningJob(17, 37, JobStatus.RUNNING, "RUNNING", started, 11.0, 0.0),
        RunningJob(18, None, JobStatus.RUNNING, "RUNNING", started, None, 0.0),
        RunningJob(
            19,
            None,
            JobStatus.WAITING_FOR_OTHER_JOB,
            "WAITING_FOR_OTHER_JOB",
            None,
            None,
            None,
        ),
    ]


# -- trigger, sequence, delete ---------------------------------------------------------


def test_trigger() -> None:
    body = {
        "status": "success",
        "job-execution-id": 11,
        "job-execution-user": "admin",
        "job-execution-trigger": "RESTAPI",
    }
    assert responses.trigger(body) == TriggerResult(11, "admin", "RESTAPI")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"job-execution-id": 5}, id="reference-key"),
        pytest.param({"id": 5}, id="id"),
        pytest.param({"jobExecutionId": 5}, id="camel"),
        pytest.param({"executionId": "5"}, id="digits"),
    ],
)
def test_legacy_trigger_accepts_plausible_keys(body: object) -> None:
    assert responses.legacy_trigger(body).execution_id == 5


def test_execution_plan() -> None:
    body = {
        "status": "success",
        "execution-plan": [
            {
                "job-configuration-name": "apache_log",
                "job-configuration-id": 3,
                "trigger": True,
                "job-execution-id": 16,
            },
            {
                "job-configuration-name": "categorization",
                "job-configuration-id": 4,
                "trigger": False,
            },
        ],
    }
    assert responses.execution_plan(body) == ExecutionPlan(
        (
            PlannedExecution("apache_log", 3, True, 16),
            PlannedExecution("categorization", 4, False, None),
        )
    )


@pytest.mark.parametrize(
    ("body", "deleted"),
    [
        pytest.param({"status": True}, True, id="marked-now"),
        pytest.param({"status": False}, False, id="already-marked"),
    ],
)
def test_delete_result(body: object, deleted: bool) -> None:
    assert responses.delete_result(body, 272) == DeleteResult(272, deleted)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            {"status": "failure", "reason": "Entity of type 'Data' with id '272' not found."},
            "Entity of type 'Data' with id '272' not found.",
            id="reason",
        ),
        pytest.param({"status": "failure"}, "the server gave no reason", id="no-reason"),
        pytest.param({"status": True}, None, id="delete-success"),
        pytest.param({"status": "success", "job-status": "_NONE"}, None, id="success"),
        pytest.param([], None, id="list"),
    ],
)
def test_failure_reason(body: object, reason: str | None) -> None:
    assert responses.failure_reason(body) == reason


# -- shapes the client must refuse -------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "body", "message"),
    [
        pytest.param(
            responses.execution_status, [], "expected a JSON object, got a list", id="v2-list"
        ),
        pytest.param(
            responses.execution_status, {"status": "success"}, "'job-status'", id="v2-no-status"
        ),
        pytest.param(
            responses.execution_status,
            {"job-status": 3},
            "'job-status' should be a status text, got a number 3",
            id="v2-status-number",
        ),
        pytest.param(
            responses.execution_status,
            {"job-status": "RUNNING", "job-execution-id": "three"},
            "'job-execution-id' should be an id",
            id="v2-id-text",
        ),
        pytest.param(
            responses.execution_status,
            {"job-status": "RUNNING", "job-execution-id": True},
            "'job-execution-id' should be an id",
            id="v2-id-bool",
        ),
        pytest.param(
            responses.execution_status,
            {"job-status": "RUNNING", "job-execution-user": 5},
            "'job-execution-user' should be text",
            id="v2-user-number",
        ),
        pytest.param(responses.history, {"id": 3}, "expected a JSON list", id="history-object"),
        pytest.param(responses.history, [{"jobStatus": "OK"}], "'id' is missing", id="history-id"),
        pytest.param(responses.history, [3], "expected a JSON object", id="history-item-number"),
        pytest.param(responses.running, "[]", "expected a JSON list, got text", id="running-text"),
        pytest.param(responses.trigger, {"status": "success"}, "is missing", id="trigger-no-id"),
        pytest.param(
            responses.trigger, {"job-execution-id": -1}, "should be an id", id="trigger-negative"
        ),
        pytest.param(responses.legacy_trigger, {}, "no execution id", id="legacy-no-id"),
        pytest.param(
            responses.execution_plan, {"status": "success"}, "is missing", id="plan-missing"
        ),
        pytest.param(
            responses.execution_plan,
            {"execution-plan": [{"job-configuration-id": 3, "trigger": "yes"}]},
            "'trigger' should be true or false",
            id="plan-trigger-text",
        ),
        pytest.param(
            responses.execution_plan,
            {"execution-plan": [{"trigger": True}]},
            "'job-configuration-id' is missing",
            id="plan-no-config",
        ),
    ],
)
def test_wrong_shapes_raise_shape_error(parse: object, body: object, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        parse(body)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        pytest.param(responses.configuration_status, [], id="v1-list"),
        pytest.param(responses.configuration_status, {"id": 3}, id="v1-no-status"),
        pytest.param(responses.job_details, {"jobStatus": 7}, id="details-number-status"),
        pytest.param(responses.job_details, "COMPLETED", id="details-text"),
        pytest.param(responses.delete_result, {"status": "true"}, id="delete-text"),
        pytest.param(responses.delete_result, [True], id="delete-list"),
    ],
)
def test_wrong_shapes_with_an_id_raise_shape_error(parse: object, body: object) -> None:
    with pytest.raises(ShapeError):
        parse(body, 1)  # type: ignore[operator]


def test_an_unknown_status_is_kept_printable() -> None:
    from runner.datameer.responses import configuration_status

    record = configuration_status({"id": 3, "jobStatus": "WEIRD\x1b[2J"}, 7)
    assert record.status.value == "UNKNOWN"
    assert record.raw_status == "WEIRD\\x1b[2J"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"jobStatus": None, "stopTime": "2012-07-06 18:19:09.0"}, id="null"),
        pytest.param({"stopTime": "2012-07-06 18:19:09.0"}, id="missing"),
    ],
)
def test_details_without_a_status_are_kept_as_unknown(body: dict[str, object]) -> None:
    details = responses.job_details(body, 7)
    assert details.status is JobStatus.UNKNOWN
    assert details.raw_status == "null"
    assert details.stop_time is not None


def test_odd_running_entries_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = [
        {"jobStatus": "RUNNING"},
        {"dapJobConfigurationId": 17, "jobStatus": "RUNNING", "jobExecutionId": 40},
        {"dapJobConfigurationId": "x", "jobStatus": "RUNNING"},
        {"dapJobConfigurationId": 18, "jobStatus": None},
        "garbage",
        {"dapJobConfigurationId": 19, "jobStatus": "QUEUED"},
    ]
    jobs = responses.running(body)
    assert [(job.configuration_id, job.execution_id) for job in jobs] == [(17, 40), (19, None)]
    skipped = [r.getMessage() for r in caplog.records if r.name == "runner.datameer.responses"]
    assert len(skipped) == 4
    assert "entry 0: 'dapJobConfigurationId' is missing" in skipped[0]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({"error": "index rebuilding"}, "index rebuilding", id="error"),
        pytest.param({"message": "maintenance"}, "maintenance", id="message"),
        pytest.param({"error": {"message": "nested"}}, "nested", id="nested"),
        pytest.param({"error": ""}, None, id="empty"),
        pytest.param({"job-status": 3}, None, id="no-words"),
        pytest.param(["error"], None, id="list"),
    ],
)
def test_server_message(body: object, words: str | None) -> None:
    assert responses.server_message(body) == words
