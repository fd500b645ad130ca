"""Every endpoint and response shape of the reference, over raw HTTP (no dmpipe client).

The ``emulator`` fixture serves examples/emulator/reference.yaml on a manual clock.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from runner.emulator import EmulatorServer
from testing.emulators import MakeEmulator
from testing.raw_http import call, get_json, post_json
from testing.scenarios import artifact, scenario

ANALYST = ("analyst", "analyst")
V2_TIME = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$")
V1_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+$")
NOT_ACCESSIBLE = {
    "status": "failure",
    "reason": "File doesn't exist or isn't accessible with current permissions",
}


def trigger(server: EmulatorServer, ref: str | int, auth: Any = ANALYST) -> int:
    body = post_json(server.url, f"/api/job-execution/{ref}/trigger", auth)
    return int(body["job-execution-id"])


def v2(server: EmulatorServer, ref: str | int, auth: Any = ANALYST) -> dict[str, Any]:
    body: dict[str, Any] = get_json(server.url, f"/api/job-execution/{ref}/status", auth)
    return body


# -- v1 job status and history ---------------------------------------------------------


@pytest.mark.parametrize(
    ("configuration_id", "expected"),
    [
        pytest.param(49, {"id": 49, "jobStatus": "RUNNING"}, id="running"),
        pytest.param(30, {"id": 30, "jobStatus": "COMPLETED"}, id="completed"),
        pytest.param(32, {"id": 32, "jobStatus": "COMPLETED_WITH_Warnings"}, id="warnings"),
        pytest.param(36, {"id": 36, "jobStatus": "ERROR"}, id="error"),
        pytest.param(39, {"id": 39, "jobStatus": "CANCELED"}, id="canceled"),
        pytest.param(12, {}, id="never-triggered"),
    ],
)
def test_v1_job_status(
    emulator: EmulatorServer, configuration_id: int, expected: dict[str, Any]
) -> None:
    path = f"/rest/job-configuration/job-status/{configuration_id}"
    assert get_json(emulator.url, path) == expected


def test_v1_status_follows_a_new_run(emulator: EmulatorServer) -> None:
    execution = trigger(emulator, 46)
    path = "/rest/job-configuration/job-status/13"
    assert get_json(emulator.url, path) == {"id": execution, "jobStatus": "QUEUED"}
    emulator.clock.advance(60)
    assert get_json(emulator.url, path) == {"id": execution, "jobStatus": "COMPLETED_WITH_Warnings"}


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        pytest.param("?start=0&length=10", [30, 27, 23], id="reference"),
        pytest.param("", [30, 27, 23], id="defaults"),
        pytest.param("?start=0&length=1", [30], id="latest-only"),
        pytest.param("?start=1&length=10", [27, 23], id="offset"),
        pytest.param("?start=5&length=10", [], id="past-the-end"),
    ],
)
def test_job_history(emulator: EmulatorServer, query: str, ids: list[int]) -> None:
    history = get_json(emulator.url, f"/rest/job-configuration/job-history/30{query}")
    assert history == [{"id": i, "jobStatus": "COMPLETED"} for i in ids]


def test_job_history_is_empty_when_never_ran_and_newest_first(emulator: EmulatorServer) -> None:
    assert get_json(emulator.url, "/rest/job-configuration/job-history/12") == []
    first, second = trigger(emulator, 48), trigger(emulator, 48)
    history = get_json(emulator.url, "/rest/job-configuration/job-history/12")
    assert [h["id"] for h in history] == [second, first]
    assert [h["jobStatus"] for h in history] == ["WAITING_FOR_OTHER_JOB", "QUEUED"]


def test_job_history_rejects_a_bad_length(emulator: EmulatorServer) -> None:
    response = call(emulator.url, "GET", "/rest/job-configuration/job-history/30?length=ten")
    assert response.status_code == 400
    assert response.json()["status"] == "failure"


# -- v2 status -----------------------------------------------------------------------------


def test_v2_never_run(emulator: EmulatorServer) -> None:
    assert v2(emulator, 48) == {"status": "success", "job-status": "_NONE"}


def test_v2_queued_running_completed(emulator: EmulatorServer) -> None:
    execution = trigger(emulator, 48)
    queued = v2(emulator, 48)
    assert queued == {
        "status": "success",
        "file-id": 48,
        "job-execution-id": execution,
        "job-status": "QUEUED",
        "start-time": None,
    }
    emulator.clock.advance(1)  # queue_time
    running = v2(emulator, 48)
    assert set(running) == {
        "status",
        "file-id",
        "job-execution-id",
        "job-status",
        "start-time",
        "estimate-time",
        "job-progress",
    }
    assert (running["job-status"], running["estimate-time"], running["job-progress"]) == (
        "RUNNING",
        "12s",
        "0",
    )
    assert running["start-time"] == "Nov 28, 2026 12:00:01 AM"
    emulator.clock.advance(6)
    assert (v2(emulator, 48)["estimate-time"], v2(emulator, 48)["job-progress"]) == ("6s", "50")
    emulator.clock.advance(6)
    assert v2(emulator, 48) == {
        "status": "success",
        "file-id": 48,
        "job-execution-id": execution,
        "job-status": "COMPLETED",
        "start-time": "Nov 28, 2026 12:00:01 AM",
        "stop-time": "Nov 28, 2026 12:00:13 AM",
    }


def test_v2_completed_with_warnings(emulator: EmulatorServer) -> None:
    execution = trigger(emulator, 46)
    emulator.clock.advance(6)
    status = v2(emulator, 46)
    assert status["job-status"] == "COMPLETED_WITH_WARNINGS"
    assert status["job-execution-id"] == execution
    assert V2_TIME.match(status["start-time"])
    assert V2_TIME.match(status["stop-time"])


@pytest.mark.parametrize(
    ("advance", "start_time"),
    [
        pytest.param(0, None, id="cancelled-while-queued"),
        pytest.param(3, "Nov 28, 2026 12:00:01 AM", id="cancelled-while-running"),
    ],
)
def test_v2_canceled(emulator: EmulatorServer, advance: float, start_time: str | None) -> None:
    execution = trigger(emulator, 48)
    emulator.clock.advance(advance)
    response = call(emulator.url, "POST", "/api/job-execution/48/stop", ANALYST)
    assert (response.status_code, response.content) == (200, b"")
    assert v2(emulator, 48) == {
        "status": "success",
        "file-id": 48,
        "job-execution-id": execution,
        "job-status": "CANCELED",
        "start-time": start_time,
        "stop-time": "Nov 28, 2026 12:00:00 AM" if advance == 0 else "Nov 28, 2026 12:00:03 AM",
    }


def test_v2_afternoon_times_use_pm(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=5)))
    server.clock.advance(13 * 3600 + 5 * 60 + 7)
    trigger(server, 1, auth=("admin", "admin"))
    server.clock.advance(5)
    status = v2(server, 1, auth=("admin", "admin"))
    assert status["start-time"] == "Nov 28, 2026 1:05:07 PM"
    assert status["stop-time"] == "Nov 28, 2026 1:05:12 PM"


# -- references: file id, uuid, path in every encoding --------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("6", id="file-id"),
        pytest.param("f8d450cd-f065-4abb-a232-27cd20c48c2b", id="uuid"),
        pytest.param("F8D450CD-F065-4ABB-A232-27CD20C48C2B", id="uuid-upper"),
        pytest.param("Analytics/Sales+categorization.wbk", id="plus-for-space"),
        pytest.param("Analytics/Sales%20categorization.wbk", id="percent-20"),
        pytest.param("%2FAnalytics%2FSales%20categorization.wbk", id="one-encoded-segment"),
        pytest.param("Analytics%2FSales+categorization.wbk", id="mixed"),
        pytest.param("/Analytics/Sales+categorization.wbk", id="leading-slash"),
    ],
)
def test_every_way_of_writing_a_reference(emulator: EmulatorServer, ref: str) -> None:
    execution = trigger(emulator, ref)
    status = v2(emulator, ref)
    assert (status["file-id"], status["job-execution-id"]) == (6, execution)


def test_a_literal_plus_arrives_as_percent_2b(emulator: EmulatorServer) -> None:
    execution = trigger(emulator, "Shared/Clicks+%2B+Impressions.imp")
    assert (
        v2(emulator, "%2FShared%2FClicks%20%2B%20Impressions.imp")["job-execution-id"] == execution
    )
    response = call(
        emulator.url, "GET", "/api/job-execution/Shared/Clicks+++Impressions.imp/status"
    )
    assert response.status_code == 404


# -- job details -------------------------------------------------------------------------------


def test_details_pre_7_4_shape(make_emulator: MakeEmulator) -> None:
    server = make_emulator(version="7.2.5", clock="manual")
    execution = trigger(server, 48)
    server.clock.advance(13)
    details = get_json(server.url, f"/rest/job-execution/job-details/{execution}")
    assert details == {
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
        "startTime": "2026-11-28 00:00:01.0",
        "stopTime": "2026-11-28 00:00:13.0",
        "successCount": 494400,
    }


@pytest.mark.parametrize(
    "version", [pytest.param("7.4", id="7.4"), pytest.param("7.5.2", id="7.5.2")]
)
def test_details_7_4_shape(make_emulator: MakeEmulator, version: str) -> None:
    server = make_emulator(version=version, clock="manual")
    execution = trigger(server, 6)
    server.clock.advance(26)
    details = get_json(server.url, f"/rest/job-execution/job-details/{execution}")
    assert details == {
        "startTime": "Nov 28, 2026 12:00:01 AM",
        "stopTime": "Nov 28, 2026 12:00:26 AM",
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


def test_details_of_an_error_run_lack_the_usual_counters(emulator: EmulatorServer) -> None:
    details = get_json(emulator.url, "/rest/job-execution/job-details/36")
    assert details["jobStatus"] == "ERROR"
    assert details["counters"] == {"TASK_FAILURES": 3}
    assert (details["successCount"], details["failureCount"]) == (0, 0)


def test_details_of_a_running_execution(emulator: EmulatorServer) -> None:
    details = get_json(emulator.url, "/rest/job-execution/job-details/49")
    assert (details["jobStatus"], details["stopTime"], details["counters"]) == ("RUNNING", None, {})
    assert V2_TIME.match(details["startTime"])


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        pytest.param(
            "export_job", {"EXPORT_RECORDS", "EXPORT_DROPPED_RECORDS", "EXPORT_BYTES"}, id="export"
        ),
        pytest.param("import_job", {"IMPORT_RECORDS", "IMPORT_DROPPED_RECORDS"}, id="import"),
        pytest.param("workbook", {"WORKBOOK_RECORDS", "WORKBOOK_DROPPED_RECORDS"}, id="workbook"),
    ],
)
def test_default_counters_by_kind(make_emulator: MakeEmulator, kind: str, keys: set[str]) -> None:
    server = make_emulator(scenario(artifact(1, kind=kind)))
    execution = trigger(server, 1, auth=("admin", "admin"))
    server.clock.advance(10)
    details = get_json(server.url, f"/rest/job-execution/job-details/{execution}")
    assert keys <= set(details["counters"])
    assert details["successCount"] > 0


@pytest.mark.parametrize(
    "execution_id", [pytest.param("999", id="unknown"), pytest.param("abc", id="not-a-number")]
)
def test_details_of_an_unknown_execution(emulator: EmulatorServer, execution_id: str) -> None:
    response = call(emulator.url, "GET", f"/rest/job-execution/job-details/{execution_id}")
    assert response.status_code == 404
    assert response.json() == {
        "status": "failure",
        "reason": f"Entity of type 'DapJobExecution' with id '{execution_id}' not found.",
    }


# -- list running --------------------------------------------------------------------------


def test_list_running_reference_entries(emulator: EmulatorServer) -> None:
    entries = {
        e["dapJobConfigurationId"]: e for e in get_json(emulator.url, "/rest/jobs/list-running")
    }
    assert set(entries) == {49, 17, 20, 18}
    assert set(entries[17]) == {
        "dapJobConfigurationId",
        "estimateTime",
        "jobExecutionId",
        "jobStatus",
        "progress",
        "startTime",
    }
    assert re.match(r"^\d+ sec$", entries[17]["estimateTime"])
    assert "estimateTime" not in entries[20]
    assert "jobExecutionId" not in entries[18]
    assert all(
        e["jobStatus"] == "RUNNING" and isinstance(e["progress"], int) for e in entries.values()
    )
    assert all(V1_TIME.match(e["startTime"]) for e in entries.values())


def test_list_running_shows_queued_and_waiting_and_drops_finished(emulator: EmulatorServer) -> None:
    first, second = trigger(emulator, 48), trigger(emulator, 48)
    entries = {
        e.get("jobExecutionId"): e for e in get_json(emulator.url, "/rest/jobs/list-running")
    }
    assert entries[first]["jobStatus"] == "QUEUED"
    assert entries[first]["startTime"] is None
    assert "estimateTime" not in entries[first]
    assert entries[second]["jobStatus"] == "WAITING_FOR_OTHER_JOB"
    emulator.clock.advance(30)
    ids = {e.get("jobExecutionId") for e in get_json(emulator.url, "/rest/jobs/list-running")}
    assert first not in ids
    assert second not in ids


def test_list_running_only_shows_what_the_user_may_see(emulator: EmulatorServer) -> None:
    assert get_json(emulator.url, "/rest/jobs/list-running", auth=("guest", "guest")) == []


# -- trigger, sequence, stop, delete ------------------------------------------------------------


def test_trigger_answer(emulator: EmulatorServer) -> None:
    body = post_json(emulator.url, "/api/job-execution/48/trigger", ANALYST)
    assert body == {
        "status": "success",
        "job-execution-id": body["job-execution-id"],
        "job-execution-user": "analyst",
        "job-execution-trigger": "RESTAPI",
    }
    assert isinstance(body["job-execution-id"], int)
    assert emulator.state.execution(body["job-execution-id"]).user == "analyst"


def test_execution_ids_never_equal_a_file_or_configuration_id(emulator: EmulatorServer) -> None:
    taken = {a.file_id for a in emulator.scenario.artifacts}
    taken |= {a.configuration_id for a in emulator.scenario.artifacts}
    assert not {trigger(emulator, 48) for _ in range(3)} & taken


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{ variables : { "foo": "fooValue" }, "fileIds" : [4, ]}', id="reference"),
        pytest.param('{"variables": {"foo": "fooValue"}, "fileIds": [4]}', id="strict"),
    ],
)
def test_sequential_trigger(emulator: EmulatorServer, body: str) -> None:
    answer = post_json(
        emulator.url,
        "/rest/job-execution?sequence=4",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    plan = answer["execution-plan"]
    assert answer["status"] == "success"
    assert [
        (p["job-configuration-name"], p["job-configuration-id"], p["trigger"]) for p in plan
    ] == [
        ("apache_log", 3, True),
        ("categorization", 4, True),
    ]
    for step in plan:
        execution = emulator.state.execution(step["job-execution-id"])
        assert execution.variables == {"foo": "fooValue"}
    assert [e.variables for e in emulator.ledger.triggers()] == [{"foo": "fooValue"}] * 2


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        pytest.param("?sequence=4", "", [3, 4], id="query-only-no-body"),
        pytest.param("?sequence=", '{"fileIds": [6]}', [4], id="body-only"),
        pytest.param("?sequence=6,4", "{}", [3, 4], id="comma-list-dependency-order"),
        # The reference sends both; naming the same artifacts, they are one list.
        pytest.param("?sequence=4", '{"fileIds": ["4"]}', [3, 4], id="query-and-body-alike"),
        pytest.param("?sequence=6,4", '{"fileIds": [4, 6]}', [3, 4], id="alike-in-any-order"),
    ],
)
def test_sequence_file_ids(
    emulator: EmulatorServer, path: str, body: str, expected: list[int]
) -> None:
    answer = post_json(emulator.url, f"/rest/job-execution{path}", data=body)
    assert [p["job-configuration-id"] for p in answer["execution-plan"]] == expected


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        pytest.param("?sequence=", "{}", 400, id="no-ids"),
        pytest.param("?sequence=4", "{variables: ", 400, id="malformed-body"),
        pytest.param("?sequence=4", "[4]", 400, id="body-not-an-object"),
        pytest.param("?sequence=4", '{"variables": [1]}', 400, id="variables-not-a-map"),
        pytest.param("?sequence=x", "", 400, id="id-not-a-number"),
        pytest.param("?sequence=777", "", 404, id="unknown-file"),
        pytest.param("", "{}", 400, id="neither-sequence-nor-configuration"),
        # What would start an artifact twice, or leaves open which list counts, is refused.
        pytest.param("?sequence=4,4", "", 400, id="query-names-a-file-twice"),
        pytest.param("?sequence=", '{"fileIds": [4, 4]}', 400, id="body-names-a-file-twice"),
        pytest.param("?sequence=4", '{"fileIds": [6]}', 400, id="query-and-body-differ"),
        pytest.param("?sequence=4", '{"fileIds": [4, 6]}', 400, id="body-adds-a-file"),
    ],
)
def test_sequence_errors(emulator: EmulatorServer, path: str, body: str, status: int) -> None:
    response = call(emulator.url, "POST", f"/rest/job-execution{path}", data=body)
    assert response.status_code == status
    assert response.json()["status"] == "failure"
    assert emulator.ledger.triggers() == []


def test_stop_answers_an_empty_body_even_with_nothing_running(emulator: EmulatorServer) -> None:
    response = call(emulator.url, "POST", "/api/job-execution/48/stop", ANALYST)
    assert (response.status_code, response.content) == (200, b"")
    (entry,) = emulator.ledger.stops()
    assert (entry.file_id, entry.effective, entry.execution_id) == (48, False, None)


def test_delete_answers(emulator: EmulatorServer) -> None:
    first = call(emulator.url, "DELETE", "/rest/data/272")
    second = call(emulator.url, "DELETE", "/rest/data/272")
    missing = call(emulator.url, "DELETE", "/rest/data/999")
    assert (first.status_code, first.json()) == (200, {"status": True})
    assert (second.status_code, second.json()) == (200, {"status": False})
    assert (missing.status_code, missing.json()) == (
        404,
        {"status": "failure", "reason": "Entity of type 'Data' with id '999' not found."},
    )
    assert [(e.data_id, e.effective) for e in emulator.ledger.deletes()] == [
        (272, True),
        (272, False),
    ]


def test_delete_of_data_already_deleted_in_the_scenario(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, data_id=5, data="deleted")))
    assert call(server.url, "DELETE", "/rest/data/5").json() == {"status": False}


# -- legacy calls ---------------------------------------------------------------------------------


def test_legacy_trigger_and_kill(emulator: EmulatorServer) -> None:
    body = post_json(emulator.url, "/rest/job-execution?configuration=12")
    execution = body["id"]
    assert body == {"id": execution}
    assert emulator.state.execution(execution).file_id == 48
    response = call(emulator.url, "POST", f"/rest/job-execution/job-kill/{execution}")
    assert (response.status_code, response.content) == (200, b"")
    assert emulator.state.execution(execution).status == "CANCELED"
    assert [e.action for e in emulator.ledger.entries()] == ["legacy_trigger", "legacy_stop"]


@pytest.mark.parametrize(
    ("path", "entity", "identifier"),
    [
        pytest.param(
            "/rest/job-execution?configuration=777", "DapJobConfiguration", "777", id="trigger"
        ),
        pytest.param("/rest/job-execution/job-kill/777", "DapJobExecution", "777", id="kill"),
    ],
)
def test_legacy_unknown_ids(
    emulator: EmulatorServer, path: str, entity: str, identifier: str
) -> None:
    response = call(emulator.url, "POST", path)
    assert response.status_code == 404
    assert (
        response.json()["reason"] == f"Entity of type '{entity}' with id '{identifier}' not found."
    )


def test_legacy_calls_exist_in_every_version(make_emulator: MakeEmulator) -> None:
    server = make_emulator(version="7.2.5", clock="manual")
    assert "id" in post_json(server.url, "/rest/job-execution?configuration=12")


# -- versions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "api_v2", "method", "path", "available"),
    [
        pytest.param(
            "7.2.5", True, "POST", "/rest/job-execution?sequence=4", False, id="7.2.5-sequence"
        ),
        pytest.param(
            "7.4", True, "POST", "/rest/job-execution?sequence=4", False, id="7.4-sequence"
        ),
        pytest.param(
            "7.5.2", True, "POST", "/rest/job-execution?sequence=4", True, id="7.5.2-sequence"
        ),
        pytest.param("7.2.5", True, "GET", "/api/job-execution/48/status", True, id="7.2.5-v2"),
        pytest.param("6.4", True, "GET", "/api/job-execution/48/status", False, id="6.4-no-v2"),
        pytest.param(
            "7.5.2", False, "POST", "/api/job-execution/48/trigger", False, id="no-plugin"
        ),
        pytest.param("6.4", True, "GET", "/rest/jobs/list-running", True, id="6.4-list-running"),
        pytest.param("6.4", True, "GET", "/rest/license-details", True, id="6.4-license"),
        pytest.param("11.1", True, "POST", "/rest/job-execution?sequence=4", True, id="11.1-seq"),
        pytest.param("7.5.2", True, "GET", "/rest/workbook/4", True, id="7.5.2-workbook-read"),
        pytest.param("11.1", True, "GET", "/rest/workbook/4", False, id="11.1-no-workbook-read"),
    ],
)
def test_endpoints_by_version(
    make_emulator: MakeEmulator,
    version: str,
    api_v2: bool,
    method: str,
    path: str,
    available: bool,
) -> None:
    server = make_emulator(version=version, api_v2=api_v2, clock="manual")
    response = call(server.url, method, path)
    if available:
        assert response.status_code == 200
        return
    if "sequence" in path:
        # POST /rest/job-execution is the legacy trigger on every version: without the
        # sequential trigger it refuses the call (400), it does not 404.
        assert response.status_code == 400
        assert response.json()["status"] == "failure"
        assert server.ledger.entries() == []
        return
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "HTTP ERROR 404" in response.text
    assert server.ledger.entries() == []


def test_unknown_path_and_wrong_method(emulator: EmulatorServer) -> None:
    unknown = call(emulator.url, "GET", "/rest/nothing")
    assert (unknown.status_code, unknown.headers["Content-Type"][:9]) == (404, "text/html")
    wrong = call(emulator.url, "GET", "/api/job-execution/48/trigger")
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")


# -- authentication and permissions ---------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(None, id="none"),
        pytest.param(("analyst", "wrong"), id="wrong-password"),
        pytest.param(("nobody", "analyst"), id="unknown-user"),
    ],
)
def test_credentials_are_required(emulator: EmulatorServer, auth: Any) -> None:
    for method, path in (
        ("GET", "/api/job-execution/48/status"),
        ("POST", "/api/job-execution/48/trigger"),
        ("GET", "/rest/jobs/list-running"),
        ("DELETE", "/rest/data/272"),
    ):
        response = call(emulator.url, method, path, auth=auth)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Datameer"'
        assert response.json()["status"] == "failure"
    assert emulator.ledger.entries() == []


def test_a_malformed_authorization_header_is_refused(emulator: EmulatorServer) -> None:
    response = call(
        emulator.url,
        "GET",
        "/rest/jobs/list-running",
        auth=None,
        headers={"Authorization": "Basic !!!not-base64"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/job-execution/48/status", id="status"),
        pytest.param("POST", "/api/job-execution/48/trigger", id="trigger"),
        pytest.param("POST", "/api/job-execution/48/stop", id="stop"),
        pytest.param("POST", "/rest/job-execution?sequence=4", id="sequence"),
        pytest.param("GET", "/api/job-execution/4444/status", id="unknown-file"),
        pytest.param("GET", "/api/job-execution/Nowhere/x/status", id="unknown-path"),
    ],
)
def test_forbidden_looks_like_missing(emulator: EmulatorServer, method: str, path: str) -> None:
    response = call(emulator.url, method, path, auth=("guest", "guest"))
    assert (response.status_code, response.json()) == (404, NOT_ACCESSIBLE)
    assert all(not e.effective for e in emulator.ledger.entries())


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/rest/job-configuration/job-status/30", id="v1-status"),
        pytest.param("/rest/job-configuration/job-history/30", id="history"),
        pytest.param("/rest/job-execution/job-details/30", id="details"),
    ],
)
def test_forbidden_v1_calls_answer_not_found(emulator: EmulatorServer, path: str) -> None:
    response = call(emulator.url, "GET", path, auth=("guest", "guest"))
    assert response.status_code == 404
    assert "not found" in response.json()["reason"]


def test_permissions_by_id_uuid_and_glob(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(
            artifact(1, path="/A/one"),
            artifact(2, uuid="7c9e6679-7425-40de-944b-e07fc1f90ae7"),
            artifact(3, path="/B/three"),
            artifact(4, path="/C/four"),
            users={
                "u": {
                    "password": "p",
                    "can": [1, "7C9E6679-7425-40DE-944B-E07FC1F90AE7", "/B/*", "4x"],
                }
            },
        )
    )
    codes = [
        call(server.url, "GET", f"/api/job-execution/{i}/status", auth=("u", "p")).status_code
        for i in (1, 2, 3, 4)
    ]
    assert codes == [200, 200, 200, 404]


@pytest.mark.parametrize("version", ["6.4", "7.2.5", "7.4", "7.5.2", "11.1"])
def test_license_details_say_the_configured_version(
    make_emulator: MakeEmulator, version: str
) -> None:
    server = make_emulator(version=version, clock="manual")
    answer = call(server.url, "GET", "/rest/license-details")
    assert answer.status_code == 200
    assert answer.json()["ProductVersion"] == version
