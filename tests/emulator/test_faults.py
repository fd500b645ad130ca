"""Injected faults: each kind, seeded and reproducible, switched on and off at run time."""

from __future__ import annotations

import base64
import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from runner.emulator import EmulatorServer, Faults
from runner.emulator import server as server_module
from runner.emulator.faults import FaultInjector
from runner.errors import ScenarioError
from testing.emulators import MakeEmulator
from testing.raw_http import call, get_json
from testing.scenarios import PASSWORD, USER, artifact, scenario

AUTH = (USER, PASSWORD)


def outcomes(
    server: EmulatorServer,
    count: int,
    path: str = "/rest/jobs/list-running",
    auth: tuple[str, str] = AUTH,
) -> list[str]:
    """What each of ``count`` GETs met: the status code, or "drop"."""
    seen = []
    for _ in range(count):
        try:
            seen.append(str(call(server.url, "GET", path, auth).status_code))
        except requests.ConnectionError:
            seen.append("drop")
    return seen


def raw_post(server: EmulatorServer, path: str) -> http.client.HTTPResponse:
    """A POST over http.client, so a cut connection surfaces as it would to any client."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    connection.request("POST", path, headers={"Authorization": f"Basic {token}"})
    return connection.getresponse()


def test_same_seed_same_faults(make_emulator: MakeEmulator) -> None:
    faults = {"seed": 11, "error_rate": 0.3, "drop_rate": 0.2}
    first = outcomes(make_emulator(scenario(faults=faults)), 40)
    again = outcomes(make_emulator(scenario(faults=faults)), 40)
    other = outcomes(make_emulator(scenario(faults={**faults, "seed": 12})), 40)
    assert first == again
    assert first != other
    assert {"200", "500", "drop"} <= set(first)


def test_the_decisions_follow_the_seed_exactly() -> None:
    faults = Faults(
        seed=5, latency=(0.0, 0.2), error_rate=0.25, drop_rate=0.25, lost_trigger_rate=0.5
    )
    first = [FaultInjector(faults).decide("/api/x") for _ in range(1)]
    injector, again = FaultInjector(faults), FaultInjector(faults)
    sequence = [injector.decide("/api/x") for _ in range(50)]
    assert sequence == [again.decide("/api/x") for _ in range(50)]
    assert sequence[0] == first[0]
    assert {d.kind for d in sequence} == {None, "error", "drop"}
    assert {d.lose_answer for d in sequence} == {True, False}
    assert all(0 <= d.latency <= 0.2 for d in sequence)


def test_error_rate_answers_5xx_and_the_action_does_not_happen(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(artifact(1), faults={"error_rate": 1, "error_status": 503, "retry_after": 2})
    )
    response = call(server.url, "POST", "/api/job-execution/1/trigger")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json()["status"] == "failure"
    assert server.ledger.entries() == []
    assert server.state.executions_of(1) == []
    assert server.stats()["fault:error"] == 1


def test_a_dropped_connection_and_the_action_does_not_happen(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1), faults={"drop_rate": 1}))
    with pytest.raises(requests.ConnectionError):
        call(server.url, "POST", "/api/job-execution/1/trigger")
    assert server.ledger.entries() == []
    assert server.state.executions_of(1) == []
    assert server.stats()["fault:drop"] == 1


@pytest.mark.parametrize(
    ("path", "action"),
    [
        pytest.param("/api/job-execution/1/trigger", "trigger", id="trigger"),
        pytest.param("/rest/job-execution?sequence=1", "sequence", id="sequence"),
        pytest.param("/rest/job-execution?configuration=1001", "legacy_trigger", id="legacy"),
    ],
)
def test_a_lost_trigger_answer_after_the_job_started(
    make_emulator: MakeEmulator, path: str, action: str
) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"lost_trigger_rate": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        raw_post(server, path)
    (entry,) = server.ledger.triggers()
    assert (entry.action, entry.file_id, entry.response_lost, entry.effective) == (
        action,
        1,
        True,
        True,
    )
    (execution,) = server.state.executions_of(1)
    assert execution.execution_id == entry.execution_id
    assert execution.is_active
    assert server.stats()["fault:lost_answer"] == 1


def test_lost_answers_only_hit_triggers(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"lost_trigger_rate": 1})
    assert get_json(server.url, "/api/job-execution/1/status")["job-status"] == "_NONE"
    assert call(server.url, "POST", "/api/job-execution/1/stop").status_code == 200


def test_latency_delays_the_answer(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(server_module, "_sleep", waits.append)
    server = make_emulator(scenario(), faults={"latency": {"min": 0.5, "max": 2}, "seed": 1})
    assert outcomes(server, 5) == ["200"] * 5
    assert len(waits) == 5
    assert all(0.5 <= wait <= 2 for wait in waits)
    assert len(set(waits)) == 5


def test_paths_filter_what_is_faulted(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)), faults={"error_rate": 1, "paths": ["/api/*"]})
    assert call(server.url, "GET", "/rest/jobs/list-running").status_code == 200
    assert call(server.url, "GET", "/api/job-execution/1/status").status_code == 500


def test_private_endpoints_are_never_faulted(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(), faults={"drop_rate": 1})
    for path in ("/__emulator__/ledger", "/__emulator__/stats", "/__emulator__/state"):
        assert call(server.url, "GET", path, auth=None).status_code == 200


def test_set_faults_switches_them_on_and_off(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    assert outcomes(server, 3) == ["200"] * 3
    server.set_faults(error_rate=1.0, seed=3)
    assert outcomes(server, 3) == ["500"] * 3
    current = server.faults
    server.set_faults(current, error_rate=0.0, drop_rate=1.0)
    assert outcomes(server, 2) == ["drop"] * 2
    server.set_faults()
    assert outcomes(server, 3) == ["200"] * 3
    assert not server.faults.active


def test_set_faults_restarts_the_seeded_sequence(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario())
    spec: dict[str, Any] = {"seed": 4, "error_rate": 0.5}
    server.set_faults(spec)
    first = outcomes(server, 20)
    server.set_faults(spec)
    assert outcomes(server, 20) == first


def test_set_faults_validates(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario())
    with pytest.raises(ScenarioError, match=r"set_faults: faults\.error_rate"):
        server.set_faults(error_rate=3)


def test_faults_over_http(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario())
    answer = call(server.url, "POST", "/__emulator__/faults", auth=None, json={"error_rate": 1})
    assert answer.json() == {"active": True, "seed": 0}
    assert outcomes(server, 1) == ["500"]
    bad = call(server.url, "POST", "/__emulator__/faults", auth=None, json={"error_rate": 9})
    assert bad.status_code == 400
    call(server.url, "POST", "/__emulator__/faults", auth=None, json={})
    assert outcomes(server, 1) == ["200"]


@pytest.mark.slow
def test_faulty_example_is_flaky_but_reproducible(make_emulator: MakeEmulator) -> None:
    from testing.scenarios import EXAMPLES

    runs = []
    for _ in range(2):
        server = make_emulator(EXAMPLES / "faulty.yaml", clock="manual")
        server.set_faults(server.faults, latency=(0.0, 0.0))  # keep the test fast
        runs.append(outcomes(server, 60, "/api/job-execution/48/status", ("analyst", "analyst")))
    assert runs[0] == runs[1]
    assert {"200", "503"} <= set(runs[0])
