"""DatameerClient over real HTTP: the emulator for the API, tiny canned servers for the rest.

The emulator reproduces every example answer of the reference; what it cannot
produce (HTML on a 200, truncated JSON, 403, redirects, TLS, huge bodies, slow
answers) comes from ``CannedServer``, a throwaway loopback server of this file.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.datameer import client as client_module
from runner.datameer.client import DatameerClient, Timeout
from runner.datameer.records import (
    ConfigurationStatus,
    DeleteResult,
    ExecutionPlan,
    HistoryEntry,
    PlannedExecution,
)
from runner.datameer.status import JobStatus
from runner.emulator import EmulatorServer
from runner.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    EndpointUnavailableError,
    MalformedResponseError,
    MissingPasswordError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    UnreadableAnswerError,
    UsageError,
)
from runner.model import ServerSettings
from runner.reference import JobRef, RefKind
from testing.certs import make_certificate, openssl_available
from testing.environment import closed_port_url

USER, PASSWORD = "admin", "admin"
SALES = "/Analytics/Sales categorization"
UUID = "f8d450cd-f065-4abb-a232-27cd20c48c2b"

# -- emulator fixtures ------------------------------------------------------------------


def scenario(*artifacts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A scenario on a manual clock: nothing moves unless a test advances it."""
    return {
        "version": "7.5.2",
        "clock": "manual",
        "users": {
            USER: {"password": PASSWORD},
            "analyst": {"password": "analyst", "can": [48, "/Analytics/*"]},
        },
        "artifacts": list(artifacts),
        **extra,
    }


def sales(**extra: Any) -> dict[str, Any]:
    """The reference's workbook 48 with a path containing a space."""
    return {
        "file_id": 48,
        "configuration_id": 12,
        "path": SALES,
        "uuid": UUID,
        "duration": 20,
        "queue_time": 2,
        **extra,
    }


# -- the reference's examples, through the emulator -------------------------------------


# First against examples/emulator/reference.yaml (the shared ``emulator`` fixture), with
# the reference's own ids; then against small scenarios that isolate one shape each.


@pytest.mark.parametrize(
    ("configuration_id", "expected"),
    [
        pytest.param(49, ConfigurationStatus(49, JobStatus.RUNNING, "RUNNING", 49), id="running"),
        pytest.param(
            30, ConfigurationStatus(30, JobStatus.COMPLETED, "COMPLETED", 30), id="completed"
        ),
        pytest.param(
            32,
            ConfigurationStatus(
                32, JobStatus.COMPLETED_WITH_WARNINGS, "COMPLETED_WITH_Warnings", 32
            ),
            id="completed-with-warnings",
        ),
        pytest.param(36, ConfigurationStatus(36, JobStatus.ERROR, "ERROR", 36), id="error"),
        pytest.param(39, ConfigurationStatus(39, JobStatus.CANCELED, "CANCELED", 39), id="cancel"),
        pytest.param(13, ConfigurationStatus(13, JobStatus.NEVER_RAN, ""), id="never-triggered"),
    ],
)
def test_reference_v1_status_examples(
    emulator: EmulatorServer,
    connect: Callable[..., DatameerClient],
    configuration_id: int,
    expected: ConfigurationStatus,
) -> None:
    assert connect(emulator.url).job_status(configuration_id) == expected


def test_reference_v2_status_trigger_and_stop_examples(
    emulator: EmulatorServer, connect: Callable[..., DatameerClient]
) -> None:
    analyst = connect(emulator.url, user="analyst", password="analyst")
    ref = JobRef.parse(48)
    assert analyst.execution_status(ref).raw_status == "_NONE"
    triggered = analyst.trigger(ref)
    assert (triggered.user, triggered.trigger) == ("analyst", "RESTAPI")
    queued = analyst.execution_status(ref)
    assert (queued.status, queued.execution_id, queued.start_time) == (
        JobStatus.QUEUED,
        triggered.execution_id,
        None,
    )
    emulator.clock.advance(2)
    running = analyst.execution_status(ref)
    assert (running.status, running.file_id) == (JobStatus.RUNNING, 48)
    assert running.estimate_seconds is not None
    assert running.progress is not None
    emulator.clock.advance(20)
    completed = analyst.execution_status(ref)
    assert completed.status is JobStatus.COMPLETED
    assert completed.stop_time is not None
    analyst.trigger(ref)
    analyst.stop(ref)
    canceled = analyst.execution_status(ref)
    assert (canceled.status, canceled.start_time) == (JobStatus.CANCELED, None)
    analyst.trigger(JobRef.parse(46))
    emulator.clock.advance(10)
    warned = analyst.execution_status(JobRef.parse("/Analytics/Customer segments.wbk"))
    assert warned.raw_status == "COMPLETED_WITH_WARNINGS"


def test_reference_history_running_and_failure_examples(
    emulator: EmulatorServer, connect: Callable[..., DatameerClient]
) -> None:
    api = connect(emulator.url)
    assert [entry.execution_id for entry in api.job_history(30)] == [30, 27, 23]
    running = {(job.configuration_id, job.execution_id) for job in api.list_running()}
    assert {(17, 37), (20, 38), (18, None), (49, 49)} <= running
    estimates = {job.configuration_id: job.estimate_seconds for job in api.list_running()}
    assert estimates[20] is None
    guest = connect(emulator.url, user="guest", password="guest")
    with pytest.raises(NotFoundError, match="File doesn't exist or isn't accessible"):
        guest.execution_status(JobRef.parse(48))


