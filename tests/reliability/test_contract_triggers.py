"""The run contract under triggers whose answer cannot be trusted (issue 10, cases 1–4).

Each test runs ``dmpipe run`` as a child process against an emulator with one hostile
fault on, then judges the run by the emulator's ledger (``testing.contract.judge``):
C1 at most one execution per attempt, C2 nothing left behind, C3 no false success,
C4 the report matches the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.emulator import EmulatorServer
from testing.certs import make_certificate, openssl_available
from testing.contract import (
    Finished,
    Verdict,
    dmpipe_env,
    finish,
    judge,
    read_report,
    server_record,
    start_run,
)
from testing.emulators import MakeEmulator, build_scenario
from testing.pipeline_files import write_pipeline
from testing.scenarios import PASSWORD, USER, artifact, scenario

pytestmark = pytest.mark.slow

# Emulated seconds per real second: a 10 s job takes 1 s.
SCALE = 10


def fast(*artifacts: dict[str, Any], faults: dict[str, Any]) -> dict[str, Any]:
    return scenario(*artifacts, clock="real", time_scale=SCALE, faults=faults)


def run(
    server: EmulatorServer,
    tmp_path: Path,
    jobs: list[tuple[str, int, tuple[str, ...], int]],
    *extra: str,
    **env: str,
) -> tuple[Finished, Verdict, dict[str, Any] | None]:
    """Run the jobs to the end (60 s at most) and judge the run by the ledger."""
    pipeline = write_pipeline(tmp_path / "contract.yaml", jobs)
    report_dir = tmp_path / "report"
    process = start_run(
        pipeline,
        report_dir,
        dmpipe_env(server.url, USER, PASSWORD, **env),
        "--lost-trigger-wait",
        "3",
        *extra,
    )
    finished = finish(process, timeout=60)
    report = read_report(report_dir)
    return finished, judge(server_record(server), report, USER, finished.code), report


def test_a_trigger_answered_without_an_id_is_looked_for_not_sent_again(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        fast(
            artifact(1, duration=10),
            artifact(2, duration=10),
            faults={"trigger_without_id": 1, "file_ids": [1]},
        )
    )
    finished, verdict, _ = run(server, tmp_path, [("a", 1, (), 1), ("b", 2, (), 1)])
    assert verdict.violations() == [], finished.stderr
    assert finished.code == 0, finished.stderr
    assert sorted(verdict.run_executions.values()) == [1, 2]


def test_an_execution_not_visible_yet_is_waited_for_not_triggered_again(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # job-details answers 404 and list-running omits it for 2 real seconds.
    server = make_emulator(fast(artifact(1, duration=40), faults={"not_visible_for": 2 * SCALE}))
    finished, verdict, _ = run(server, tmp_path, [("a", 1, (), 2)])
    assert verdict.violations() == [], finished.stderr
    assert finished.code == 0, finished.stderr
    assert list(verdict.run_executions.values()) == [1]


def test_a_reused_execution_id_is_never_a_success(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # b's trigger answers a's (finished) execution id while b's own execution runs.
    server = make_emulator(
        fast(
            artifact(1, duration=5),
            artifact(2, duration=30),
            faults={"reuse_execution_id": 1, "file_ids": [2]},
        )
    )
    finished, verdict, report = run(server, tmp_path, [("a", 1, (), 0), ("b", 2, ("a",), 0)])
    assert verdict.violations() == [], finished.stderr
    assert report is not None
    b = next(job for job in report["jobs"] if job["name"] == "b")
    reused = server.ledger.triggers(file_id=2)[0].answered_id
    assert b["outcome"] != "SUCCEEDED" or b["attempts"][-1]["execution_id"] != reused


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command")
def test_a_tls_stream_cut_after_the_trigger_is_resolved_not_resent(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    hostile = build_scenario(
        fast(
            artifact(1, duration=20),
            faults={"lost_trigger_rate": 1, "paths": ["/api/job-execution/1/trigger"]},
        )
    )
    with EmulatorServer(hostile, tls=(certificate.cert, certificate.key)) as server:
        finished, verdict, _ = run(
            server, tmp_path, [("a", 1, (), 2)], DATAMEER_CA_BUNDLE=str(certificate.cert)
        )
        assert verdict.violations() == [], finished.stderr
        assert finished.code == 0, finished.stderr
        assert list(verdict.run_executions.values()) == [1]
        assert server.ledger.triggers()[0].response_lost
