"""The run contract in the engine, on the emulator: unknown artifacts, stops that hit only
this run's executions, interrupts before a trigger, trigger times, and a server that stops
answering.  The emulator's ledger is the judge, not dmpipe's own account."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from runner.datameer.client import DatameerClient
from runner.engine.events import RunEvent
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from runner.errors import EXIT_FAILED, EXIT_INTERRUPTED
from runner.model import OnFailure
from runner.reference import JobRef
from testing.emulators import MakeEmulator
from testing.engine_runs import artifact, job, pipeline, run, scenario

OPTIONS = EngineOptions(trigger_resolve_timeout=1.0, stop_confirm_timeout=5.0, interrupt_grace=1.0)


def triggers(server: object) -> list[object]:
    return [e for e in server.ledger.entries() if e.action == "trigger"]  # type: ignore[attr-defined]


def test_an_unknown_artifact_fails_its_job_only_and_is_never_retried(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(scenario(artifact(1)))
    pipe = pipeline(job("good", 1), job("missing", 77, retries=3), on_failure=OnFailure.CONTINUE)

    result = run(server, pipe, tmp_path, options=OPTIONS)

    assert result.outcome.exit_code == EXIT_FAILED
    assert result.outcome_of("good") is JobOutcome.SUCCEEDED
    assert result.outcome_of("missing") is JobOutcome.FAILED
    assert len(result.outcome.states["missing"].attempts) == 1, "a 404 is not worth a retry"
    assert "retry_scheduled" not in result.kinds("missing")


def test_a_stop_hits_this_runs_execution_and_spares_another_users(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    users = {"admin": {"password": "admin"}, "analyst": {"password": "analyst"}}
    server = make_emulator(
        scenario(
            artifact(1, duration=600), artifact(2, duration=50, outcomes=["ERROR"]), users=users
        )
    )
    # `bad` fails while `long` runs, and analyst queues `long`'s artifact meanwhile.
    pipe = pipeline(job("long", 1), job("bad", 2))
    theirs: list[int] = []

    def other_user_queues_the_same_artifact() -> None:
        with DatameerClient(server.url, user="analyst", password="analyst") as other:
            theirs.append(other.trigger(JobRef.parse(1)).execution_id)

    # Trigger theirs as soon as ours exists: ours is then the running one, theirs waits.
    def when_ours_is_triggered(event: RunEvent) -> None:
        if event.kind == "triggered" and event.job == "long":
            other_user_queues_the_same_artifact()

    result = run(server, pipe, tmp_path, options=OPTIONS, on_event=when_ours_is_triggered)

    assert result.outcome.exit_code == EXIT_FAILED
    ours = result.outcome.states["long"].current
    assert ours is not None
    assert ours.execution_id is not None
    assert result.outcome_of("long") is JobOutcome.CANCELED
    assert ours.stop_method == "execution"
    assert server.state.execution(ours.execution_id).status == "CANCELED"
    [other] = theirs
    assert server.state.execution(other).status != "CANCELED", "another user's execution stopped"
    stops = [e for e in server.ledger.entries() if e.action in ("stop", "legacy_stop")]
    assert [e.execution_id for e in stops] == [ours.execution_id]


def _when_triggered(server: object, file_id: int, then: object) -> None:
    for _ in range(2000):
        if any(e.file_id == file_id for e in triggers(server)):  # type: ignore[attr-defined]
            then()  # type: ignore[operator]
            return
        threading.Event().wait(0.005)


@pytest.mark.slow  # real time: Ctrl-C during a status call that takes 1 s
def test_an_interrupt_before_the_trigger_skips_the_job(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # The status check before the trigger takes a second; Ctrl-C comes during it.
    slow_status = {"latency": [1.0, 1.0], "paths": ["/api/job-execution/*/status"]}
    server = make_emulator(scenario(artifact(1), faults=slow_status))
    cancelled = threading.Event()
    threading.Timer(0.3, cancelled.set).start()

    result = run(
        server,
        pipeline(job("only", 1)),
        tmp_path,
        options=OPTIONS,
        cancelled=cancelled,
        real_time=True,
    )

    assert result.outcome.exit_code == EXIT_INTERRUPTED
    assert result.outcome_of("only") is JobOutcome.SKIPPED
    assert result.outcome.states["only"].reason == "not run: interrupted"
    assert result.outcome.states["only"].attempts == []
    assert triggers(server) == []
    assert "finished" not in result.kinds("only")


@pytest.mark.slow  # real time: a trigger answer that takes 0.4 s
def test_the_trigger_time_is_taken_at_the_post(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    # Each trigger answer takes 0.4 s: the attempt's time is when the POST left, not when
    # its answer was collected.
    slow_trigger = {"latency": [0.4, 0.4], "paths": ["/api/job-execution/*/trigger"]}
    server = make_emulator(scenario(artifact(1), faults=slow_trigger))

    result = run(server, pipeline(job("only", 1)), tmp_path, options=OPTIONS, real_time=True)

    attempt = result.outcome.states["only"].current
    assert attempt is not None
    assert attempt.triggered_at is not None
    [landed] = [e for e in result.events if e.kind == "triggered"]
    assert (landed.at - attempt.triggered_at).total_seconds() >= 0.4


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_an_interrupt_is_honoured_when_the_server_stops_answering(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(scenario(artifact(1, duration=6000)))
    cancelled = threading.Event()

    def hang_then_interrupt() -> None:
        _when_triggered(server, 1, lambda: None)
        threading.Event().wait(0.3)
        server.set_faults(latency=[50.0, 50.0])  # every call now waits 50 s for its answer
        threading.Event().wait(0.5)
        cancelled.set()

    helper = threading.Thread(target=hang_then_interrupt)
    helper.start()
    result = run(
        server,
        pipeline(job("long", 1)),
        tmp_path,
        options=OPTIONS,
        cancelled=cancelled,
        real_time=True,
    )
    helper.join()

    assert result.outcome.exit_code == EXIT_INTERRUPTED
    report = json.loads((tmp_path / "report.json").read_text())
    [left] = report["left_running"]
    assert left["job"] == "long"
    attempt = report["jobs"][0]["attempts"][0]
    assert attempt["stop_requested"] is True
    assert attempt["left_running"] is not None
    # The calls dmpipe abandoned still wait on the server: cut them, so that they end (and
    # log) within this test rather than in a later one.
    server.stop()
    for thread in threading.enumerate():
        if thread.name.startswith("dmpipe"):
            thread.join(10)


def test_an_execution_answered_to_another_jobs_trigger_goes_back_to_its_own_job(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """a's trigger answer has no id; b's, a moment later, names a's execution (a server
    reusing the previous trigger's id).  b holds it only from that answer; a's search
    finds it in its own artifact's status, which outweighs the answer: a gets it, b looks
    for its own.  Each artifact is triggered once, and each job ends with its own."""
    faults = {
        "seed": 0,  # hostile draws: a's trigger answers without an id, b's reuses a's id
        "trigger_without_id": 0.5,
        "reuse_execution_id": 1,
        "latency": {"min": 0.1, "max": 0.1},  # real seconds: b's trigger lands after a's
        "paths": ["/api/job-execution/2/trigger"],
    }
    server = make_emulator(
        scenario(artifact(1, duration=30), artifact(2, duration=30), status_lag=5, faults=faults)
    )
    result = run(server, pipeline(job("a", 1), job("b", 2)), tmp_path, options=OPTIONS)

    by_file = {e.file_id: e for e in triggers(server)}  # type: ignore[attr-defined]
    assert len(triggers(server)) == 2
    assert by_file[1].answer_fault == "without_id"
    assert by_file[2].answered_id == by_file[1].execution_id
    assert result.outcome.exit_code == 0
    for name, file_id in (("a", 1), ("b", 2)):
        attempt = result.outcome.states[name].attempts[-1]
        assert attempt.execution_id == by_file[file_id].execution_id


def test_a_configuration_learnt_from_a_wrong_execution_is_forgotten(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """b's trigger is answered with an execution someone else started on artifact 3.  The
    run learns a configuration id from its running-list entry, then finds out (job
    details, file 3) that it is not b's: the id is forgotten with it, so b's own
    execution, of another configuration, is taken when found (once it was refused for
    good, and b looked for its own execution forever)."""
    server = make_emulator(
        scenario(
            artifact(2, duration=10),
            artifact(3, duration=20),
            faults={"reuse_execution_id": 1, "file_ids": [2]},
        )
    )
    with DatameerClient(server.url, user="admin", password="admin") as client:
        foreign = client.trigger(JobRef.parse(3)).execution_id
    result = run(server, pipeline(job("b", 2), timeout=60), tmp_path, options=OPTIONS)

    (own,) = [e for e in triggers(server) if e.file_id == 2]  # type: ignore[attr-defined]
    assert own.answered_id == foreign
    assert result.outcome.exit_code == 0
    state = result.outcome.states["b"]
    assert state.attempts[-1].execution_id == own.execution_id  # type: ignore[attr-defined]
    assert state.configuration_id == 1002
    assert "wrong_execution" in result.kinds("b")


def test_a_phantom_id_in_the_answer_leads_to_the_jobs_own_execution(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """The trigger is answered with an id that names no execution while the job runs
    under its own.  Once the answered id stayed unseen for ``unseen_grace``, one look at
    the artifact's status finds the execution the trigger started: it is watched to its
    end, and no stop goes to the id that names nothing (it may be someone else's)."""
    server = make_emulator(scenario(artifact(1, duration=300), faults={"phantom_execution_id": 1}))
    options = EngineOptions(trigger_resolve_timeout=1.0, stop_confirm_timeout=5.0, unseen_grace=1.0)
    result = run(server, pipeline(job("a", 1)), tmp_path, options=options)

    (trigger,) = triggers(server)
    assert trigger.answer_fault == "phantom_id"  # type: ignore[attr-defined]
    assert result.outcome.exit_code == 0
    attempt = result.outcome.states["a"].attempts[-1]
    assert attempt.execution_id == trigger.execution_id  # type: ignore[attr-defined]
    assert attempt.recovered
    assert "wrong_execution" in result.kinds("a")
    stops = [e for e in server.ledger.entries() if e.action in ("stop", "legacy_stop")]
    assert stops == []