def test_reference_details_sequence_and_delete_examples(
    emulator: EmulatorServer, connect: Callable[..., DatameerClient]
) -> None:
    api = connect(emulator.url)
    plan = api.trigger_sequence([4], {"foo": "fooValue"})
    assert [(s.configuration_name, s.configuration_id) for s in plan.steps] == [
        ("apache_log", 3),
        ("categorization", 4),
    ]
    emulator.clock.advance(60)
    details = api.job_details(plan.steps[1].execution_id or 0)
    assert (details.configuration_id, details.file_id, details.file_uuid) == (4, 6, UUID)
    assert details.counters == {
        "IMPORT_RECORDS": 7,
        "IMPORT_PREVIEW_RECORDS": 7,
        "IMPORT_OUTPUT_BYTES": 4167,
        "IMPORT_DROPPED_SPLITS": 0,
        "IMPORT_DROPPED_RECORDS": 0,
    }
    error = api.job_details(36)
    assert (error.status, error.counters) == (JobStatus.ERROR, {"TASK_FAILURES": 3})
    assert api.delete_data(272).deleted is True
    assert api.delete_data(272).deleted is False
    with pytest.raises(NotFoundError, match=r"Entity of type 'Data' with id '273' not found\."):
        api.delete_data(273)


@pytest.mark.parametrize(
    ("history", "status", "raw", "execution_id"),
    [
        pytest.param(
            [{"status": "RUNNING", "id": 49, "ago": 5, "duration": 60}],
            JobStatus.RUNNING,
            "RUNNING",
            49,
            id="running",
        ),
        pytest.param([{"status": "COMPLETED", "id": 30}], JobStatus.COMPLETED, "COMPLETED", 30),
        pytest.param(
            [{"status": "COMPLETED_WITH_WARNINGS", "id": 32}],
            JobStatus.COMPLETED_WITH_WARNINGS,
            "COMPLETED_WITH_Warnings",
            32,
            id="warnings-v1-spelling",
        ),
        pytest.param([{"status": "ERROR", "id": 36}], JobStatus.ERROR, "ERROR", 36, id="error"),
        pytest.param(
            [{"status": "CANCELED", "id": 39}], JobStatus.CANCELED, "CANCELED", 39, id="canceled"
        ),
        pytest.param([], JobStatus.NEVER_RAN, "", None, id="never-triggered-empty-object"),
    ],
)
def test_job_status_v1(
    make_emulator: Callable[..., EmulatorServer],
    connect: Callable[..., DatameerClient],
    history: list[dict[str, Any]],
    status: JobStatus,
    raw: str,
    execution_id: int | None,
) -> None:
    server = make_emulator(scenario(sales(history=history)))
    assert connect(server.url).job_status(12) == ConfigurationStatus(
        12, status, raw, execution_id=execution_id
    )


@pytest.mark.parametrize(
    ("history", "status", "raw", "times", "progress"),
    [
        pytest.param([], JobStatus.NEVER_RAN, "_NONE", (False, False), False, id="never-run"),
        pytest.param(
            [{"status": "RUNNING", "ago": 5, "duration": 60}],
            JobStatus.RUNNING,
            "RUNNING",
            (True, False),
            True,
            id="running",
        ),
        pytest.param(
            [{"status": "COMPLETED"}],
            JobStatus.COMPLETED,
            "COMPLETED",
            (True, True),
            False,
            id="completed",
        ),
        pytest.param(
            [{"status": "COMPLETED_WITH_WARNINGS"}],
            JobStatus.COMPLETED_WITH_WARNINGS,
            "COMPLETED_WITH_WARNINGS",
            (True, True),
            False,
            id="warnings-v2-spelling",
        ),
        pytest.param(
            [{"status": "QUEUED"}], JobStatus.QUEUED, "QUEUED", (False, False), False, id="queued"
        ),
        pytest.param(
            [{"status": "CANCELED"}],
            JobStatus.CANCELED,
            "CANCELED",
            (True, True),
            False,
            id="canceled-after-start",
        ),
    ],
)
def test_job_status_v2(
    make_emulator: Callable[..., EmulatorServer],
    connect: Callable[..., DatameerClient],
    history: list[dict[str, Any]],
    status: JobStatus,
    raw: str,
    times: tuple[bool, bool],
    progress: bool,
) -> None:
    server = make_emulator(scenario(sales(history=history)))
    got = connect(server.url).execution_status(JobRef.parse(48))
    assert (got.status, got.raw_status) == (status, raw)
    assert (got.start_time is not None, got.stop_time is not None) == times
    assert (got.progress is not None, got.estimate_seconds is not None) == (progress, progress)
    assert got.file_id == (None if status is JobStatus.NEVER_RAN else 48)


def test_status_v2_of_a_job_canceled_while_queued(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales()))
    api = connect(server.url)
    execution_id = api.trigger(JobRef.parse(48)).execution_id
    api.stop(JobRef.parse(48))
    got = api.execution_status(JobRef.parse(48))
    assert (got.status, got.execution_id, got.start_time) == (
        JobStatus.CANCELED,
        execution_id,
        None,
    )
    assert got.stop_time is not None


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("48", id="file-id"),
        pytest.param(UUID, id="uuid"),
        pytest.param(SALES, id="path-with-space"),
        pytest.param(SALES.lstrip("/"), id="path-without-leading-slash"),
    ],
)
def test_status_by_every_kind_of_reference(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient], ref: str
) -> None:
    server = make_emulator(scenario(sales(history=[{"status": "COMPLETED", "id": 30}])))
    got = connect(server.url).execution_status(JobRef.parse(ref))
    assert (got.file_id, got.execution_id, got.status) == (48, 30, JobStatus.COMPLETED)


