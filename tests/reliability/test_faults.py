"""A 300-job run through a faulty network and a restarted server: every job ends in its
true final state, the report agrees with the emulator's ledger, no attempt triggers twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.engine.driver import RunRequest, run_pipeline
from runner.engine.events import RunEvent
from runner.engine.options import EngineOptions
from runner.model import Job, OnFailure, Pipeline
from testing.emulators import MakeEmulator
from testing.engine_runs import job, pipeline, run
from testing.environment import subprocess_env
from testing.ledger_counts import effective_triggers, triggered_executions
from testing.pipeline_files import write_pipeline
from testing.processes import exit_within, start_dmpipe
from testing.scenarios import PASSWORD, USER, artifact, scenario

LEVELS, WIDTH = 10, 30  # 300 jobs; each needs two jobs of the level above
FAULTS = {
    "seed": 20261128,
    "error_rate": 0.10,
    "drop_rate": 0.02,
    "lost_trigger_rate": 0.02,
    "latency": {"min": 0, "max": 0.01},
}
VERDICTS = {
    "COMPLETED": "SUCCEEDED",
    "COMPLETED_WITH_WARNINGS": "SUCCEEDED",
    "ERROR": "FAILED",
    "CANCELED": "CANCELED",
}


def outcomes_of(level: int, slot: int) -> list[str]:
    """What the server makes of each run of the job at (level, slot)."""
    if level == LEVELS - 2 and slot % 10 == 3:
        return ["ERROR"]  # fails for good: its dependents are skipped
    if slot % 10 == 0:
        return ["ERROR", "COMPLETED"]  # fails once, then succeeds on its retry
    if slot % 10 == 5:
        return ["COMPLETED_WITH_WARNINGS"]
    return ["COMPLETED"]


def name_of(level: int, slot: int) -> str:
    return f"j{level:02d}_{slot:02d}"


def file_of(level: int, slot: int) -> int:
    return 1000 + level * WIDTH + slot


def needs_of(level: int, slot: int) -> tuple[str, ...]:
    if level == 0:
        return ()
    return (name_of(level - 1, slot), name_of(level - 1, (slot + 1) % WIDTH))


def layered() -> tuple[list[dict[str, Any]], list[Job], dict[str, tuple[str, int]]]:
    """The scenario's artifacts, the jobs, and each job's expected (outcome, attempts)."""
    artifacts: list[dict[str, Any]] = []
    jobs: list[Job] = []
    expected: dict[str, tuple[str, int]] = {}
    for level in range(LEVELS):
        for slot in range(WIDTH):
            outcomes = outcomes_of(level, slot)
            name, needs = name_of(level, slot), needs_of(level, slot)
            duration = [1, 4]  # emulated seconds, drawn per run from the scenario's seed
            artifacts.append(artifact(file_of(level, slot), duration=duration, outcomes=outcomes))
            jobs.append(job(name, file_of(level, slot), *needs, retries=1))
            if any(expected[need][0] != "SUCCEEDED" for need in needs):
                expected[name] = ("SKIPPED", 0)
            else:
                # One retry: the second run's outcome is final (the last outcome repeats).
                expected[name] = (VERDICTS[outcomes[-1]], 2 if outcomes[0] == "ERROR" else 1)
    return artifacts, jobs, expected


@pytest.mark.slow
def test_300_jobs_through_5xx_drops_lost_answers_and_latency(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    artifacts, jobs, expected = layered()
    server = make_emulator(
        scenario(*artifacts, clock="real", time_scale=100, seed=3, faults=FAULTS)
    )
    options = EngineOptions(trigger_resolve_timeout=0.3, stop_confirm_timeout=5.0)

    pipe = pipeline(*jobs, on_failure=OnFailure.CONTINUE)
    result = run(server, pipe, tmp_path, options=options)

    report = json.loads((tmp_path / "report.json").read_text())
    by_name = {entry["name"]: entry for entry in report["jobs"]}
    stats = server.stats()
    # The faults really happened: 10% and 2% of some 1,500 requests, 2% of ~330 triggers.
    assert stats["fault:error"] >= 0.07 * stats["total"], stats
    assert stats["fault:drop"] >= 0.01 * stats["total"], stats
    assert stats["fault:lost_answer"] >= 1, stats
    # Every job ended as the server's runs say it must.
    assert {name: (j["outcome"], len(j["attempts"])) for name, j in by_name.items()} == expected
    assert report["exit_code"] == result.outcome.exit_code == 1
    # The report's executions are exactly the ledger's: one trigger per attempt, none lost.
    ledger = {
        file_id: [e.execution_id for e in server.ledger.triggers(file_id) if e.effective]
        for file_id in effective_triggers(server)
    }
    reported = {
        j["ref"]["value"]: [a["execution_id"] for a in j["attempts"]]
        for j in report["jobs"]
        if j["attempts"]
    }
    assert {str(file_id): ids for file_id, ids in ledger.items()} == reported
    assert all(e.effective for e in server.ledger.triggers()), "no refused trigger"
    # Each attempt's status is the server's true final status of its execution.
    for entry in report["jobs"]:
        for attempt in entry["attempts"]:
            truth = server.state.execution(attempt["execution_id"]).job_status
            assert truth.is_terminal
            assert attempt["status"] == truth.value, (entry["name"], attempt)
    assert not server.state.active(), "nothing left running on the server"


@pytest.mark.slow
def test_a_restarted_server_is_ridden_through_with_backoff(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(
            *(artifact(i, duration=[20, 40]) for i in range(1, 21)), time_scale=100, clock="real"
        )
    )
    jobs = [job(f"a{i}", i) for i in range(1, 11)]
    jobs += [job(f"b{i}", i + 10, f"a{i}") for i in range(1, 11)]
    events: list[RunEvent] = []
    stopped, restarted = threading.Event(), threading.Event()

    def restart_on_first_poll_failure(event: RunEvent) -> None:
        events.append(event)
        # Once only: a later "triggered" event of the same batch must not stop it again.
        first_batch = len(triggered_executions(server)) == 10
        if event.kind == "triggered" and first_batch and not stopped.is_set():
            stopped.set()
            server.stop()  # state kept: the jobs go on running while nobody can ask
        if event.kind == "server_unreachable" and not restarted.is_set():
            restarted.set()
            server.start()

    result = run_with_sink(server, pipeline(*jobs), tmp_path, restart_on_first_poll_failure)

    assert result == 0
    kinds = [e.kind for e in events]
    assert "server_unreachable" in kinds
    assert kinds.index("server_unreachable") < kinds.index("server_back")
    back = next(e for e in events if e.kind == "server_back")
    assert back.message.startswith("server answering again after ")
    assert effective_triggers(server) == {i: 1 for i in range(1, 21)}


def run_with_sink(
    server: EmulatorServer, pipe: Pipeline, report_dir: Path, sink: Callable[[RunEvent], None]
) -> int:
    """Run ``pipe`` in-process with ``sink`` hearing every event; returns the exit code."""
    request = RunRequest(
        mode=pipe.mode, mode_reason="test", report_dir=report_dir, server_url=server.url
    )
    with DatameerClient(server.url, user=USER, password=PASSWORD, backoff_factor=0.01) as api:
        return run_pipeline(pipe, api, request, sink).exit_code


@pytest.mark.slow
def test_the_cli_says_when_the_server_went_away_and_came_back(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(artifact(1, duration=20), artifact(2), time_scale=100, clock="real")
    )
    pipeline_file = write_pipeline(
        tmp_path / "restart.yaml", [("a", 1, (), 0), ("b", 2, ("a",), 0)]
    )
    process = start_dmpipe(
        "run",
        str(pipeline_file),
        "--report-dir",
        str(tmp_path / "r"),
        env=subprocess_env(server.url),
    )
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        if "a: triggered execution" in line:
            server.stop()
        if "server not answering, will keep trying" in line:
            server.start()
            break
    _, rest = exit_within(process, 60)
    log = "".join(lines) + rest
    assert process.returncode == 0, log
    assert "server answering again after" in log
    assert effective_triggers(server) == {1: 1, 2: 1}


def test_stops_lost_to_faults_are_sent_again_until_confirmed(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    # Thirty long jobs run; one fails at once and on_failure: cancel stops the rest, while
    # half the stop calls answer 500 and a fifth are dropped (neither stops anything).
    long_ones = [artifact(i, duration=600) for i in range(1, 31)]
    stop_faults = {
        "seed": 5,
        "error_rate": 0.5,
        "drop_rate": 0.2,
        "paths": ["/rest/job-execution/job-kill/*"],
    }
    server = make_emulator(
        scenario(
            *long_ones,
            artifact(99, duration=5, outcomes=["ERROR"]),
            clock="real",
            time_scale=100,
            faults=stop_faults,
        )
    )
    jobs = [job(f"long{i}", i) for i in range(1, 31)]
    jobs.append(job("bad", 99))
    options = EngineOptions(trigger_resolve_timeout=0.3, stop_confirm_timeout=5.0)

    result = run(server, pipeline(*jobs), tmp_path, options=options)

    stats = server.stats()
    assert stats["fault:error"] + stats["fault:drop"] >= 10, stats
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {j["name"]: j["outcome"] for j in report["jobs"]}
    assert outcomes == {"bad": "FAILED", **{f"long{i}": "CANCELED" for i in range(1, 31)}}
    assert result.outcome.exit_code == 1
    for entry in report["jobs"][:-1]:
        [attempt] = entry["attempts"]
        assert attempt["stop_confirmed"] is True, entry
        assert server.state.execution(attempt["execution_id"]).status == "CANCELED"
    assert not server.state.active(), "a failed stop left a job running"
