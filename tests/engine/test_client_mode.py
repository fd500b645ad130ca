"""Client mode on the emulator: every policy, through the real client over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.engine.events import RunEvent
from runner.engine.outcome import JobOutcome
from runner.model import AlreadyRunning, CounterExpectation, OnFailure, WarningsAs, When
from runner.reference import JobRef
from testing.engine_runs import PASSWORD, USER, artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
S, F, K, C, T = (
    JobOutcome.SUCCEEDED,
    JobOutcome.FAILED,
    JobOutcome.SKIPPED,
    JobOutcome.CANCELED,
    JobOutcome.TIMED_OUT,
)
LONG = 100_000  # emulated seconds: a job that never ends on its own during a test


def triggers(server: EmulatorServer, file_id: int | None = None) -> list[Any]:
    return [e for e in server.ledger.triggers(file_id=file_id) if e.effective]


def stops(server: EmulatorServer) -> list[Any]:
    return [e for e in server.ledger.entries() if e.action in ("stop", "legacy_stop")]


def test_chain_runs_in_order(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2), artifact(3)))
    result = run(server, pipeline(job("a", 1), job("b", 2, "a"), job("c", 3, "b")), tmp_path)
    assert result.outcome.exit_code == 0
    assert {n: s.outcome for n, s in result.outcome.states.items()} == {"a": S, "b": S, "c": S}
    order = [e.file_id for e in triggers(server)]
    assert order == [1, 2, 3]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["exit_code"] == 0
    assert [j["attempts"][0]["status"] for j in report["jobs"]] == ["COMPLETED"] * 3


def test_retry_then_success(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=["ERROR", "COMPLETED"])))
    result = run(server, pipeline(job("a", 1, retries=2)), tmp_path)
    assert result.outcome_of("a") is S
    assert len(result.outcome.states["a"].attempts) == 2
    assert len(triggers(server, 1)) == 2
    assert "retry_scheduled" in result.kinds("a")


def test_retries_exhausted(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=["ERROR"])))
    result = run(server, pipeline(job("a", 1, retries=2)), tmp_path)
    assert result.outcome_of("a") is F
    assert result.outcome.exit_code == 1
    assert len(triggers(server, 1)) == 3
    assert [a.status.value for a in result.outcome.states["a"].attempts if a.status] == [
        "ERROR"
    ] * 3


def test_timeout_stops_the_job(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1, duration=LONG)))
    result = run(server, pipeline(job("a", 1, timeout=0.3)), tmp_path)
    assert result.outcome_of("a") is T
    attempt = result.outcome.states["a"].attempts[0]
    assert attempt.stop_requested
    assert attempt.stop_confirmed is True
    assert len(stops(server)) == 1
    assert result.outcome.exit_code == 1


def test_timeout_retried_when_asked(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1, duration=LONG)))
    pipe = pipeline(job("a", 1, timeout=0.2, retries=1, retry_on=("TIMEOUT",)))
    result = run(server, pipe, tmp_path)
    assert result.outcome_of("a") is T
    assert len(triggers(server, 1)) == 2
    assert len(stops(server)) == 2


def test_on_failure_cancel(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(artifact(1, outcomes=["ERROR"]), artifact(2, duration=LONG), artifact(3))
    )
    pipe = pipeline(job("bad", 1), job("slow", 2), job("after", 3, "slow"))
    result = run(server, pipe, tmp_path)
    assert result.outcome_of("bad") is F
    assert result.outcome_of("slow") is C
    assert result.outcome_of("after") is K
    assert [e.file_id for e in stops(server)] == [2]
    assert result.outcome.states["slow"].attempts[0].stop_confirmed is True
    assert not triggers(server, 3)


def test_on_failure_finish_running(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(artifact(1, outcomes=["ERROR"]), artifact(2, duration=30), artifact(3))
    )
    pipe = pipeline(
        job("bad", 1), job("slow", 2), job("after", 3, "slow"), on_failure=OnFailure.FINISH_RUNNING
    )
    result = run(server, pipe, tmp_path)
    assert (result.outcome_of("bad"), result.outcome_of("slow")) == (F, S)
    assert result.outcome_of("after") is K
    assert not stops(server)


def test_on_failure_continue(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(artifact(1, outcomes=["ERROR"]), artifact(2), artifact(3), artifact(4))
    )
    pipe = pipeline(
        job("bad", 1),
        job("child", 2, "bad"),
        job("other", 3),
        job("other_child", 4, "other"),
        on_failure=OnFailure.CONTINUE,
    )
    result = run(server, pipe, tmp_path)
    outcomes = {n: s.outcome for n, s in result.outcome.states.items()}
    assert outcomes == {"bad": F, "child": K, "other": S, "other_child": S}
    assert result.outcome.exit_code == 1


@pytest.mark.parametrize(
    ("first", "when", "expected"),
    [
        pytest.param("COMPLETED", When.ALL_SUCCESS, S, id="all_success-runs"),
        pytest.param("ERROR", When.ALL_SUCCESS, K, id="all_success-skipped"),
        pytest.param("ERROR", When.ALL_DONE, S, id="all_done-after-failure"),
        pytest.param("COMPLETED", When.ALL_DONE, S, id="all_done-after-success"),
        pytest.param("ERROR", When.ANY_FAILED, S, id="any_failed-runs"),
        pytest.param("COMPLETED", When.ANY_FAILED, K, id="any_failed-skipped"),
    ],
)
def test_when_rules(
    make_emulator: MakeEmulator, tmp_path: Path, first: str, when: When, expected: JobOutcome
) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=[first]), artifact(2)))
    pipe = pipeline(job("first", 1), job("second", 2, "first", when=when))
    result = run(server, pipe, tmp_path)
    assert result.outcome_of("second") is expected
    assert bool(triggers(server, 2)) is (expected is S)


@pytest.mark.parametrize(
    ("warnings", "expected", "code"),
    [
        pytest.param(WarningsAs.SUCCESS, S, 0, id="success"),
        pytest.param(WarningsAs.FAILURE, F, 1, id="failure"),
    ],
)
def test_warnings(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    warnings: WarningsAs,
    expected: JobOutcome,
    code: int,
) -> None:
    server = make_emulator(scenario(artifact(1, outcomes=["COMPLETED_WITH_WARNINGS"])))
    result = run(server, pipeline(job("a", 1, warnings=warnings)), tmp_path)
    assert result.outcome_of("a") is expected
    assert result.outcome.exit_code == code


def test_failed_gate_fails_and_is_not_retried(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(artifact(1, kind="import_job", counters={"IMPORT_DROPPED_RECORDS": 12}))
    )
    gate = CounterExpectation("IMPORT_DROPPED_RECORDS", "==", 0)
    result = run(server, pipeline(job("a", 1, retries=3, expect=(gate,))), tmp_path)
    assert result.outcome_of("a") is F
    assert "IMPORT_DROPPED_RECORDS == 0: got 12" in (result.outcome.states["a"].reason or "")
    assert len(triggers(server, 1)) == 1


def test_gate_passes(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1, kind="import_job", counters={"IMPORT_RECORDS": 7})))
    gate = CounterExpectation("IMPORT_RECORDS", ">", 0)
    result = run(server, pipeline(job("a", 1, expect=(gate,))), tmp_path)
    assert result.outcome_of("a") is S
    assert result.outcome.states["a"].attempts[0].counters["IMPORT_RECORDS"] == 7


def _start_outside(server: EmulatorServer, file_id: int) -> int:
    with DatameerClient(server.url, user=USER, password=PASSWORD) as client:
        return client.trigger(JobRef.parse(file_id)).execution_id


@pytest.mark.parametrize(
    ("policy", "expected", "own_triggers"),
    [
        pytest.param(AlreadyRunning.WAIT, S, 1, id="wait"),
        pytest.param(AlreadyRunning.ATTACH, S, 0, id="attach"),
        pytest.param(AlreadyRunning.FAIL, F, 0, id="fail"),
    ],
)
def test_already_running(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    policy: AlreadyRunning,
    expected: JobOutcome,
    own_triggers: int,
) -> None:
    server = make_emulator(scenario(artifact(1, duration=20)))
    foreign = _start_outside(server, 1)
    result = run(server, pipeline(job("a", 1, already_running=policy)), tmp_path)
    assert result.outcome_of("a") is expected
    assert len(triggers(server, 1)) == 1 + own_triggers
    attempt = result.outcome.states["a"].attempts[0]
    if policy is AlreadyRunning.ATTACH:
        assert attempt.execution_id == foreign
        assert attempt.attached
    if policy is AlreadyRunning.WAIT:
        assert "waiting" in result.kinds("a")
        assert attempt.execution_id != foreign


def test_max_parallel_caps_running_jobs(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(*(artifact(i, duration=5) for i in range(1, 7))))
    pipe = pipeline(*(job(f"j{i}", i) for i in range(1, 7)), max_parallel=2)
    result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == 0
    assert result.peak_running() == 2


def test_run_timeout_stops_everything(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(scenario(artifact(1, duration=LONG), artifact(2)))
    pipe = pipeline(job("slow", 1), job("after", 2, "slow"), timeout=0.3)
    result = run(server, pipe, tmp_path)
    assert result.outcome_of("slow") is T
    assert result.outcome_of("after") is K
    assert result.outcome.summary.timed_out
    assert result.outcome.exit_code == 1
    assert len(stops(server)) == 1


def test_interrupt_stops_started_jobs_and_writes_report(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(scenario(artifact(1, duration=LONG), artifact(2, duration=LONG)))
    cancelled = threading.Event()
    running: set[str] = set()

    def interrupt_once_both_run(event: RunEvent) -> None:  # Ctrl-C, at an exact point
        if event.kind == "triggered":
            running.add(event.job)
            if running == {"a", "b"}:
                cancelled.set()

    pipe = pipeline(job("a", 1), job("b", 2))
    result = run(server, pipe, tmp_path, cancelled=cancelled, on_event=interrupt_once_both_run)
    assert result.outcome.exit_code == 130
    assert {e.file_id for e in stops(server)} == {1, 2}
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] is True
    assert {j["outcome"] for j in report["jobs"]} == {"CANCELED"}
    assert all(j["attempts"][0]["stop_confirmed"] for j in report["jobs"])


def test_resume_reattaches_and_reruns_only_what_is_left(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(artifact(1), artifact(2, outcomes=["ERROR", "COMPLETED"]), artifact(3))
    )
    pipe = pipeline(job("a", 1), job("b", 2, "a"), job("c", 3, "b"))
    first = run(server, pipe, tmp_path)
    assert [first.outcome_of(n) for n in "abc"] == [S, F, K]
    second = run(server, pipe, tmp_path, resume=True)
    assert [second.outcome_of(n) for n in "abc"] == [S, S, S]
    assert second.outcome.states["a"].resumed
    assert [len(triggers(server, i)) for i in (1, 2, 3)] == [1, 2, 1]


def test_resume_reattaches_to_a_running_execution(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    from datetime import datetime

    from runner.engine.events import RunEvent
    from runner.engine.journal import Journal

    server = make_emulator(scenario(artifact(1, duration=20)))
    execution = _start_outside(server, 1)
    journal = Journal(tmp_path)  # what a run killed right after its trigger leaves behind
    now = datetime.now(UTC)
    journal(RunEvent(now, "trigger_sent", "a", 1, "", {"previous_execution_id": None}))
    journal(RunEvent(now, "triggered", "a", 1, "", {"execution_id": execution}))
    journal.close()
    result = run(server, pipeline(job("a", 1)), tmp_path, resume=True)
    assert result.outcome_of("a") is S
    assert result.outcome.states["a"].attempts[0].execution_id == execution
    assert len(triggers(server, 1)) == 1


def test_resume_finds_a_trigger_whose_answer_was_lost(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    from datetime import datetime

    from runner.engine.events import RunEvent
    from runner.engine.journal import Journal

    server = make_emulator(scenario(artifact(1, duration=20)))
    journal = Journal(tmp_path)  # killed after sending the trigger, before its answer
    journal(
        RunEvent(datetime.now(UTC), "trigger_sent", "a", 1, "", {"previous_execution_id": None})
    )
    journal.close()
    execution = _start_outside(server, 1)  # ... which the server did start
    result = run(server, pipeline(job("a", 1)), tmp_path, resume=True)
    assert result.outcome_of("a") is S
    assert result.outcome.states["a"].attempts[0].execution_id == execution
    assert len(triggers(server, 1)) == 1


@pytest.mark.parametrize(
    ("batch", "per_tick_details", "looks"),
    [
        # One look, the scout's: the other jobs take its execution as their baseline.
        pytest.param(True, False, 1, id="batched"),
        # Without list-running no job goes without its look (engine.baseline).
        pytest.param(False, True, 20, id="per-job"),
    ],
)
def test_polling_load(
    make_emulator: MakeEmulator, tmp_path: Path, batch: bool, per_tick_details: bool, looks: int
) -> None:
    from runner.engine.options import EngineOptions

    count = 20
    server = make_emulator(scenario(*(artifact(i, duration=30) for i in range(1, count + 1))))
    options = EngineOptions(batch_polling=batch, trigger_resolve_timeout=2)
    result = run(
        server, pipeline(*(job(f"j{i}", i) for i in range(1, count + 1))), tmp_path, options=options
    )
    assert result.outcome.exit_code == 0
    stats = server.stats()
    details = stats.get("GET /rest/job-execution/job-details/{id}", 0)
    assert stats.get("POST /api/job-execution/{ref}/trigger", 0) == count
    assert stats.get("GET /api/job-execution/{ref}/status", 0) == looks
    if per_tick_details:
        assert stats.get("GET /rest/jobs/list-running", 0) == 1  # the preflight only
        assert details > 2 * count  # every job, every tick
    else:
        # One details call per finished execution; one list-running call per tick for all.
        assert details == count
        assert stats.get("GET /rest/jobs/list-running", 0) >= 2