def test_job_history_is_newest_first_and_pages(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    runs = [{"status": "COMPLETED", "id": n} for n in (23, 27)] + [{"status": "ERROR", "id": 30}]
    server = make_emulator(scenario(sales(history=runs), {"file_id": 9}))
    api = connect(server.url)
    assert api.job_history(12) == [
        HistoryEntry(30, JobStatus.ERROR, "ERROR"),
        HistoryEntry(27, JobStatus.COMPLETED, "COMPLETED"),
        HistoryEntry(23, JobStatus.COMPLETED, "COMPLETED"),
    ]
    assert [entry.execution_id for entry in api.job_history(12, start=1, length=1)] == [27]
    assert api.job_history(1009) == []


IMPORT_COUNTERS = {
    "IMPORT_RECORDS": 494400,
    "IMPORT_BYTES": 23911522,
    "IMPORT_DROPPED_RECORDS": 0,
    "IMPORT_PREVIEW_RECORDS": 5000,
    "IMPORT_OUTPUT_BYTES": 24444883,
    "IMPORT_DROPPED_SPLITS": 0,
    "IMPORT_OUTPUT_PARTITIONS": 0,
}


@pytest.mark.parametrize(
    ("version", "configuration_id", "file_id", "uuid"),
    [
        pytest.param("7.2.5", None, None, None, id="pre-7.4-shape"),
        pytest.param("7.4", 12, 48, UUID, id="7.4-shape"),
    ],
)
def test_job_details_both_shapes(
    make_emulator: Callable[..., EmulatorServer],
    connect: Callable[..., DatameerClient],
    version: str,
    configuration_id: int | None,
    file_id: int | None,
    uuid: str | None,
) -> None:
    history = [{"status": "COMPLETED", "id": 30, "duration": 118, "counters": IMPORT_COUNTERS}]
    server = make_emulator(scenario(sales(kind="import_job", history=history), version=version))
    details = connect(server.url).job_details(30)
    assert (details.execution_id, details.status, details.counters) == (
        30,
        JobStatus.COMPLETED,
        IMPORT_COUNTERS,
    )
    assert (details.configuration_id, details.file_id, details.file_uuid) == (
        configuration_id,
        file_id,
        uuid,
    )
    assert details.start_time is not None
    assert details.stop_time is not None
    assert (details.stop_time - details.start_time).total_seconds() == 118


def test_job_details_of_an_error_run_with_odd_counters(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    history = [{"status": "ERROR", "id": 36, "counters": {"MAP_TASKS_FAILED": 3}}]
    server = make_emulator(scenario(sales(history=history), {"file_id": 9, "kind": "export_job"}))
    api = connect(server.url)
    details = api.job_details(36)
    assert (details.status, details.counters) == (JobStatus.ERROR, {"MAP_TASKS_FAILED": 3})
    api.trigger(JobRef.parse(9))
    server.clock.advance(30)
    exported = api.job_details(api.execution_status(JobRef.parse(9)).execution_id or 0)
    assert {"EXPORT_RECORDS", "EXPORT_DROPPED_RECORDS", "EXPORT_BYTES"} <= set(exported.counters)


def test_list_running_entries_may_lack_ids_and_estimates(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    bare = {
        "file_id": 18,
        "duration": 20,
        "list_running": {"execution_id": False, "estimate": False},
    }
    server = make_emulator(scenario(sales(), bare))
    api = connect(server.url)
    assert api.list_running() == []
    triggered = api.trigger(JobRef.parse(48)).execution_id
    api.trigger(JobRef.parse(18))
    server.clock.advance(5)
    entries = {entry.configuration_id: entry for entry in api.list_running()}
    assert set(entries) == {12, 1018}
    full, anonymous = entries[12], entries[1018]
    assert (full.execution_id, full.status) == (triggered, JobStatus.RUNNING)
    assert full.estimate_seconds is not None
    assert full.start_time is not None
    assert (anonymous.execution_id, anonymous.estimate_seconds) == (None, None)
    assert anonymous.status is JobStatus.RUNNING


def test_trigger(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales()))
    result = connect(server.url).trigger(JobRef.parse(SALES))
    assert (result.user, result.trigger) == (USER, "RESTAPI")
    [entry] = server.ledger.triggers()
    assert (entry.file_id, entry.execution_id) == (48, result.execution_id)


def test_trigger_sequence_with_variables(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(
        scenario(
            {"file_id": 3, "configuration_id": 3, "name": "apache_log", "downstream": [4]},
            {"file_id": 4, "configuration_id": 4, "name": "categorization"},
        )
    )
    plan = connect(server.url).trigger_sequence([3], {"foo": "fooValue"})
    assert [(s.configuration_name, s.configuration_id, s.triggered) for s in plan.steps] == [
        ("apache_log", 3, True),
        ("categorization", 4, True),
    ]
    assert all(step.execution_id is not None for step in plan.steps)
    assert [(e.action, e.execution_id, dict(e.variables)) for e in server.ledger.entries()] == [
        ("sequence", step.execution_id, {"foo": "fooValue"}) for step in plan.steps
    ]


def test_stop_answers_with_no_body(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales()))
    api = connect(server.url)
    api.trigger(JobRef.parse(48))
    server.clock.advance(5)
    assert api.stop(JobRef.parse(UUID)) is None  # type: ignore[func-returns-value]
    assert api.execution_status(JobRef.parse(48)).status is JobStatus.CANCELED
    [stop] = server.ledger.stops()
    assert stop.effective


def test_delete_gives_each_of_the_three_answers(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales(data_id=272)))
    api = connect(server.url)
    assert api.delete_data(272) == DeleteResult(272, deleted=True)
    assert api.delete_data(272) == DeleteResult(272, deleted=False)
    with pytest.raises(NotFoundError, match=r"Entity of type 'Data' with id '273' not found\."):
        api.delete_data(273)


def test_failure_body_becomes_not_found_with_the_servers_reason(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales()))
    with pytest.raises(NotFoundError) as raised:
        connect(server.url).execution_status(JobRef.parse("/Analytics/Nothing here"))
    assert str(raised.value) == (
        "job status v2 for /Analytics/Nothing here failed (HTTP 404): File doesn't exist or "
        "isn't accessible with current permissions "
        f"[{server.url}/api/job-execution/Analytics/Nothing+here/status]"
    )
    assert raised.value.exit_code == 2


