"""Every curl command of the REST reference, verbatim, run with curl against the emulator.

The templates are copied from datameer-rest-api-job-commands.txt as literal strings
(the reference is not part of the repository); only the placeholders are filled.
The reference's tip ``-w"\\n%{http_code}\\n"`` is added to each, after the credentials,
to read the HTTP status.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from typing import Any

import pytest

from runner.emulator import EmulatorServer

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="no curl binary")

STATUS = (
    "curl -u <username>:<password> -X GET "
    "'http://<Datameer-serverIP>:<port-number>/rest/job-configuration/job-status/<job-configuration-id>'"
)
STATUS_V2 = (
    "curl -u <username>:<password> -X GET "
    "'http://<Datameer-serverIP>:<port-number>/api/job-execution/<file-id>|<uuid>|<path>/status'"
)
HISTORY = (
    "curl -u <username>:<password> -X GET "
    "'http://<Datameer-serverIP>:<port-number>/rest/job-configuration/job-history/"
    "<job-configuration-id>?start=0&length=10'"
)
DETAILS = (
    "curl -u <username>:<password> -X GET "
    "'http://<Datameer-serverIP>:<port-number>/rest/job-execution/job-details/<job-execution-id>'"
)
LIST_RUNNING = (
    "curl -u <username>:<password> -X GET "
    "'http://<Datameer-serverIP>:<port-number>/rest/jobs/list-running'"
)
TRIGGER = (
    "curl -u <username>:<password> -X POST "
    "'http://<Datameer-serverIP>:<port-number>/api/job-execution/<file-id>|<uuid>|<path>/trigger'"
)
SEQUENCE = """curl -X POST -u user:password 'http://localhost:8088/rest/job-execution?sequence=<IDS>'

-u admin:admin
-d '{ variables : { "foo": "fooValue" }, "fileIds" : [4, ]}'
-H "Content-Type: application/json"
"""
STOP = (
    "curl -u <username>:<password> -X POST "
    "'http://<Datameer-serverIP>:<port-number>/api/job-execution/<file-id>|<uuid>|<path>/stop'"
)
DELETE = (
    "curl -u <username>:<password> -X DELETE "
    "'http://<Datameer-serverIP>:<port-number>/rest/data/<data-id>'"
)
HTTP_CODE = '-w"\\n%{http_code}\\n"'

REF_PLACEHOLDER = "<file-id>|<uuid>|<path>"
REFS = {
    "file-id": "6",
    "uuid": "f8d450cd-f065-4abb-a232-27cd20c48c2b",
    "path": "Analytics/Sales+categorization.wbk",  # spaces replaced with "+", as the reference says
}


def fill(template: str, server: EmulatorServer, **values: str) -> list[str]:
    """The command's argv: placeholders filled (``ref`` fills ``<file-id>|<uuid>|<path>``),
    the -w tip added after the credentials."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    text = (
        template.replace("<username>:<password>", "analyst:analyst")
        .replace("user:password", "analyst:analyst")
        .replace("<Datameer-serverIP>", host)
        .replace("<port-number>", port)
        .replace("localhost:8088", f"{host}:{port}")
    )
    for name, value in values.items():
        text = text.replace(REF_PLACEHOLDER if name == "ref" else f"<{name}>", value)
    assert "<" not in text, f"unfilled placeholder in {text}"
    argv = shlex.split(text)
    credentials = argv.index("-u") + 2
    return [*argv[:credentials], *shlex.split(HTTP_CODE), *argv[credentials:]]


def curl(template: str, server: EmulatorServer, **values: str) -> tuple[int, Any]:
    """Run the filled command; the HTTP status and the body (JSON when there is one)."""
    argv = ["curl", "-s", *fill(template, server, **values)[1:]]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    body, _, code = result.stdout.rstrip("\n").rpartition("\n")
    return int(code), json.loads(body) if body.strip() else None


def test_job_status(emulator: EmulatorServer) -> None:
    assert curl(STATUS, emulator, **{"job-configuration-id": "49"}) == (
        200,
        {"id": 49, "jobStatus": "RUNNING"},
    )
    assert curl(STATUS, emulator, **{"job-configuration-id": "32"}) == (
        200,
        {"id": 32, "jobStatus": "COMPLETED_WITH_Warnings"},
    )
    assert curl(STATUS, emulator, **{"job-configuration-id": "12"}) == (200, {})


