"""The run contract when the server misbehaves mid-run (issue 10, cases 5, 6, 9, 10):
unknown final statuses, bad list-running answers, a rotated password, a 403 on one
artifact, another user's execution of the same artifact under ``on_failure: cancel``.

Each test runs ``dmpipe run`` as a child process and judges it by the emulator's ledger
(``testing.contract.judge``): C1 at most one execution per attempt, C2 nothing left
behind, C3 no false success, C4 the report matches the server.
"""

from __future__ import annotations

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

SCALE = 10  # emulated seconds per real second
Jobs = list[tuple[str, int, tuple[str, ...], int]]


def fast(*artifacts: dict[str, Any], faults: dict[str, Any] | None = None) -> dict[str, Any]:
    return scenario(*artifacts, clock="real", time_scale=SCALE, faults=faults or {})


def start(server: EmulatorServer, tmp_path: Path, jobs: Jobs, policies: str | None = None) -> Any:
    extra = {} if policies is None else {"policies": policies}
    pipeline = write_pipeline(tmp_path / "contract.yaml", jobs, **extra)
    env = dmpipe_env(server.url, USER, PASSWORD)
    return start_run(pipeline, tmp_path / "report", env, "--lost-trigger-wait", "3")


def judged(
    server: EmulatorServer, tmp_path: Path, finished: Finished
) -> tuple[Verdict, dict[str, Any] | None]:
    report = read_report(tmp_path / "report")
    return judge(server_record(server), report, USER, finished.code), report


def job_of(report: dict[str, Any] | None, name: str) -> dict[str, Any]:
    assert report is not None
    job: dict[str, Any] = next(j for j in report["jobs"] if j["name"] == name)
    return job


@pytest.mark.parametrize("raw", ["KILLED", "FAILED", "ABORTED", None], ids=str)
def test_an_unknown_final_status_ends_the_job_as_failed(
    make_emulator: MakeEmulator, tmp_path: Path, raw: str | None
) -> None:
    server = make_emulator(fast(artifact(1, duration=5, outcomes=[raw]), artifact(2)))
    finished = finish(start(server, tmp_path, [("a", 1, (), 0), ("b", 2, (), 0)]), timeout=15)
    verdict, report = judged(server, tmp_path, finished)
    assert not finished.hung, f"still polling 15 s after the run ended with {raw}"
    assert verdict.violations() == [], finished.stderr
    assert finished.code == 1, finished.stderr
    a = job_of(report, "a")
    assert a["outcome"] == "FAILED"
    assert a["attempts"][-1]["raw_status"] == (raw or "null")


@pytest.mark.parametrize(
    ("answer", "after"),
    [
        *(
            pytest.param(answer, 1, id=f"{answer}-mid-run")
            for answer in ("html", "garbage", "huge")
        ),
        pytest.param("429", 1, id="429-mid-run"),
        # The check before any trigger rides through a busy server (an answer that is not
        # the API's fails it at once: tests/reliability/test_hostile_server.py).
        pytest.param("429", 0, id="429-first-call"),
    ],
)
def test_bad_list_running_answers_are_transient(
    make_emulator: MakeEmulator, tmp_path: Path, answer: str, after: int
) -> None:
    faults = {"list_running": {"answer": answer, "after": after, "calls": 3}}
    server = make_emulator(fast(artifact(1, duration=20), artifact(2, duration=20), faults=faults))
    finished = finish(start(server, tmp_path, [("a", 1, (), 0), ("b", 2, (), 0)]), timeout=60)
    verdict, _ = judged(server, tmp_path, finished)
    assert server.stats()[f"fault:list_running:{answer}"] >= 1
    assert verdict.violations() == [], finished.stderr
    assert finished.code == 0, finished.stderr


def test_a_password_rotated_mid_run_ends_it_and_says_so(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(fast(artifact(1, duration=300), artifact(2, duration=300)))
    process = start(server, tmp_path, [("a", 1, (), 0), ("b", 2, (), 0)])
    assert wait_for(lambda: len(run_executions(server.ledger.to_json(), USER)) == 2)
    server.set_password(USER, "rotated")
    finished = finish(process, timeout=60)
    verdict, report = judged(server, tmp_path, finished)
    assert finished.code == 3, finished.stderr
    assert "unreachable" not in finished.stderr.splitlines()[-1]
    assert report is not None
    # Stops cannot get through with the old password: the report must name what it left.
    left = {
        attempt["execution_id"]
        for job in report["jobs"]
        for attempt in job["attempts"]
        if attempt.get("left_running")
    }
    assert set(verdict.orphans) == left
    assert verdict.violations() == [
        f"C2: execution {e} left active with no stop sent" for e in verdict.orphans
    ], finished.stderr


def test_a_403_on_one_artifact_fails_that_job_only(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(fast(artifact(1), artifact(2), artifact(3), faults={"forbidden": [2]}))
    jobs: Jobs = [("a", 1, (), 0), ("b", 2, (), 0), ("c", 3, (), 0)]
    finished = finish(start(server, tmp_path, jobs), timeout=60)
    verdict, report = judged(server, tmp_path, finished)
    assert verdict.violations() == [], finished.stderr
    assert finished.code == 1, finished.stderr
    assert [job_of(report, n)["outcome"] for n in "abc"] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert "403" in str(job_of(report, "b")["reason"]) or "permission" in str(
        job_of(report, "b")["reason"]
    )


def test_cancel_stops_only_the_executions_this_run_started(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # a runs long; bob queues a run of the same artifact behind it; then f fails (after
    # 2 real seconds) and on_failure: cancel stops a — and must leave bob's execution alone.
    server = make_emulator(
        fast(artifact(1, duration=600), artifact(2, duration=2 * SCALE, outcomes=["ERROR"]))
    )
    policies = "{poll_interval: 0.02s, max_poll_interval: 0.1s, on_failure: cancel}"
    process = start(server, tmp_path, [("a", 1, (), 0), ("f", 2, (), 0)], policies)
    assert wait_for(lambda: len(run_executions(server.ledger.to_json(), USER)) == 2)
    bobs = server.trigger_as("bob", 1)
    finished = finish(process, timeout=60)
    verdict, _ = judged(server, tmp_path, finished)
    assert verdict.violations() == [], finished.stderr
    assert finished.code == 1, finished.stderr
    assert server.state.execution(bobs).is_active