def test_legacy_trigger_and_stop(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales(), version="7.2.5", api_v2=False))
    api = connect(server.url)
    execution_id = api.trigger_legacy(12).execution_id
    server.clock.advance(5)
    api.stop_legacy(execution_id)
    assert [e.action for e in server.ledger.entries()] == ["legacy_trigger", "legacy_stop"]
    assert api.job_status(12) == ConfigurationStatus(
        12, JobStatus.CANCELED, "CANCELED", execution_id=execution_id
    )


def test_status_lag_is_reported_as_the_server_says(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    history = [{"status": "COMPLETED", "id": 30}]
    server = make_emulator(scenario(sales(history=history), status_lag=5))
    api = connect(server.url)
    triggered = api.trigger(JobRef.parse(48)).execution_id
    lagging = api.execution_status(JobRef.parse(48))
    assert (lagging.execution_id, lagging.status) == (30, JobStatus.COMPLETED)
    server.clock.advance(6)
    assert api.execution_status(JobRef.parse(48)).execution_id == triggered


# -- errors the emulator produces ---------------------------------------------------------


def test_wrong_password_is_an_authentication_error_without_the_password(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales()))
    with pytest.raises(AuthenticationError) as raised:
        connect(server.url, password="not-the-password").list_running()
    assert raised.value.status_code == 401
    assert raised.value.exit_code == 3
    assert "refused the credentials of user 'admin'" in str(raised.value)
    assert "not-the-password" not in str(raised.value)
    assert server.stats()["total"] == 1  # a 401 is never retried


def test_missing_credentials_say_where_to_put_them(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales()))
    with pytest.raises(AuthenticationError, match="set DATAMEER_USER and DATAMEER_PASSWORD"):
        connect(server.url, user=None, password=None).job_status(12)


def test_a_user_without_permission_sees_not_found_and_triggers_nothing(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales(), {"file_id": 46, "path": "/Finance/Ledger"}))
    analyst = connect(server.url, user="analyst", password="analyst")
    assert analyst.execution_status(JobRef.parse(48)).status is JobStatus.NEVER_RAN
    with pytest.raises(NotFoundError, match="isn't accessible with current permissions"):
        analyst.trigger(JobRef.parse("/Finance/Ledger"))
    # The emulator notes the refused attempt; nothing started.
    assert [(e.effective, e.execution_id) for e in server.ledger.triggers()] == [(False, None)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda api: api.execution_status(JobRef.parse("/No/Such thing")),
            "job status v2 for /No/Such thing failed",
            id="v2-status-path",
        ),
        pytest.param(
            lambda api: api.trigger(JobRef.parse("00000000-0000-0000-0000-000000000000")),
            "trigger of uuid 00000000-0000-0000-0000-000000000000 failed",
            id="trigger-uuid",
        ),
        pytest.param(
            lambda api: api.stop(JobRef.parse(99)), "stop of file 99 failed", id="stop-file-id"
        ),
        pytest.param(
            lambda api: api.job_status(999),
            "job status v1 for configuration 999 failed",
            id="v1-status",
        ),
        pytest.param(
            lambda api: api.job_history(999),
            "job history of configuration 999 failed",
            id="history",
        ),
        pytest.param(
            lambda api: api.job_details(999),
            "job details of execution 999 failed",
            id="details",
        ),
        pytest.param(
            lambda api: api.trigger_legacy(999),
            "legacy trigger of configuration 999 failed",
            id="legacy-trigger",
        ),
        pytest.param(
            lambda api: api.stop_legacy(999),
            "legacy stop of execution 999 failed",
            id="legacy-stop",
        ),
    ],
)
def test_unknown_references_are_not_found(
    make_emulator: Callable[..., EmulatorServer],
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    message: str,
) -> None:
    server = make_emulator(scenario(sales()))
    with pytest.raises(NotFoundError) as raised:
        call(connect(server.url))
    assert not isinstance(raised.value, EndpointUnavailableError)
    assert str(raised.value).startswith(message)
    assert f"[{server.url}/" in str(raised.value)


