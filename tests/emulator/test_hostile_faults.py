"""The hostile-server faults: answers without an id or with another execution's, executions
not visible yet, unknown final statuses, bad list-running answers, rotated passwords, 403s,
a frozen server, other users' executions, stops that hit every execution, TLS cuts."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from runner.emulator import EmulatorServer
from runner.errors import ScenarioError, UsageError
from testing.certs import make_certificate, openssl_available
from testing.emulators import MakeEmulator, build_scenario
from testing.raw_http import call, get_json, post_json
from testing.scenarios import PASSWORD, USER, artifact, scenario

TRIGGER = "/api/job-execution/{}/trigger"


def trigger(server: EmulatorServer, file_id: int) -> dict[str, Any]:
    body: dict[str, Any] = post_json(server.url, TRIGGER.format(file_id))
    return body


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(TRIGGER.format(1), id="v2"),
        pytest.param("/rest/job-execution?configuration=1001", id="legacy"),
    ],
)
def test_a_trigger_answered_without_an_id_still_starts_the_job(
    make_emulator: MakeEmulator, path: str
) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"trigger_without_id": 1})
    body = post_json(server.url, path)
    assert "job-execution-id" not in body
    assert "id" not in body
    (entry,) = server.ledger.triggers()
    assert (entry.effective, entry.answer_fault, entry.answered_id) == (True, "without_id", None)
    assert server.state.execution(entry.execution_id).is_active


def test_the_trigger_faults_hit_only_the_listed_artifacts(make_emulator: MakeEmulator) -> None:
    faults = {"trigger_without_id": 1, "file_ids": [2]}
    server = make_emulator(scenario(artifact(1), artifact(2)), faults=faults)
    assert "job-execution-id" in trigger(server, 1)
    assert "job-execution-id" not in trigger(server, 2)


def test_a_rate_below_one_is_seeded(make_emulator: MakeEmulator) -> None:
    def answers(seed: int) -> list[bool]:
        faults = {"trigger_without_id": 0.5, "seed": seed}
        server = make_emulator(scenario(artifact(1)), faults=faults)
        return ["job-execution-id" in trigger(server, 1) for _ in range(30)]

    first = answers(4)
    assert first == answers(4)
    assert set(first) == {True, False}


def test_a_reused_id_names_the_previous_trigger_while_the_own_execution_starts(
    make_emulator: MakeEmulator,
) -> None:
    faults = {"reuse_execution_id": 1, "file_ids": [2]}
    server = make_emulator(scenario(artifact(1), artifact(2)), faults=faults)
    first = trigger(server, 1)["job-execution-id"]
    answered = trigger(server, 2)["job-execution-id"]
    assert answered == first
    (entry,) = server.ledger.triggers(file_id=2)
    assert entry.execution_id != first
    assert (entry.answer_fault, entry.answered_id) == ("reused_id", first)
    assert server.state.execution(entry.execution_id).file_id == 2
    details = get_json(server.url, f"/rest/job-execution/job-details/{answered}")
    assert details["file"]["id"] == 1


def test_a_phantom_id_names_no_execution_while_the_own_execution_starts(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"phantom_execution_id": 1})
    answered = trigger(server, 1)["job-execution-id"]
    (entry,) = server.ledger.triggers(file_id=1)
    assert (entry.answer_fault, entry.answered_id) == ("phantom_id", answered)
    assert answered > entry.execution_id
    assert server.state.execution(entry.execution_id).file_id == 1  # the job did start
    details = call(server.url, "GET", f"/rest/job-execution/job-details/{answered}")
    assert details.status_code == 404
    assert (
        get_json(server.url, "/api/job-execution/1/status")["job-execution-id"]
        == entry.execution_id
    )


def test_the_first_trigger_has_nothing_to_reuse(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"reuse_execution_id": 1})
    own = trigger(server, 1)["job-execution-id"]
    assert own == server.ledger.triggers()[0].execution_id
    assert server.ledger.triggers()[0].answer_fault is None


def test_a_new_execution_is_not_visible_for_a_while(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=100)), faults={"not_visible_for": 5})
    execution = trigger(server, 1)["job-execution-id"]
    details = f"/rest/job-execution/job-details/{execution}"
    server.clock.advance(4)
    assert call(server.url, "GET", details).status_code == 404
    assert get_json(server.url, "/rest/jobs/list-running") == []
    assert get_json(server.url, "/api/job-execution/1/status")["job-status"] == "_NONE"
    assert server.state.execution(execution).status == "RUNNING"  # it did start
    server.clock.advance(1)
    assert get_json(server.url, details)["jobStatus"] == "RUNNING"
    assert [e["jobExecutionId"] for e in get_json(server.url, "/rest/jobs/list-running")] == [
        execution
    ]


@pytest.mark.parametrize(
    ("outcome", "served"),
    [
        pytest.param("KILLED", "KILLED", id="KILLED"),
        pytest.param("FAILED", "FAILED", id="FAILED"),
        pytest.param("ABORTED", "ABORTED", id="ABORTED"),
        pytest.param(None, None, id="null"),
    ],
)
def test_a_run_ends_with_an_unknown_status(
    make_emulator: MakeEmulator, outcome: str | None, served: str | None
) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=[outcome])))
    execution = trigger(server, 1)["job-execution-id"]
    server.clock.advance(11)
    assert get_json(server.url, "/rest/jobs/list-running") == []
    status = get_json(server.url, "/api/job-execution/1/status")
    assert (status["job-status"], status["stop-time"] is not None) == (served, True)
    details = get_json(server.url, f"/rest/job-execution/job-details/{execution}")
    assert (details["jobStatus"], details["stopTime"] is not None) == (served, True)


def test_an_unknown_outcome_is_still_validated() -> None:
    with pytest.raises(ScenarioError, match="outcomes"):
        build_scenario(scenario(artifact(1, outcomes=["EXPLODED"])))


@pytest.mark.parametrize(
    ("answer", "status", "check"),
    [
        pytest.param("html", 200, lambda r: r.text.startswith("<!DOCTYPE html>"), id="html"),
        pytest.param("garbage", 200, lambda r: b"garbage" in r.content, id="garbage"),
        pytest.param("huge", 200, lambda r: len(r.json()) == 100_000, id="huge"),
        pytest.param("429", 429, lambda r: "Retry-After" not in r.headers, id="429"),
    ],
)
def test_bad_list_running_answers(
    make_emulator: MakeEmulator, answer: str, status: int, check: Any
) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"list_running": answer})
    response = call(server.url, "GET", "/rest/jobs/list-running")
    assert response.status_code == status
    assert check(response)
    assert server.stats()[f"fault:list_running:{answer}"] == 1


def test_bad_list_running_answers_for_a_window_of_calls(make_emulator: MakeEmulator) -> None:
    faults = {"list_running": {"answer": "429", "after": 1, "calls": 2}}
    server = make_emulator(scenario(artifact(1)), faults=faults)
    codes = [call(server.url, "GET", "/rest/jobs/list-running").status_code for _ in range(5)]
    assert codes == [200, 429, 429, 200, 200]
    assert get_json(server.url, "/api/job-execution/1/status")  # other calls untouched


def test_a_rotated_password_is_refused_from_then_on(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    assert call(server.url, "GET", "/rest/jobs/list-running").status_code == 200
    server.set_password(USER, "rotated")
    assert call(server.url, "GET", "/rest/jobs/list-running").status_code == 401
    assert call(server.url, "GET", "/rest/jobs/list-running", (USER, "rotated")).status_code == 200


def test_a_password_rotated_over_http(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    body = json.dumps({"user": USER, "password": "new"})
    post_json(server.url, "/__emulator__/password", auth=None, data=body)
    assert call(server.url, "GET", "/rest/jobs/list-running").status_code == 401
    unknown = json.dumps({"user": "nobody", "password": "x"})
    assert call(server.url, "POST", "/__emulator__/password", None, data=unknown).status_code == 400
    with pytest.raises(UsageError, match="nobody"):
        server.set_password("nobody", "x")


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        pytest.param("POST", TRIGGER.format(2), "trigger", id="trigger"),
        pytest.param("POST", "/api/job-execution/2/stop", "stop", id="stop"),
        pytest.param(
            "POST", "/rest/job-execution?configuration=1002", "legacy_trigger", id="legacy"
        ),
    ],
)
def test_a_forbidden_artifact_answers_403_with_a_failure_body(
    make_emulator: MakeEmulator, method: str, path: str, action: str
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2)), faults={"forbidden": [2]})
    response = call(server.url, method, path)
    assert response.status_code == 403
    assert response.json()["status"] == "failure"
    assert "permission" in response.json()["reason"]
    (entry,) = server.ledger.entries()
    assert (entry.action, entry.file_id, entry.effective) == (action, 2, False)
    assert server.state.executions_of(2) == []
    assert get_json(server.url, "/api/job-execution/2/status")["job-status"] == "_NONE"
    assert "job-execution-id" in trigger(server, 1)


@pytest.mark.slow  # real time: a read that times out
def test_a_frozen_server_accepts_and_never_answers_until_unfrozen(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(scenario(artifact(1)))
    post_json(server.url, "/__emulator__/freeze", auth=None)
    with pytest.raises(requests.ReadTimeout):
        call(server.url, "GET", "/rest/jobs/list-running", timeout=0.3)
    assert server.stats()["fault:hang"] >= 1
    post_json(server.url, "/__emulator__/unfreeze", auth=None)
    assert get_json(server.url, "/rest/jobs/list-running") == []


def test_a_frozen_server_still_stops_and_cuts_the_held_requests(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(scenario(artifact(1)))
    server.freeze()
    outcome: list[object] = []

    def held_call() -> None:
        try:
            outcome.append(call(server.url, "GET", "/rest/jobs/list-running", timeout=30))
        except requests.ConnectionError as error:
            outcome.append(error)

    caller = threading.Thread(target=held_call)
    caller.start()
    while not server.stats().get("fault:hang"):
        time.sleep(0.01)
    server.stop()
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert isinstance(outcome[0], requests.ConnectionError)


@pytest.mark.slow  # real time: a read that times out
def test_hang_after_freezes_from_that_request_on(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"hang_after": 2})
    assert get_json(server.url, "/rest/jobs/list-running") == []
    assert get_json(server.url, "/rest/jobs/list-running") == []
    with pytest.raises(requests.ReadTimeout):
        call(server.url, "GET", "/rest/jobs/list-running", timeout=0.3)
    assert server.frozen
    server.unfreeze()
    assert get_json(server.url, "/rest/jobs/list-running") == []


def test_another_users_execution_and_a_stop_that_hits_every_execution(
    make_emulator: MakeEmulator,
) -> None:
    server = make_emulator(scenario(artifact(1, duration=100)))
    own = trigger(server, 1)["job-execution-id"]
    other = post_json(server.url, "/__emulator__/trigger?ref=1&user=bob", auth=None)
    assert other["user"] == "bob"
    mine, theirs = server.ledger.triggers()
    assert (mine.user, mine.via, theirs.user, theirs.via) == (USER, "api", "bob", "control")
    assert server.state.execution(other["job-execution-id"]).status == "WAITING_FOR_OTHER_JOB"
    assert call(server.url, "POST", "/api/job-execution/1/stop").status_code == 200
    (stop,) = server.ledger.stops()
    assert set(stop.stopped) == {own, other["job-execution-id"]}
    assert {e.status for e in server.state.executions_of(1)} == {"CANCELED"}


def test_the_legacy_kill_stops_exactly_one_execution(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=100)))
    own = trigger(server, 1)["job-execution-id"]
    other = server.trigger_as("bob", 1)
    assert call(server.url, "POST", f"/rest/job-execution/job-kill/{own}").status_code == 200
    (stop,) = server.ledger.stops()
    assert (stop.action, stop.stopped) == ("legacy_stop", (own,))
    assert server.state.execution(other).is_active


def test_trigger_as_names_an_unknown_artifact(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    response = call(server.url, "POST", "/__emulator__/trigger?ref=9&user=bob", None)
    assert response.status_code == 404
    assert call(server.url, "POST", "/__emulator__/trigger?ref=1", None).status_code == 400


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")
def test_a_lost_trigger_answer_over_https_starts_the_job_then_cuts_the_tls_stream(
    tmp_path: Path,
) -> None:
    certificate = make_certificate(tmp_path)
    faulty = build_scenario(scenario(artifact(1)), faults={"lost_trigger_rate": 1})
    with EmulatorServer(faulty, tls=(certificate.cert, certificate.key)) as server:
        parts = urlsplit(server.url)
        context = ssl.create_default_context(cafile=str(certificate.cert))
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=5, context=context
        )
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        connection.request("POST", TRIGGER.format(1), headers={"Authorization": f"Basic {token}"})
        with pytest.raises((http.client.RemoteDisconnected, ssl.SSLError, socket.error)):
            connection.getresponse()
        (entry,) = server.ledger.triggers()
        assert (entry.effective, entry.response_lost) == (True, True)
        assert server.state.execution(entry.execution_id).is_active
