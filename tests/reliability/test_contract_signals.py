"""C5 honoured interrupts (issue 10, cases 7, 8, 11): SIGINT on a server that stopped
answering, SIGHUP like SIGTERM, SIGTERM while a lost trigger answer is being resolved.

dmpipe must exit 130 with its report written, and — judged by the emulator's ledger —
leave nothing of its own running without a stop sent (C2) and report what it started (C4).
The 20 s bound on each wait is a hang guard, not a timing assertion.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from runner.emulator import EmulatorServer
from testing.contract import (
    Finished,
    Verdict,
    dmpipe_env,
    finish,
    judge,
    read_report,
    run_executions,
    server_record,
    start_run,
    wait_for,
)
from testing.emulators import MakeEmulator
from testing.pipeline_files import write_pipeline
from testing.scenarios import PASSWORD, USER, artifact, scenario

pytestmark = pytest.mark.slow

SCALE = 10
GUARD = 20.0  # real seconds a signalled run may take before the test calls it hung


def long_jobs(count: int, faults: dict[str, Any] | None = None) -> dict[str, Any]:
    artifacts = [artifact(i, duration=3000) for i in range(1, count + 1)]
    return scenario(*artifacts, clock="real", time_scale=SCALE, faults=faults or {})


def start(server: EmulatorServer, tmp_path: Path, count: int, *extra: str) -> Any:
    jobs = [(f"j{i}", i, (), 0) for i in range(1, count + 1)]
    pipeline = write_pipeline(tmp_path / "signals.yaml", jobs)
    env = dmpipe_env(server.url, USER, PASSWORD)
    return start_run(pipeline, tmp_path / "report", env, *extra)


def judged(server: EmulatorServer, tmp_path: Path, finished: Finished) -> Verdict:
    report = read_report(tmp_path / "report")
    return judge(server_record(server), report, USER, finished.code)


def triggered(server: EmulatorServer, count: int) -> bool:
    return len(run_executions(server.ledger.to_json(), USER)) >= count


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_on_a_server_that_stopped_answering(
    make_emulator: MakeEmulator, tmp_path: Path, signum: signal.Signals
) -> None:
    server = make_emulator(long_jobs(2))
    process = start(server, tmp_path, 2)
    assert wait_for(lambda: triggered(server, 2))
    server.freeze()
    assert wait_for(lambda: server.stats().get("fault:hang", 0) >= 1)
    finished = finish(process, timeout=GUARD, send=signum)
    # Requests held while frozen (the stops among them) reach the server now.
    server.unfreeze()
    wait_for(lambda: not [e for e in server.state.active() if e.user == USER], 2)
    assert not finished.hung, finished.stderr
    assert finished.code == 130, finished.stderr
    assert read_report(tmp_path / "report") is not None
    assert judged(server, tmp_path, finished).violations() == [], finished.stderr


def test_sighup_is_handled_like_sigterm(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(long_jobs(3))
    process = start(server, tmp_path, 3)
    assert wait_for(lambda: triggered(server, 3))
    finished = finish(process, timeout=GUARD, send=signal.SIGHUP)
    assert finished.code == 130, finished.stderr
    verdict = judged(server, tmp_path, finished)
    assert verdict.violations() == [], finished.stderr


def test_sigterm_while_a_lost_trigger_answer_is_resolved(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # Every trigger's answer is lost and the execution stays out of sight for 100 real
    # seconds: dmpipe is looking for it when SIGTERM comes. It must stop it (by artifact)
    # or say in the report what it left, and never call the job "not run".
    faults = {"lost_trigger_rate": 1, "not_visible_for": 1000}
    server = make_emulator(long_jobs(1, faults))
    process = start(server, tmp_path, 1, "--lost-trigger-wait", "60")
    assert wait_for(lambda: triggered(server, 1))
    finished = finish(process, timeout=GUARD, send=signal.SIGTERM)
    assert finished.code == 130, finished.stderr
    verdict = judged(server, tmp_path, finished)
    assert verdict.violations() == [], finished.stderr