@pytest.mark.parametrize(
    ("version", "api_v2", "call", "needs"),
    [
        pytest.param(
            "7.4",
            True,
            lambda api: api.trigger_sequence([48], {"a": "1"}),
            "the sequential trigger needs Datameer 7.5.2+",
            id="sequence-on-7.4",
        ),
        pytest.param(
            "7.2.5",
            True,
            lambda api: api.trigger_sequence([48]),
            "the sequential trigger needs Datameer 7.5.2+",
            id="sequence-on-7.2.5",
        ),
        pytest.param(
            "7.5.2",
            False,
            lambda api: api.execution_status(JobRef.parse(48)),
            "needs Datameer 7.2.5+ or the REST v2 plugin; try the legacy call: "
            "dmpipe job status --v1",
            id="status-v2-without-plugin",
        ),
        pytest.param(
            "7.5.2",
            False,
            lambda api: api.trigger(JobRef.parse(48)),
            "needs Datameer 7.2.5+ or the REST v2 plugin; try the legacy call: "
            "dmpipe job trigger --legacy",
            id="trigger-without-plugin",
        ),
        pytest.param(
            "7.5.2",
            False,
            lambda api: api.stop(JobRef.parse(48)),
            "dmpipe job stop --legacy",
            id="stop-without-plugin",
        ),
    ],
)
def test_missing_endpoints_say_which_version_they_need(
    make_emulator: Callable[..., EmulatorServer],
    connect: Callable[..., DatameerClient],
    version: str,
    api_v2: bool,
    call: Callable[[DatameerClient], object],
    needs: str,
) -> None:
    server = make_emulator(scenario(sales(), version=version, api_v2=api_v2))
    with pytest.raises(EndpointUnavailableError, match="the server has no such endpoint") as raised:
        call(connect(server.url))
    assert needs in str(raised.value)
    assert server.ledger.entries() == []


def test_gets_are_retried_on_5xx_then_raise_server_error(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales(), faults={"error_rate": 1.0, "error_status": 503}))
    with pytest.raises(ServerError) as raised:
        connect(server.url, retries=2).list_running()
    assert raised.value.status_code == 503
    assert "Injected fault" in str(raised.value)
    assert server.stats()["total"] == 3


def test_a_trigger_answered_5xx_is_never_resent(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales(), faults={"error_rate": 1.0}))
    with pytest.raises(ServerError):
        connect(server.url, retries=5).trigger(JobRef.parse(48))
    assert server.stats()["total"] == 1
    assert server.ledger.triggers() == []


@pytest.mark.parametrize(
    ("fault", "counter"),
    [
        pytest.param({"error_rate": 0.4}, "fault:error", id="5xx"),
        pytest.param({"drop_rate": 0.4}, "fault:drop", id="dropped-connections"),
    ],
)
def test_gets_recover_from_faults(
    make_emulator: Callable[..., EmulatorServer],
    connect: Callable[..., DatameerClient],
    fault: dict[str, float],
    counter: str,
) -> None:
    server = make_emulator(scenario(sales(history=[{"status": "COMPLETED", "id": 30}])))
    api = connect(server.url, retries=10)
    server.set_faults({"seed": 11, **fault})
    statuses = [api.execution_status(JobRef.parse(48)).execution_id for _ in range(15)]
    assert statuses == [30] * 15
    stats = server.stats()
    assert stats[counter] > 0
    assert stats["total"] == 15 + stats[counter]


def test_lost_trigger_answer_is_an_unknown_outcome_and_never_resent(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(
        scenario(sales(), faults={"lost_trigger_rate": 1.0, "paths": ["*/trigger"]})
    )
    api = connect(server.url, retries=5)
    with pytest.raises(OutcomeUnknownError) as raised:
        api.trigger(JobRef.parse(SALES))
    message = str(raised.value)
    assert "it may have started a job: check its status before triggering again" in message
    assert message.count("/Analytics/Sales categorization") == 1  # the call names it, once
    assert raised.value.exit_code == 3
    [entry] = server.ledger.triggers()
    assert entry.response_lost
    assert api.execution_status(JobRef.parse(48)).execution_id == entry.execution_id


def test_a_trigger_whose_connection_dropped_is_an_unknown_outcome(
    make_emulator: Callable[..., EmulatorServer], connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(sales(), faults={"drop_rate": 1.0}))
    with pytest.raises(OutcomeUnknownError):
        connect(server.url, retries=5).trigger(JobRef.parse(48))
    assert server.stats()["total"] == 1


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda api: api.list_running(), id="get"),
        pytest.param(lambda api: api.trigger(JobRef.parse(48)), id="post-nothing-sent"),
    ],
)
def test_connection_refused(
    connect: Callable[..., DatameerClient], call: Callable[[DatameerClient], object]
) -> None:
    with pytest.raises(ConnectionFailedError, match="connection refused") as raised:
        call(connect(closed_port_url(), retries=1))
    assert raised.value.exit_code == 3


# -- answers only a canned server gives --------------------------------------------------


