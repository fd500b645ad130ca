"""How emulated jobs behave: queueing, concurrency, outcomes per run, chains, lag, history.

Scenarios run on a manual clock (``testing.scenarios.scenario``): time moves only
when a test advances it, so every timeline below is exact.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from runner.emulator import EmulatorServer
from runner.emulator.execution import Execution
from testing.emulators import MakeEmulator
from testing.raw_http import call, get_json, post_json
from testing.scenarios import PASSWORD, USER, artifact, chain, scenario

AUTH = (USER, PASSWORD)


def trigger(server: EmulatorServer, file_id: int) -> int:
    return int(post_json(server.url, f"/api/job-execution/{file_id}/trigger")["job-execution-id"])


def sequence(server: EmulatorServer, *file_ids: int, **variables: str) -> list[dict[str, Any]]:
    body = {"variables": variables, "fileIds": list(file_ids)}
    plan: list[dict[str, Any]] = post_json(server.url, "/rest/job-execution?sequence=", json=body)[
        "execution-plan"
    ]
    return plan


def status_of(server: EmulatorServer, execution_id: int) -> str:
    return server.state.execution(execution_id).status


def test_queue_time_then_duration_then_outcome(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, queue_time=2, duration=10)))
    execution = trigger(server, 1)
    timeline = []
    for step in (1.9, 0.1, 9.9, 0.1):
        timeline.append(status_of(server, execution))
        server.clock.advance(step)
    timeline.append(status_of(server, execution))
    assert timeline == ["QUEUED", "QUEUED", "RUNNING", "RUNNING", "COMPLETED"]
    view = server.state.execution(execution)
    assert (view.start_time, view.stop_time, view.progress) == (2.0, 12.0, 100)


def test_max_concurrent_keeps_the_rest_queued(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(*(artifact(i, duration=10) for i in range(1, 5)), max_concurrent=2)
    )
    ids = [trigger(server, i) for i in range(1, 5)]
    assert [status_of(server, i) for i in ids] == ["RUNNING", "RUNNING", "QUEUED", "QUEUED"]
    server.clock.advance(10)
    assert [status_of(server, i) for i in ids] == ["COMPLETED", "COMPLETED", "RUNNING", "RUNNING"]
    assert [server.state.execution(i).start_time for i in ids] == [0.0, 0.0, 10.0, 10.0]


def test_a_slot_freed_late_is_used_at_that_moment(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(artifact(1, duration=4), artifact(2, duration=10), max_concurrent=1)
    )
    first, second = trigger(server, 1), trigger(server, 2)
    server.clock.advance(100)  # one jump over both transitions
    assert server.state.execution(second).start_time == server.state.execution(first).stop_time == 4


@pytest.mark.slow
def test_many_jobs_never_exceed_the_limit(make_emulator: MakeEmulator) -> None:
    artifacts = [artifact(i, duration=[5, 15], queue_time=1) for i in range(1, 501)]
    server = make_emulator(scenario(*artifacts, max_concurrent=10, seed=3))
    with requests.Session() as session:  # one keep-alive connection, like a real runner
        for i in range(1, 501):
            answer = session.post(f"{server.url}/api/job-execution/{i}/trigger", auth=AUTH)
            assert answer.status_code == 200
    assert len(get_json(server.url, "/rest/jobs/list-running")) == 500
    for _ in range(60):
        server.clock.advance(17)
        get_json(server.url, "/rest/jobs/list-running")
    views = server.state.executions()
    assert {v.status for v in views} == {"COMPLETED"}
    moments = sorted({v.start_time for v in views if v.start_time is not None})
    for moment in moments:
        running = [v for v in views if v.start_time <= moment < v.stop_time]  # type: ignore[operator]
        assert len(running) <= 10
    assert get_json(server.url, "/rest/jobs/list-running") == []


def test_outcomes_per_run_and_the_last_repeats(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=["ERROR", "CANCELED", "COMPLETED"])))
    results = []
    for _ in range(4):
        execution = trigger(server, 1)
        server.clock.advance(10)
        results.append(status_of(server, execution))
    assert results == ["ERROR", "CANCELED", "COMPLETED", "COMPLETED"]


def test_counters_per_run(make_emulator: MakeEmulator) -> None:
    runs = [{"IMPORT_RECORDS": 1}, {"IMPORT_RECORDS": 2}]
    server = make_emulator(
        scenario(artifact(1, kind="import_job", counters=runs, outcomes=["ERROR", "COMPLETED"]))
    )
    counters = []
    for _ in range(3):
        execution = trigger(server, 1)
        server.clock.advance(10)
        details = get_json(server.url, f"/rest/job-execution/job-details/{execution}")
        counters.append(details["counters"])
    assert counters == [{"IMPORT_RECORDS": 1}, {"IMPORT_RECORDS": 2}, {"IMPORT_RECORDS": 2}]


def test_error_runs_carry_no_usual_counters(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(artifact(1, counters={"X_RECORDS": 5}, outcomes=["ERROR", "COMPLETED"]))
    )
    first = trigger(server, 1)
    server.clock.advance(10)
    second = trigger(server, 1)
    server.clock.advance(10)
    assert server.state.execution(first).counters == {}
    assert server.state.execution(second).counters == {"X_RECORDS": 5}


def test_a_trigger_while_running_waits_for_the_previous_run(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=10, outcomes=["ERROR", "COMPLETED"])))
    first = trigger(server, 1)
    server.clock.advance(4)
    second = trigger(server, 1)
    assert status_of(server, second) == "WAITING_FOR_OTHER_JOB"
    assert server.state.execution(second).waiting_for == (first,)
    server.clock.advance(6)  # the first ends in ERROR: the second still runs
    assert (status_of(server, first), status_of(server, second)) == ("ERROR", "RUNNING")
    assert server.state.execution(second).start_time == 10


def test_stop_cancels_the_waiting_run_too(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1)))
    first, second = trigger(server, 1), trigger(server, 1)
    call(server.url, "POST", "/api/job-execution/1/stop")
    assert (status_of(server, first), status_of(server, second)) == ("CANCELED", "CANCELED")
    (entry,) = server.ledger.stops()
    assert (entry.execution_id, entry.effective) == (first, True)


# -- the sequential trigger -----------------------------------------------------------------


def test_a_chain_runs_in_dependency_order(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(*chain(1, 2, 3, duration=10)))
    plan = sequence(server, 1)
    ids = [step["job-execution-id"] for step in plan]
    assert [step["job-configuration-id"] for step in plan] == [1001, 1002, 1003]
    assert [status_of(server, i) for i in ids] == ["RUNNING"] + ["WAITING_FOR_OTHER_JOB"] * 2
    server.clock.advance(30)
    views = [server.state.execution(i) for i in ids]
    assert [(v.start_time, v.stop_time) for v in views] == [(0, 10), (10, 20), (20, 30)]
    assert {v.status for v in views} == {"COMPLETED"}


def test_fan_in_waits_for_every_upstream(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=5, downstream=[3]),
            artifact(2, duration=20, downstream=[3]),
            artifact(3, duration=5),
        )
    )
    plan = sequence(server, 1, 2)
    assert [s["job-configuration-id"] for s in plan] == [1001, 1002, 1003]
    server.clock.advance(25)
    assert server.state.execution(plan[2]["job-execution-id"]).start_time == 20


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        pytest.param("ERROR", ["ERROR", "CANCELED", "CANCELED"], id="error"),
        pytest.param(
            "COMPLETED_WITH_WARNINGS",
            ["COMPLETED_WITH_WARNINGS", "COMPLETED", "COMPLETED"],
            id="warnings-pass",
        ),
        pytest.param("CANCELED", ["CANCELED", "CANCELED", "CANCELED"], id="canceled"),
    ],
)
def test_a_failed_upstream_cancels_the_rest_of_the_chain(
    make_emulator: MakeEmulator, failing: str, expected: list[str]
) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=[failing], downstream=[2]), *chain(2, 3)))
    ids = [step["job-execution-id"] for step in sequence(server, 1)]
    server.clock.advance(100)
    assert [status_of(server, i) for i in ids] == expected
    if expected[1] == "CANCELED":
        assert server.state.execution(ids[1]).start_time is None


def test_stopping_the_upstream_cancels_the_chain(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(*chain(1, 2, 3)))
    ids = [step["job-execution-id"] for step in sequence(server, 1)]
    server.clock.advance(3)
    call(server.url, "POST", "/api/job-execution/1/stop")
    assert [status_of(server, i) for i in ids] == ["CANCELED"] * 3
    assert [len(server.ledger.stops(file_id=i)) for i in (1, 2, 3)] == [1, 0, 0]


def test_a_non_data_driven_downstream_is_listed_not_run(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(
            artifact(1, downstream=[2]),
            artifact(2, data_driven=False, downstream=[3]),
            artifact(3),
        )
    )
    plan = sequence(server, 1)
    assert plan[1] == {
        "job-configuration-name": "artifact-2",
        "job-configuration-id": 1002,
        "trigger": False,
    }
    assert len(plan) == 2
    assert server.state.executions_of(2) == []


def test_a_sequence_waits_behind_a_running_execution(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(*chain(1, 2, duration=10)))
    earlier = trigger(server, 1)
    server.clock.advance(5)
    ids = [step["job-execution-id"] for step in sequence(server, 1)]
    server.clock.advance(5)
    assert server.state.execution(ids[0]).start_time == server.state.execution(earlier).stop_time


def test_sequence_variables_reach_every_execution(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(*chain(1, 2)))
    sequence(server, 1, run_date="2026-11-28", region="EMEA")
    assert [e.variables for e in server.state.executions()] == [
        {"run_date": "2026-11-28", "region": "EMEA"}
    ] * 2
    assert [e.action for e in server.ledger.entries()] == ["sequence", "sequence"]


# -- status lag ------------------------------------------------------------------------------


def test_status_lag_shows_the_previous_execution(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=2), status_lag=5))
    first = trigger(server, 1)
    assert get_json(server.url, "/api/job-execution/1/status")["job-status"] == "_NONE"
    server.clock.advance(5)
    assert get_json(server.url, "/api/job-execution/1/status")["job-execution-id"] == first
    second = trigger(server, 1)
    lagging = get_json(server.url, "/api/job-execution/1/status")
    assert (lagging["job-execution-id"], lagging["job-status"]) == (first, "COMPLETED")
    v1 = get_json(server.url, "/rest/job-configuration/job-status/1001")
    assert v1["id"] == second
    server.clock.advance(5)
    assert get_json(server.url, "/api/job-execution/1/status")["job-execution-id"] == second


# -- durations and history -----------------------------------------------------------------------


def _durations(make_emulator: MakeEmulator, seed: int) -> list[float]:
    server = make_emulator(scenario(artifact(1, duration=[10, 100]), seed=seed))
    runs = []
    for _ in range(3):
        runs.append(server.state.execution(trigger(server, 1)).duration)
        server.clock.advance(100)
    return runs


def test_duration_ranges_are_seeded(make_emulator: MakeEmulator) -> None:
    first, again, other = (_durations(make_emulator, s) for s in (1, 1, 2))
    assert first == again
    assert first != other
    assert all(10 <= d <= 100 for d in first + other)
    assert len(set(first)) == 3


def test_history_runs_and_running_history_ends(make_emulator: MakeEmulator) -> None:
    history = [
        {"id": 5, "status": "COMPLETED", "ago": "2h", "duration": 60},
        {"id": 6, "status": "RUNNING", "ago": 30, "duration": 40, "outcome": "ERROR"},
    ]
    server = make_emulator(scenario(artifact(1, history=history)))
    assert [e.execution_id for e in server.state.executions_of(1)] == [5, 6]
    assert server.state.execution(5).start_time == -7200
    assert status_of(server, 6) == "RUNNING"
    server.clock.advance(10)
    assert status_of(server, 6) == "ERROR"
    assert trigger(server, 1) == 1002  # above every file and configuration id


def test_queued_history_starts_at_time_zero(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, queue_time=3, history=[{"status": "QUEUED"}])))
    (queued,) = server.state.executions_of(1)
    assert queued.status == "QUEUED"
    server.clock.advance(3)
    assert server.state.execution(queued.execution_id).status == "RUNNING"


def test_first_execution_id(make_emulator: MakeEmulator) -> None:
    server = make_emulator(
        scenario(artifact(1, history=[{"id": 3, "status": "ERROR"}]), first_execution_id=3)
    )
    assert [trigger(server, 1), trigger(server, 1)] == [4, 5]


# -- clocks ----------------------------------------------------------------------------------


def test_a_real_clock_runs_by_itself(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=5)), time_scale=1000)
    execution = trigger(server, 1)
    deadline = time.monotonic() + 10
    while status_of(server, execution) != "COMPLETED" and time.monotonic() < deadline:
        time.sleep(0.005)
    assert status_of(server, execution) == "COMPLETED"


def test_advance_over_http(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(artifact(1, duration=5)))
    execution = trigger(server, 1)
    answer = call(server.url, "POST", "/__emulator__/advance?seconds=5", auth=None)
    assert answer.json()["now"] == 5
    assert status_of(server, execution) == "COMPLETED"
    assert (
        call(server.url, "POST", "/__emulator__/advance?seconds=-1", auth=None).status_code == 400
    )


@pytest.mark.slow
def test_concurrent_triggers_get_distinct_ids(make_emulator: MakeEmulator) -> None:
    server = make_emulator(scenario(*(artifact(i) for i in range(1, 9))))
    ids: list[int] = []
    lock = threading.Lock()

    def client(file_id: int) -> None:
        for _ in range(15):
            execution = trigger(server, file_id)
            with lock:
                ids.append(execution)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == len(ids) == 120
    assert [e.seq for e in server.ledger.entries()] == list(range(1, 121))
    assert sorted(e.execution_id for e in server.ledger.entries()) == sorted(ids)  # type: ignore[type-var]


def test_list_running_costs_only_the_active_executions(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = [{"status": "COMPLETED", "ago": 10_000 - i, "duration": 1} for i in range(1000)]
    server = make_emulator(scenario(artifact(1, history=history), artifact(2), artifact(3)))
    trigger(server, 2)
    trigger(server, 3)
    built: list[int] = []
    original = Execution.view

    def counting_view(self: Execution, now: float) -> Any:
        built.append(self.execution_id)
        return original(self, now)

    monkeypatch.setattr(Execution, "view", counting_view)
    assert len(get_json(server.url, "/rest/jobs/list-running")) == 2
    assert len(built) == 2
