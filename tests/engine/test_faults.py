"""The engine under the API's worst habits: lagging status and lost trigger answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from runner.emulator import EmulatorServer
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from testing.engine_runs import artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]


def layered(levels: int, width: int) -> tuple[list[dict[str, object]], list[object]]:
    artifacts, jobs = [], []
    for level in range(levels):
        for slot in range(width):
            file_id = 100 + level * width + slot
            needs = [f"j{file_id - width}"] if level else []
            outcomes = ["ERROR", "COMPLETED"] if slot == 0 else ["COMPLETED"]
            artifacts.append(artifact(file_id, duration=3 + slot % 3, outcomes=outcomes))
            jobs.append(job(f"j{file_id}", file_id, *needs, retries=1))
    return artifacts, jobs


def test_one_trigger_per_attempt_with_lag_and_lost_answers(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    artifacts, jobs = layered(5, 10)
    server = make_emulator(
        scenario(
            *artifacts,
            status_lag=2,
            faults={"seed": 11, "lost_trigger_rate": 0.25, "latency": {"min": 0, "max": 0.01}},
        )
    )
    options = EngineOptions(trigger_resolve_timeout=3.0, stop_confirm_timeout=5.0)
    result = run(server, pipeline(*jobs), tmp_path, options=options)  # type: ignore[arg-type]

    assert result.outcome.exit_code == 0
    assert {s.outcome for s in result.outcome.states.values()} == {JobOutcome.SUCCEEDED}
    lost = [e for e in server.ledger.entries() if e.action == "trigger" and e.response_lost]
    assert len(lost) >= 5, "the fault must really have cut some answers"
    effective = Counter(
        e.file_id for e in server.ledger.entries() if e.action == "trigger" and e.effective
    )
    attempts = {int(s.name[1:]): len(s.attempts) for s in result.outcome.states.values()}
    assert effective == Counter(attempts)
    # Every attempt is tied to the execution its own trigger created.
    created = {e.execution_id for e in server.ledger.entries() if e.action == "trigger"}
    used = {a.execution_id for s in result.outcome.states.values() for a in s.attempts}
    assert used == created
    assert any("found it by status" in e.message for e in result.events)