@dataclass(frozen=True)
class Canned:
    """One scripted answer; ``drop`` closes the connection without any."""

    status: int = 200
    body: str | bytes = ""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    drop: bool = False
    delay: float = 0.0
    length: bool = True  # send Content-Length (False: the body ends when the connection does)


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None
    body: bytes


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up early (read timeouts) is expected here."""


@dataclass
class CannedServer:
    """A throwaway loopback server answering from a script; the last answer repeats."""

    answers: tuple[Canned, ...]
    tls: ssl.SSLContext | None = None
    host: str = "127.0.0.1"
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.answer(self)

            def do_POST(self) -> None:
                owner.answer(self)

            def do_DELETE(self) -> None:
                owner.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.httpd.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.seen.append(
            Seen(handler.command, handler.path, handler.headers.get("Authorization"), body)
        )
        canned = self.answers[min(len(self.seen), len(self.answers)) - 1]
        if canned.delay:
            self.release.wait(canned.delay)
        if canned.drop:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = canned.body.encode() if isinstance(canned.body, str) else canned.body
        handler.send_response(canned.status)
        for name, value in canned.headers:
            handler.send_header(name, value)
        if canned.length and not any(name == "Content-Length" for name, _ in canned.headers):
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def canned() -> Iterator[Callable[..., CannedServer]]:
    servers: list[CannedServer] = []

    def start(*answers: Canned, **kw: Any) -> CannedServer:
        server = CannedServer(answers, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


HTML = (("Content-Type", "text/html"),)
LOGIN_PAGE = "<html><head><title>Login</title></head><body>Sign in</body></html>"


@pytest.mark.parametrize(
    ("answer", "call", "kind", "message"),
    [
        pytest.param(
            Canned(body='{"status": "success", "job-status": '),
            lambda api: api.execution_status(JobRef.parse(48)),
            UnreadableAnswerError,
            "job status v2 for file 48 failed: the answer is not JSON: "
            '\'{"status": "success", "job-status":\'',
            id="truncated-json",
        ),
        pytest.param(
            Canned(body=LOGIN_PAGE, headers=HTML),
            lambda api: api.list_running(),
            UnreadableAnswerError,
            "list of running jobs failed: the answer is not JSON: '<html><head><title>Login",
            id="html-login-page",
        ),
        pytest.param(
            Canned(body="\x00\xff garbage \x1b[2J"),
            lambda api: api.list_running(),
            UnreadableAnswerError,
            "list of running jobs failed: the answer is not JSON",
            id="garbage",
        ),
        pytest.param(
            Canned(body=""),
            lambda api: api.job_status(12),
            UnreadableAnswerError,
            "job status v1 for configuration 12 failed: the answer is not JSON: an empty answer",
            id="empty-body",
        ),
        pytest.param(
            Canned(body='[{"id": 30, "jobStatus": "COMPLETED"}]'),
            lambda api: api.job_details(30),
            UnreadableAnswerError,
            "job details of execution 30 failed: unexpected answer: expected a JSON object, "
            "got a list",
            id="list-where-object-belongs",
        ),
        pytest.param(
            Canned(body='{"id": 30, "jobStatus": "COMPLETED"}'),
            lambda api: api.job_history(12),
            UnreadableAnswerError,
            "job history of configuration 12 failed: unexpected answer: expected a JSON list",
            id="object-where-list-belongs",
        ),
        pytest.param(
            Canned(body='{"jobs": []}'),
            lambda api: api.list_running(),
            UnreadableAnswerError,
            "list of running jobs failed: unexpected answer: expected a JSON list",
            id="running-wrong-shape",
        ),
        pytest.param(
            Canned(body='{"error": "Lucene index is rebuilding, try later"}'),
            lambda api: api.list_running(),
            UnreadableAnswerError,
            "list of running jobs failed: the server says: Lucene index is rebuilding, try later",
            id="running-error-object",
        ),
        pytest.param(
            Canned(body='{"message": "maintenance until 02:00"}'),
            lambda api: api.execution_status(JobRef.parse(48)),
            UnreadableAnswerError,
            "failed: the server says: maintenance until 02:00",
            id="status-message-object",
        ),
        pytest.param(
            Canned(body='{"status": "success", "job-execution-id": "eleven"}'),
            lambda api: api.trigger(JobRef.parse(48)),
            OutcomeUnknownError,
            "trigger of file 48 failed: the server said yes but unexpected answer: "
            "'job-execution-id' should be an id",
            id="trigger-wrong-type",
        ),
        pytest.param(
            Canned(body=LOGIN_PAGE, headers=HTML),
            lambda api: api.stop(JobRef.parse(48)),
            MalformedResponseError,
            "stop of file 48 failed: the answer is not JSON",
            id="stop-html",
        ),
        pytest.param(
            Canned(body='{"status": "maybe"}'),
            lambda api: api.delete_data(7),
            MalformedResponseError,
            "delete of data 7 failed: unexpected answer: 'status' should be true or false",
            id="delete-wrong-shape",
        ),
    ],
)
def test_unreadable_answers(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    answer: Canned,
    call: Callable[[DatameerClient], object],
    kind: type[ApiError],
    message: str,
) -> None:
    # A read answered with something unreadable is transient (read again later); a trigger
    # may have started a job; a stop or delete is simply malformed.
    server = canned(answer)
    with pytest.raises(ApiError) as raised:
        call(connect(server.url))
    assert type(raised.value) is kind
    assert message in str(raised.value)
    assert str(raised.value).endswith(f"{server.seen[0].path}]")
    assert raised.value.exit_code == 3
    assert len(server.seen) == 1, "a 2xx answer is never re-requested by the client"


def test_a_stop_may_answer_nothing_or_an_empty_object(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    server = canned(Canned(body=""), Canned(body="{}"))
    api = connect(server.url)
    api.stop(JobRef.parse(48))
    api.stop(JobRef.parse(48))
    assert [seen.method for seen in server.seen] == ["POST", "POST"]


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        pytest.param(
            lambda api: api.execution_status(JobRef.parse(48)),
            EndpointUnavailableError,
            id="api-endpoint",
        ),
        pytest.param(lambda api: api.job_details(30), NotFoundError, id="rest-endpoint"),
    ],
)
def test_servlet_404_pages(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    kind: type[ApiError],
) -> None:
    server = canned(Canned(404, "<html><body>HTTP ERROR 404</body></html>", HTML))
    with pytest.raises(NotFoundError) as raised:
        call(connect(server.url))
    assert type(raised.value) is kind


@pytest.mark.parametrize(
    ("answer", "kind", "message"),
    [
        pytest.param(
            Canned(403, '{"status": "failure", "reason": "Permission denied for analyst"}'),
            AuthenticationError,
            "failed (HTTP 403): Permission denied for analyst",
            id="403-with-reason",
        ),
        pytest.param(
            Canned(403, LOGIN_PAGE, HTML),
            AuthenticationError,
            "failed (HTTP 403): user 'admin' is not allowed to do this",
            id="403-html",
        ),
        pytest.param(
            Canned(200, '{"status": "failure", "reason": "Artifact does not exist"}'),
            NotFoundError,
            "failed: Artifact does not exist",
            id="failure-body-not-found",
        ),
        pytest.param(
            Canned(200, '{"status": "failure", "reason": "Job is already running"}'),
            ApiError,
            "failed: Job is already running",
            id="failure-body-other",
        ),
        pytest.param(
            Canned(400, '{"status": "failure", "reason": "Bad file id"}'),
            ApiError,
            "failed (HTTP 400): Bad file id",
            id="400-with-reason",
        ),
        pytest.param(
            Canned(409, "Conflict", (("Content-Type", "text/plain"),)),
            ApiError,
            "failed (HTTP 409): 'Conflict'",
            id="409-text",
        ),
        pytest.param(
            Canned(502, LOGIN_PAGE, HTML),
            ServerError,
            "failed (HTTP 502): the server failed",
            id="502-html",
        ),
    ],
)
def test_failure_answers(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    answer: Canned,
    kind: type[ApiError],
    message: str,
) -> None:
    server = canned(answer)
    with pytest.raises(ApiError) as raised:
        connect(server.url, retries=0).trigger(JobRef.parse(48))
    assert type(raised.value) is kind
    assert message in str(raised.value)


def test_retry_after_is_honoured_and_the_get_recovers(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    busy = Canned(503, '{"status": "failure", "reason": "busy"}', (("Retry-After", "0"),))
    server = canned(busy, Canned(body="[]"))
    assert connect(server.url).list_running() == []
    assert len(server.seen) == 2


def test_gets_recover_from_a_dropped_connection(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    server = canned(Canned(drop=True), Canned(drop=True), Canned(body="[]"))
    assert connect(server.url).list_running() == []
    assert len(server.seen) == 3


def test_deletes_are_retried_like_gets(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    server = canned(Canned(drop=True), Canned(body='{"status": false}'))
    assert connect(server.url).delete_data(272) == DeleteResult(272, deleted=False)
    assert [seen.method for seen in server.seen] == ["DELETE", "DELETE"]


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        pytest.param(
            lambda api: api.list_running(),
            ConnectionFailedError,
            "no answer within 0.05s",
            id="get",
        ),
        pytest.param(
            lambda api: api.trigger(JobRef.parse(48)),
            OutcomeUnknownError,
            "may have started a job",
            id="trigger",
        ),
        pytest.param(
            lambda api: api.trigger_sequence([3]),
            OutcomeUnknownError,
            "sequential trigger of file 3 failed.*; it may have started jobs: check their status",
            id="sequence",
        ),
        pytest.param(
            lambda api: api.stop(JobRef.parse(48)),
            OutcomeUnknownError,
            "stop of file 48 failed.*; it may have been done: check the job's status",
            id="stop",
        ),
    ],
)
def test_read_timeouts(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    kind: type[ApiError],
    message: str,
) -> None:
    server = canned(Canned(body="[]", delay=30))
    api = connect(server.url, timeout=Timeout(connect=1.0, read=0.05), retries=1)
    with pytest.raises(kind, match=message):
        call(api)
    expected_requests = 2 if kind is ConnectionFailedError else 1
    assert len(server.seen) == expected_requests


def test_bodies_over_the_cap_are_refused(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = Canned(headers=(("Content-Length", str(11 * 1024 * 1024)),), body="")
    server = canned(declared)
    with pytest.raises(UnreadableAnswerError, match="larger than 10 MB"):
        connect(server.url).list_running()
    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1000)
    streamed = canned(Canned(body="[" + "0," * 2000 + "0]", length=False))
    with pytest.raises(UnreadableAnswerError, match="the answer is larger than"):
        connect(streamed.url).list_running()


def test_redirects_are_not_followed(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    elsewhere = canned(Canned(body="[]"), host="localhost")
    target = elsewhere.url.replace("://", "://admin:leaked@") + "/rest/jobs/list-running"
    server = canned(Canned(302, headers=(("Location", target),)))
    with pytest.raises(ApiError, match="redirects to http://localhost:") as raised:
        connect(server.url).list_running()
    assert "leaked" not in str(raised.value)
    assert elsewhere.seen == []


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        pytest.param("http://admin:leaked@[::1", "(not a valid URL)", id="unbalanced-bracket"),
        pytest.param(
            "http://admin:le@ked@[::1]:99999/x?t=leaked", "http://[::1]:99999/x", id="ipv6"
        ),
    ],
)
def test_a_redirect_to_a_broken_url_is_an_api_error(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    location: str,
    shown: str,
) -> None:
    server = canned(Canned(302, headers=(("Location", location),)))
    with pytest.raises(ApiError, match="redirects to") as raised:
        connect(server.url).list_running()
    assert shown in str(raised.value)
    assert "leaked" not in str(raised.value)


def test_basic_auth_is_sent_and_urls_are_built_verbatim(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    server = canned(Canned(body='{"status": "success", "job-status": "_NONE"}'))
    connect(server.url + "/").execution_status(JobRef.parse("/Analytics/C++ Sales 50%"))
    [seen] = server.seen
    assert seen.path == "/api/job-execution/Analytics/C%2B%2B+Sales+50%25/status"
    assert seen.authorization == "Basic " + base64.b64encode(b"admin:admin").decode()


def test_sequence_sends_strict_json(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    server = canned(Canned(body='{"status": "success", "execution-plan": []}'))
    plan = connect(server.url).trigger_sequence([4, 5], {"foo": "fooValue"})
    assert plan == ExecutionPlan(())
    [seen] = server.seen
    assert seen.path == "/rest/job-execution?sequence=4,5"
    assert json.loads(seen.body) == {"variables": {"foo": "fooValue"}, "fileIds": [4, 5]}


def test_plan_steps_that_were_not_triggered(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    body = {
        "status": "success",
        "execution-plan": [
            {"job-configuration-name": "a", "job-configuration-id": 3, "trigger": False}
        ],
    }
    server = canned(Canned(body=json.dumps(body)))
    plan = connect(server.url).trigger_sequence([3])
    assert plan.steps == (PlannedExecution("a", 3, False, None),)


def test_credentials_never_appear_in_messages_logs_or_base_url(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = canned(Canned(500, '{"status": "failure", "reason": "boom"}'))
    url = server.url.replace("://", "://ops:Sup3rS3cret@")
    api = connect(url, user=None, password=None, retries=1)
    assert api.base_url == server.url
    assert "Sup3rS3cret" not in repr(api)
    with caplog.at_level(logging.DEBUG), pytest.raises(ServerError) as raised:
        api.job_status(1)
    assert "Sup3rS3cret" not in str(raised.value)
    assert "Sup3rS3cret" not in caplog.text
    assert f"GET {server.url}/rest/job-configuration/job-status/1 -> 500 in " in caplog.text
    assert server.seen[0].authorization == "Basic " + base64.b64encode(b"ops:Sup3rS3cret").decode()


# -- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not openssl_available():
        pytest.skip("no openssl binary to make a test certificate")
    made = make_certificate(tmp_path_factory.mktemp("tls"))
    return made.cert, made.key


def _tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_tls_verification_failure_suggests_a_ca_bundle(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    certificate: tuple[Path, Path],
) -> None:
    server = canned(Canned(body="[]"), tls=_tls_context(certificate))
    with pytest.raises(ConnectionFailedError) as raised:
        connect(server.url).list_running()
    assert "TLS certificate verification failed: pass --ca-bundle FILE" in str(raised.value)
    assert connect(server.url, verify=str(certificate[0])).list_running() == []


def test_plain_http_server_behind_https_url(
    canned: Callable[..., CannedServer], connect: Callable[..., DatameerClient]
) -> None:
    server = canned(Canned(body="[]"))
    with pytest.raises(ConnectionFailedError, match="the TLS handshake failed"):
        connect(server.url.replace("http://", "https://"), retries=0).list_running()


# -- construction ------------------------------------------------------------------------


def test_constructor_and_settings(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a readable file"):
        DatameerClient("https://h", verify=str(tmp_path / "missing.pem"))
    with pytest.raises(UsageError, match="no Datameer server"):
        DatameerClient.from_settings(ServerSettings())
    with pytest.raises(UsageError, match="must look like https://host:port"):
        DatameerClient("h:8080")
    with pytest.raises(UsageError, match="has no valid port"):
        DatameerClient.from_settings(ServerSettings(url="http://127.0.0.1:99999"))
    with pytest.raises(MissingPasswordError, match="no password for user 'bob': set DATAM"):
        DatameerClient.from_settings(ServerSettings(url="http://h", user="bob"))
    with DatameerClient.from_settings(
        ServerSettings(url="https://u:p@h:8443/dm/", verify_tls=False)
    ) as api:
        assert api.base_url == "https://h:8443/dm"


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda api: api.execution_status(JobRef(RefKind.PATH, "/W/../../x")), id="v2"),
        pytest.param(lambda api: api.trigger(JobRef(RefKind.PATH, "/W/./x")), id="trigger"),
        pytest.param(lambda api: api.stop(JobRef(RefKind.PATH, "/W/x/..")), id="stop"),
    ],
)
def test_a_url_with_dot_segments_is_never_sent(
    canned: Callable[..., CannedServer],
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
) -> None:
    server = canned(Canned(body="{}"))
    with pytest.raises(UsageError, match=r"\. or \.\. segment"):
        call(connect(server.url))
    assert server.seen == []


def test_ids_longer_than_a_long_are_refused(connect: Callable[..., DatameerClient]) -> None:
    api = connect("http://127.0.0.1:9")
    with pytest.raises(UsageError, match="at most 19 digits"):
        api.job_details(2**63)
