"""The server around the simulation: lifecycle, restarts, private endpoints, request stats."""

from __future__ import annotations

import re

import pytest
import requests

from runner.emulator import EmulatorServer, scenario_from_dict
from testing.emulators import MakeEmulator
from testing.raw_http import call, get_json, post_json
from testing.scenarios import PASSWORD, USER, artifact, scenario

AUTH = (USER, PASSWORD)


def test_start_and_stop_without_with() -> None:
    server = EmulatorServer(scenario_from_dict(scenario(artifact(1))))
    assert not server.running
    server.start()
    try:
        assert re.match(r"^http://127\.0\.0\.1:\d+$", server.url)
        assert server.port != 0
        assert call(server.url, "GET", "/rest/jobs/list-running").status_code == 200
    finally:
        server.stop()
    server.stop()  # stopping twice is harmless
    with pytest.raises(requests.ConnectionError):
        call(server.url, "GET", "/rest/jobs/list-running", timeout=2)


def test_restart_keeps_the_port_and_the_state(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=10)))
    url = server.url
    execution = post_json(url, "/api/job-execution/1/trigger")["job-execution-id"]
    server.clock.advance(4)
    server.restart()
    assert server.url == url
    status = get_json(url, "/api/job-execution/1/status")
    assert (status["job-execution-id"], status["job-status"]) == (execution, "RUNNING")
    server.clock.advance(6)
    assert get_json(url, "/api/job-execution/1/status")["job-status"] == "COMPLETED"
    assert len(server.ledger) == 1


def test_restart_cuts_open_keep_alive_connections(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    with requests.Session() as session:
        session.auth = AUTH
        assert session.get(f"{server.url}/rest/jobs/list-running").status_code == 200
        server.restart()
        # The pooled connection was closed by the "restart": urllib3 notices and reconnects.
        assert session.get(f"{server.url}/rest/jobs/list-running").status_code == 200


def test_paused_listener_refuses_connections(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    post_json(server.url, "/api/job-execution/1/trigger")
    server.pause_listener()
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        call(server.url, "GET", "/rest/jobs/list-running", timeout=2)
    server.clock.advance(10)  # time goes on while the server is down
    server.resume_listener()
    assert get_json(server.url, "/api/job-execution/1/status")["job-status"] == "COMPLETED"


def test_ledger_over_http(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, data_id=9)))
    execution = post_json(server.url, "/api/job-execution/1/trigger")["job-execution-id"]
    server.clock.advance(2)
    call(server.url, "POST", "/api/job-execution/1/stop")
    call(server.url, "DELETE", "/rest/data/9")
    ledger = get_json(server.url, "/__emulator__/ledger", auth=None)
    assert [(e["seq"], e["action"], e["execution_id"], e["at"]) for e in ledger] == [
        (1, "trigger", execution, 0.0),
        (2, "stop", execution, 2.0),
        (3, "delete", None, 2.0),
    ]
    assert set(ledger[0]) == {
        "seq",
        "action",
        "file_id",
        "configuration_id",
        "execution_id",
        "user",
        "at",
        "response_lost",
        "effective",
        "variables",
        "data_id",
        "stopped",
        "answer_fault",
        "answered_id",
        "via",
    }
    assert ledger[1]["stopped"] == [execution]
    assert ledger[2]["data_id"] == 9
    assert ledger == [e.to_json() for e in server.ledger]


def test_refused_triggers_are_in_the_ledger_as_ineffective(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    assert call(server.url, "POST", "/api/job-execution/77/trigger").status_code == 404
    (entry,) = server.ledger.triggers()
    assert (entry.file_id, entry.effective, entry.execution_id) == (None, False, None)


def test_state_over_http(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=4)))
    execution = post_json(server.url, "/api/job-execution/1/trigger")["job-execution-id"]
    server.clock.advance(5)
    state = get_json(server.url, "/__emulator__/state", auth=None)
    assert (state["version"], state["now"], state["time"]) == (
        "7.5.2",
        5.0,
        "Nov 28, 2026 12:00:05 AM",
    )
    (entry,) = state["executions"]
    assert entry["execution_id"] == execution
    assert (entry["status"], entry["start_time"], entry["stop_time"]) == ("COMPLETED", 0.0, 4.0)


def test_stats_count_requests_per_endpoint(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    for _ in range(3):
        get_json(server.url, "/rest/jobs/list-running")
    get_json(server.url, "/api/job-execution/1/status")
    get_json(server.url, "/api/job-execution/Emulated/artifact-1.wbk/status")
    call(server.url, "GET", "/nowhere")
    call(server.url, "GET", "/__emulator__/ledger", auth=None)  # not counted
    stats = get_json(server.url, "/__emulator__/stats", auth=None)
    assert stats == {
        "total": 6,
        "GET /rest/jobs/list-running": 3,
        "GET /api/job-execution/{ref}/status": 2,
        "unmatched": 1,
    }
    assert server.stats() == stats


def test_unknown_private_endpoint(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario())
    assert call(server.url, "GET", "/__emulator__/nothing", auth=None).status_code == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"Transfer-Encoding": "chunked"}, 411, id="chunked"),
        pytest.param({"Content-Length": str(2 * 1024 * 1024)}, 413, id="too-big"),
        pytest.param({"Content-Length": "lots"}, 413, id="bad-length"),
    ],
)
def test_bodies_are_bounded(
    make_emulator: MakeEmulator, headers: dict[str, str], status: int
) -> None:
    import http.client

    server = make_emulator(scenario())
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.putrequest("POST", "/rest/job-execution?sequence=1")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.getresponse().status == status
    connection.close()
