"""Sequential and auto mode on the emulator: the chain runs on the server, the runner watches."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.emulator import EmulatorServer
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from runner.model import Mode, OnFailure
from testing.engine_runs import artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
S, F, K = JobOutcome.SUCCEEDED, JobOutcome.FAILED, JobOutcome.SKIPPED
VARIABLES = {"run_date": "2026-11-28"}


def chain_scenario(**overrides: object) -> dict[str, object]:
    return scenario(
        artifact(1, name="import_sales", downstream=[2]),
        artifact(2, name="categorize", downstream=[3], **overrides),
        artifact(3, name="export"),
    )


def chain() -> list[object]:
    return [job("a", 1), job("b", 2, "a"), job("c", 3, "b")]


def ledger(server: EmulatorServer, action: str) -> list[object]:
    return [e for e in server.ledger.entries() if e.action == action]


def test_sequential_runs_the_chain_with_variables(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(chain_scenario())
    pipe = pipeline(*chain(), mode=Mode.SEQUENTIAL, variables=VARIABLES)  # type: ignore[arg-type]
    result = run(server, pipe, tmp_path)
    assert [result.outcome_of(n) for n in "abc"] == [S, S, S]
    sequences = ledger(server, "sequence")
    assert [e.file_id for e in sequences] == [1, 2, 3]  # type: ignore[attr-defined]
    assert all(e.variables == VARIABLES for e in sequences)  # type: ignore[attr-defined]
    assert not ledger(server, "trigger")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mode"]["name"] == "sequential"
    assert report["drift"] == {"found": False, "added": [], "left_out": [], "out_of_order": []}


@pytest.mark.slow
def test_sequential_reports_drift(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(
            artifact(1, name="import_sales", downstream=[2]),
            artifact(2, name="categorize", downstream=[4]),
            artifact(3, name="export"),
            artifact(4, name="audit_copy"),
        )
    )
    pipe = pipeline(*chain(), mode=Mode.SEQUENTIAL, variables=VARIABLES)  # type: ignore[arg-type]
    result = run(server, pipe, tmp_path)
    drift = result.outcome.drift
    assert drift is not None
    assert drift.added == ("audit_copy",)
    assert drift.left_out == ("c",)
    assert "drift" in result.kinds()
    # A job the plan does not run fails: the pipeline said it must run (no false success).
    assert result.outcome_of("c") is F
    assert result.outcome.exit_code == 1
    # The step no job matched was started by this run: it is stopped when the run fails.
    stopped = ledger(server, "stop") + ledger(server, "legacy_stop")
    assert 4 in {e.file_id for e in stopped}  # type: ignore[attr-defined]
    assert not server.state.active()
    assert json.loads((tmp_path / "report.json").read_text())["drift"]["found"] is True


def test_strict_plan_makes_drift_an_error(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(
            artifact(1, name="import_sales", downstream=[2], duration=50),
            artifact(2, name="categorize", duration=50),
            artifact(3, name="export"),
        )
    )
    pipe = pipeline(*chain(), mode=Mode.SEQUENTIAL, variables=VARIABLES)  # type: ignore[arg-type]
    options = EngineOptions(strict_plan=True, trigger_resolve_timeout=2, stop_confirm_timeout=5)
    result = run(server, pipe, tmp_path, options=options)
    assert result.outcome.exit_code == 1
    assert result.outcome_of("a") is JobOutcome.CANCELED
    stopped = ledger(server, "stop") + ledger(server, "legacy_stop")
    assert {e.file_id for e in stopped} == {1, 2}  # type: ignore[attr-defined]


def test_sequential_retry_retriggers_the_failed_job(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(chain_scenario(outcomes=["ERROR", "COMPLETED"]))
    jobs = [job("a", 1), job("b", 2, "a", retries=1), job("c", 3, "b")]
    pipe = pipeline(*jobs, mode=Mode.SEQUENTIAL, variables=VARIABLES)
    result = run(server, pipe, tmp_path)
    assert [result.outcome_of(n) for n in "abc"] == [S, S, S]
    assert [e.file_id for e in ledger(server, "sequence")] == [1, 2, 3, 2, 3]  # type: ignore[attr-defined]
    assert len(result.outcome.states["b"].attempts) == 2
    assert result.outcome.states["c"].attempts[0].outcome is K  # its chain was cut by b


@pytest.mark.parametrize(
    ("policy", "rest"),
    [
        # The runner stops what is left of the chain itself ...
        pytest.param(OnFailure.CANCEL, JobOutcome.CANCELED, id="cancel"),
        # ... or lets the server cancel it, which leaves the job not run.
        pytest.param(OnFailure.CONTINUE, K, id="continue"),
    ],
)
def test_sequential_failure_ends_the_rest_of_the_chain(
    make_emulator: MakeEmulator, tmp_path: Path, policy: OnFailure, rest: JobOutcome
) -> None:
    server = make_emulator(chain_scenario(outcomes=["ERROR"]))
    pipe = pipeline(*chain(), mode=Mode.SEQUENTIAL, variables=VARIABLES, on_failure=policy)  # type: ignore[arg-type]
    result = run(server, pipe, tmp_path)
    assert [result.outcome_of(n) for n in "abc"] == [S, F, rest]
    assert result.outcome.exit_code == 1


def test_auto_uses_the_sequential_trigger_for_variables(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(chain_scenario())
    pipe = pipeline(*chain(), mode=Mode.AUTO, variables=VARIABLES)  # type: ignore[arg-type]
    result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == 0
    assert len(ledger(server, "sequence")) == 3
    # The report names the mode that ran, the one asked for, and no fallback.
    assert result.outcome.summary.mode == "sequential"
    assert result.outcome.summary.mode_requested == "auto"
    assert result.outcome.summary.mode_fallback is None


def test_auto_falls_back_to_client_mode_without_the_endpoint(
    make_emulator: MakeEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_emulator(chain_scenario(), version="7.4")
    pipe = pipeline(*chain(), mode=Mode.AUTO, variables=VARIABLES)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == 0
    assert "mode_fallback" in result.kinds()
    # A fallback is no error: nothing had started when the server refused.
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert result.outcome.summary.mode == "client"
    assert result.outcome.summary.mode_requested == "auto"
    assert "sequential trigger" in (result.outcome.summary.mode_fallback or "")
    assert not ledger(server, "sequence")
    assert [e.file_id for e in ledger(server, "trigger")] == [1, 2, 3]  # type: ignore[attr-defined]
