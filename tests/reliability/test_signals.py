"""SIGINT and SIGTERM: every job this run started is stopped (the ledger says so), the report
and the journal are written, and dmpipe exits 130 — also with triggers still in flight."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.emulator import EmulatorServer
from runner.engine.journal import JOURNAL_NAME, read_journal
from testing.scenarios import artifact, scenario
from tests.reliability.support import (
    start_dmpipe,
    subprocess_env,
    triggered_executions,
    write_pipeline,
)

MakeEmulator = Callable[..., EmulatorServer]

PARALLEL = 6


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_every_job_this_run_started(
    make_emulator: MakeEmulator, tmp_path: Path, signum: signal.Signals
) -> None:
    # Six long jobs start together; each trigger waits 0.1-0.8 s on the server, so the
    # signal lands while some triggers are still in flight. A seventh job needs them all.
    server = make_emulator(
        scenario(
            *(artifact(i, duration=10_000) for i in range(1, PARALLEL + 2)),
            clock="real",
            time_scale=10,
            faults={"seed": 1, "latency": [0.1, 0.8], "paths": ["/api/job-execution/*/trigger"]},
        )
    )
    jobs = [(f"long{i}", i, (), 0) for i in range(1, PARALLEL + 1)]
    jobs.append(("after", PARALLEL + 1, tuple(name for name, *_ in jobs), 0))
    report_dir = tmp_path / "report"
    process = start_dmpipe(
        "run",
        str(write_pipeline(tmp_path / "signals.yaml", jobs)),
        "--report-dir",
        str(report_dir),
        env=subprocess_env(server.url),
    )
    deadline = time.monotonic() + 30
    while len(triggered_executions(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    in_flight_at_signal = PARALLEL - len(triggered_executions(server))

    process.send_signal(signum)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert f"{signum.name}: stopping the jobs this run started" in err
    assert "Traceback" not in err
    started = triggered_executions(server)
    assert len(started) == PARALLEL, "every trigger in flight landed and was accounted for"
    assert in_flight_at_signal > 0, "the signal came while triggers were in flight"
    stopped = {e.file_id for e in server.ledger.stops() if e.effective}
    assert stopped == set(range(1, PARALLEL + 1))
    assert all(server.state.execution(e).status == "CANCELED" for e in started)
    assert not server.state.active()
    report = json.loads((report_dir / "report.json").read_text())
    assert (report["interrupted"], report["exit_code"]) == (True, 130)
    outcomes = {j["name"]: j["outcome"] for j in report["jobs"]}
    assert outcomes == {**{n: "CANCELED" for n, *_ in jobs[:-1]}, "after": "SKIPPED"}
    attempts = [a for j in report["jobs"] for a in j["attempts"]]
    assert sorted(a["execution_id"] for a in attempts) == sorted(started)
    assert all(a["stop_confirmed"] is True for a in attempts)
    records = read_journal(report_dir / JOURNAL_NAME)
    assert records[-1]["kind"] == "run_finished"
    assert records[-1]["data"]["exit_code"] == 130
