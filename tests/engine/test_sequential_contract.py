"""Sequential mode keeps the run contract (issue 12): every job matched, failures fail the run,
a lost answer never re-runs the chain, resume re-runs only what failed, handlers stay dmpipe's.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runner.emulator import EmulatorServer
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from runner.errors import UsageError
from runner.model import Job, Mode, OnFailure, When
from runner.reference import JobRef
from testing.engine_runs import artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
S, F, K = JobOutcome.SUCCEEDED, JobOutcome.FAILED, JobOutcome.SKIPPED
VARIABLES = {"run_date": "2026-11-28"}
UUID_A = "0c0e4cb8-5c2c-4d7e-9d64-3a3c9d0f1a01"
UUID_B = "7a1d2c33-1b8e-4f3e-a3d1-5e7f9c2b4d02"
UUID_C = "f8d450cd-f065-4abb-a232-27cd20c48c2b"
EARLIER_RUN = [{"status": "COMPLETED", "ago": "1d", "duration": "1m"}]


def named(name: str, ref: str | int, *needs: str, **fields: Any) -> Job:
    """A job of testing.engine_runs, named by file id, uuid or path."""
    return replace(job(name, 1, *needs, **fields), ref=JobRef.parse(ref))


def sequence_counts(server: EmulatorServer) -> Counter[int]:
    """Executions started by sequential triggers, per file id."""
    return Counter(e.file_id for e in server.ledger.entries() if e.action == "sequence")


def sequence_calls(server: EmulatorServer) -> int:
    return server.stats().get("POST /rest/job-execution?sequence=", 0)


# Each chain names its jobs differently; the artifacts a uuid or path names in the middle or
# at the end never ran before (their v2 status names no file id until the chain starts them).
CHAINS = [
    pytest.param(1, "/Analytics/Sales categorization", UUID_C, id="path-middle-uuid-end"),
    pytest.param(UUID_A, 2, "/Exports/Sales", id="uuid-head-path-end"),
    pytest.param("/Imports/Web logs", UUID_B, 3, id="path-head-uuid-middle"),
]


def chain_emulator(
    make_emulator: MakeEmulator, status_lag: float = 0, **middle: Any
) -> EmulatorServer:
    return make_emulator(
        scenario(
            artifact(1, name="import_logs", uuid=UUID_A, path="/Imports/Web logs",
                     downstream=[2], history=EARLIER_RUN),
            artifact(2, name="categorize", uuid=UUID_B, path="/Analytics/Sales categorization",
                     downstream=[3], **middle),
            artifact(3, name="export", uuid=UUID_C, path="/Exports/Sales"),
            status_lag=status_lag,
        )
    )  # fmt: skip


def chain_pipeline(a: str | int, b: str | int, c: str | int, **policies: Any) -> Any:
    jobs = [named("a", a), named("b", b, "a"), named("c", c, "b")]
    return pipeline(*jobs, mode=Mode.SEQUENTIAL, variables=VARIABLES, **policies)


@pytest.mark.parametrize(("a", "b", "c"), CHAINS)
def test_every_job_is_matched_whatever_names_it(
    make_emulator: MakeEmulator, tmp_path: Path, a: str | int, b: str | int, c: str | int
) -> None:
    server = chain_emulator(make_emulator)
    result = run(server, chain_pipeline(a, b, c), tmp_path)
    assert result.outcome.exit_code == 0
    assert [result.outcome_of(n) for n in "abc"] == [S, S, S]
    assert result.outcome.drift is not None
    assert not result.outcome.drift
    assert sequence_calls(server) == 1
    assert sequence_counts(server) == {1: 1, 2: 1, 3: 1}
    executions = {e.file_id: e.execution_id for e in server.ledger.entries()}
    reported = {result.outcome.states[n].file_id: result.outcome.states[n].attempts[0]
                for n in "abc"}  # fmt: skip
    assert {f: a.execution_id for f, a in reported.items()} == executions


@pytest.mark.parametrize(("a", "b", "c"), CHAINS)
def test_a_failing_job_in_the_chain_fails_the_run(
    make_emulator: MakeEmulator, tmp_path: Path, a: str | int, b: str | int, c: str | int
) -> None:
    server = chain_emulator(make_emulator, outcomes=["ERROR"])
    pipe = chain_pipeline(a, b, c, on_failure=OnFailure.CONTINUE)
    result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == 1
    assert [result.outcome_of(n) for n in "abc"] == [S, F, K]
    assert result.outcome.states["b"].attempts[0].status is not None
    assert sequence_counts(server) == {1: 1, 2: 1, 3: 1}
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["drift"]["found"] is False


def test_a_job_the_plan_does_not_run_fails_the_run(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # export is not data-driven downstream of categorize on this server.
    server = make_emulator(
        scenario(
            artifact(1, name="import_logs", downstream=[2]),
            artifact(2, name="categorize", path="/Analytics/Sales categorization"),
            artifact(3, name="export", uuid=UUID_C, history=EARLIER_RUN),
        )
    )
    pipe = chain_pipeline(1, "/Analytics/Sales categorization", UUID_C)
    result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == 1
    assert result.outcome_of("c") is F
    assert "does not run it" in (result.outcome.states["c"].reason or "")
    assert result.outcome.drift is not None
    assert result.outcome.drift.left_out == ("c",)


def test_a_head_that_cannot_be_resolved_refuses_sequential_mode(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = chain_emulator(make_emulator)
    pipe = chain_pipeline("/Imports/Nowhere", 2, 3)
    with pytest.raises(UsageError, match="the server has no artifact /Imports/Nowhere"):
        run(server, pipe, tmp_path)
    assert server.ledger.triggers() == []


def test_auto_mode_falls_back_to_client_mode_for_a_head_that_never_ran(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = chain_emulator(make_emulator)
    pipe = chain_pipeline(1, 2, 3)
    # categorize, named by path, heads this pipeline and never ran: no file id to send.
    pipe = replace(pipe, jobs={"b": named("b", "/Analytics/Sales categorization")})
    result = run(server, pipe, tmp_path, mode=Mode.AUTO)
    assert result.outcome.exit_code == 0
    assert result.outcome.summary.mode == "client"
    assert "has never run" in result.outcome.summary.mode_reason
    assert sequence_calls(server) == 0
    assert [e.file_id for e in server.ledger.triggers()] == [2]


# -- lost answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "status_lag"),
    [
        pytest.param({"lost_trigger_rate": 1.0}, 0, id="answer-lost"),
        # The v2 status shows the previous execution for a while: the search waits for it.
        pytest.param({"lost_trigger_rate": 1.0}, 20, id="answer-lost-status-lagging"),
        pytest.param({"lost_trigger_rate": 0.0}, 20, id="status-lagging"),
    ],
)
def test_a_lost_sequence_answer_is_resolved_without_a_second_trigger(
    make_emulator: MakeEmulator, tmp_path: Path, faults: dict[str, Any], status_lag: float
) -> None:
    server = chain_emulator(make_emulator, status_lag=status_lag)
    server.set_faults(paths=["/rest/job-execution"], **faults)
    result = run(server, chain_pipeline(1, "/Analytics/Sales categorization", UUID_C), tmp_path)
    assert result.outcome.exit_code == 0, result.kinds()
    assert [result.outcome_of(n) for n in "abc"] == [S, S, S]
    assert sequence_calls(server) == 1
    assert sequence_counts(server) == {1: 1, 2: 1, 3: 1}
    assert ("sequence_unknown" in result.kinds()) is (faults["lost_trigger_rate"] > 0)


def test_a_lost_answer_then_a_failure_stops_what_was_found(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, name="import_logs", downstream=[2], outcomes=["ERROR"]),
            artifact(2, name="categorize", path="/Analytics/Sales categorization",
                     downstream=[3], duration=500),
            artifact(3, name="export", uuid=UUID_C, duration=500),
        )
    )  # fmt: skip
    server.set_faults(paths=["/rest/job-execution"], lost_trigger_rate=1.0)
    result = run(server, chain_pipeline(1, "/Analytics/Sales categorization", UUID_C), tmp_path)
    assert result.outcome.exit_code == 1
    assert sequence_calls(server) == 1
    assert not server.state.active()


def test_a_5xx_sequence_answer_with_nothing_started_fails_once(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = chain_emulator(make_emulator)
    server.set_faults(paths=["/rest/job-execution"], error_rate=1.0)
    options = EngineOptions(trigger_resolve_timeout=0.5, stop_confirm_timeout=5)
    result = run(server, chain_pipeline(1, 2, 3), tmp_path, options=options)
    assert result.outcome.exit_code == 1
    assert result.outcome_of("a") is F
    assert "no execution showed up" in (result.outcome.states["a"].reason or "")
    assert sequence_calls(server) == 1  # looked for, never sent again
    assert server.ledger.triggers() == []


# -- resume ------------------------------------------------------------------------


def test_resuming_a_finished_run_does_nothing(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = chain_emulator(make_emulator)
    pipe = chain_pipeline(1, "/Analytics/Sales categorization", UUID_C)
    assert run(server, pipe, tmp_path).outcome.exit_code == 0
    again = run(server, pipe, tmp_path, resume=True)
    assert again.outcome.exit_code == 0
    assert "nothing_to_do" in again.kinds()
    assert sequence_calls(server) == 1
    assert not server.state.active()


def test_resume_reruns_the_chain_from_the_failed_job_only(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = chain_emulator(make_emulator, outcomes=["ERROR", "COMPLETED"])
    pipe = chain_pipeline(1, "/Analytics/Sales categorization", UUID_C)
    assert run(server, pipe, tmp_path).outcome.exit_code == 1
    again = run(server, pipe, tmp_path, resume=True)
    assert again.outcome.exit_code == 0
    assert [again.outcome_of(n) for n in "abc"] == [S, S, S]
    assert again.outcome.states["a"].resumed
    # a ran once; b and c twice: once in the failed run, once from b in the resumed one.
    assert sequence_counts(server) == {1: 1, 2: 2, 3: 2}
    assert sequence_calls(server) == 2


def test_resume_reattaches_to_a_chain_still_running(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    import threading

    server = make_emulator(
        scenario(
            artifact(1, name="import_logs", downstream=[2], duration=30),
            artifact(2, name="categorize", path="/Analytics/Sales categorization",
                     downstream=[3], duration=30),
            artifact(3, name="export", uuid=UUID_C, duration=30),
        )
    )  # fmt: skip
    pipe = chain_pipeline(1, "/Analytics/Sales categorization", UUID_C)
    # An interrupt stops what runs; the journal still lets a resume re-run what never finished.
    cancelled = threading.Event()
    cancelled.set()
    first = run(server, pipe, tmp_path, cancelled=cancelled)
    assert first.outcome.exit_code == 130
    again = run(server, pipe, tmp_path, resume=True)
    assert again.outcome.exit_code == 0
    assert [again.outcome_of(n) for n in "abc"] == [S, S, S]
    assert sequence_calls(server) <= 2
    assert all(count <= 2 for count in sequence_counts(server).values())


# -- handlers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "handler_runs", "exit_code"),
    [
        pytest.param(["COMPLETED"], False, 0, id="success-handler-skipped"),
        pytest.param(["ERROR"], True, 1, id="failure-handler-triggered-by-dmpipe"),
    ],
)
def test_failure_handlers_are_never_part_of_the_sequence(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    outcomes: list[str],
    handler_runs: bool,
    exit_code: int,
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, name="import_logs", downstream=[2]),
            artifact(2, name="categorize", outcomes=outcomes),
            artifact(9, name="notify"),
        )
    )
    jobs = [job("a", 1), job("b", 2, "a"), job("notify", 9, "b", when=When.ANY_FAILED)]
    pipe = pipeline(*jobs, mode=Mode.SEQUENTIAL, variables=VARIABLES)
    result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == exit_code
    assert 9 not in sequence_counts(server)
    assert [e.file_id for e in server.ledger.triggers() if e.action == "trigger"] == (
        [9] if handler_runs else []
    )


def test_a_step_the_server_added_is_watched_to_its_end_not_left_behind(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # The server's chain runs an extra artifact (4) after the pipeline's last job: this run
    # started it, so the run ends only once it has ended, and never stops it on success.
    server = make_emulator(
        scenario(
            artifact(1, name="import_sales", downstream=[2]),
            artifact(2, name="categorize", downstream=[3, 4]),
            artifact(3, name="export"),
            artifact(4, name="audit_copy", duration=100),
        )
    )
    pipe = pipeline(
        job("a", 1), job("b", 2, "a"), job("c", 3, "b"), mode=Mode.SEQUENTIAL, variables=VARIABLES
    )

    result = run(server, pipe, tmp_path)

    assert result.outcome.exit_code == 0
    assert result.outcome.drift is not None
    assert result.outcome.drift.added == ("audit_copy",)
    assert not server.state.active(), "the added step was left running"
    [added] = [e for e in server.ledger.entries() if e.action == "sequence" and e.file_id == 4]
    assert server.state.execution(added.execution_id).status == "COMPLETED"
    assert not [e for e in server.ledger.entries() if e.action in ("stop", "legacy_stop")]