@pytest.mark.parametrize("kind", [pytest.param(k, id=k) for k in REFS])
def test_trigger_status_and_stop_by_every_kind_of_reference(
    emulator: EmulatorServer, kind: str
) -> None:
    code, triggered = curl(TRIGGER, emulator, ref=REFS[kind])
    assert code == 200
    assert triggered == {
        "status": "success",
        "job-execution-id": triggered["job-execution-id"],
        "job-execution-user": "analyst",
        "job-execution-trigger": "RESTAPI",
    }
    emulator.clock.advance(3)
    code, status = curl(STATUS_V2, emulator, ref=REFS[kind])
    assert code == 200
    assert (status["file-id"], status["job-execution-id"], status["job-status"]) == (
        6,
        triggered["job-execution-id"],
        "RUNNING",
    )
    assert set(status) >= {"start-time", "estimate-time", "job-progress"}
    code, stopped = curl(STOP, emulator, ref=REFS[kind])
    assert (code, stopped) == (200, None)
    assert emulator.state.execution(triggered["job-execution-id"]).status == "CANCELED"


def test_status_v2_never_run(emulator: EmulatorServer) -> None:
    assert curl(STATUS_V2, emulator, ref="48") == (
        200,
        {"status": "success", "job-status": "_NONE"},
    )


def test_job_history(emulator: EmulatorServer) -> None:
    assert curl(HISTORY, emulator, **{"job-configuration-id": "30"}) == (
        200,
        [
            {"id": 30, "jobStatus": "COMPLETED"},
            {"id": 27, "jobStatus": "COMPLETED"},
            {"id": 23, "jobStatus": "COMPLETED"},
        ],
    )


def test_job_details(emulator: EmulatorServer) -> None:
    code, triggered = curl(TRIGGER, emulator, ref="6")
    emulator.clock.advance(30)
    code, details = curl(
        DETAILS, emulator, **{"job-execution-id": str(triggered["job-execution-id"])}
    )
    assert code == 200
    assert details["jobConfigurationId"] == 4
    assert details["file"] == {"id": 6, "uuid": "f8d450cd-f065-4abb-a232-27cd20c48c2b"}
    assert (details["jobStatus"], details["successCount"], details["failureCount"]) == (
        "COMPLETED",
        7,
        0,
    )


def test_list_running(emulator: EmulatorServer) -> None:
    code, entries = curl(LIST_RUNNING, emulator)
    assert code == 200
    assert {e["dapJobConfigurationId"] for e in entries} == {49, 17, 18, 20}
    assert all(
        {"dapJobConfigurationId", "jobStatus", "progress", "startTime"} <= set(e) for e in entries
    )


def test_sequential_trigger(emulator: EmulatorServer) -> None:
    code, answer = curl(SEQUENCE, emulator, IDS="4")
    assert code == 200
    plan = answer["execution-plan"]
    assert answer["status"] == "success"
    assert [
        (p["job-configuration-name"], p["job-configuration-id"], p["trigger"]) for p in plan
    ] == [
        ("apache_log", 3, True),
        ("categorization", 4, True),
    ]
    assert {e.user for e in emulator.ledger.triggers()} == {"admin"}  # the last -u wins
    assert [e.variables for e in emulator.ledger.triggers()] == [{"foo": "fooValue"}] * 2


def test_delete(emulator: EmulatorServer) -> None:
    assert curl(DELETE, emulator, **{"data-id": "272"}) == (200, {"status": True})
    assert curl(DELETE, emulator, **{"data-id": "272"}) == (200, {"status": False})
    assert curl(DELETE, emulator, **{"data-id": "999"}) == (
        404,
        {"status": "failure", "reason": "Entity of type 'Data' with id '999' not found."},
    )


def test_the_permission_failure_body(emulator: EmulatorServer) -> None:
    argv = fill(STATUS_V2, emulator, ref="48")
    argv[argv.index("-u") + 1] = "guest:guest"
    result = subprocess.run(["curl", "-s", *argv[1:]], capture_output=True, text=True, check=True)
    body, _, code = result.stdout.rstrip("\n").rpartition("\n")
    assert (int(code), json.loads(body)) == (
        404,
        {
            "status": "failure",
            "reason": "File doesn't exist or isn't accessible with current permissions",
        },
    )
