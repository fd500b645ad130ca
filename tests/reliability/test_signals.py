"""SIGINT, SIGTERM and SIGHUP: every job this run started is stopped (the ledger says so), the
report and the journal are written, and dmpipe exits 130 — also with triggers still in flight.
A reader that goes away (``dmpipe run ... | head -2``) neither stops the run nor loses its report.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runner.engine.journal import JOURNAL_NAME, read_journal
from testing.emulators import MakeEmulator
from testing.environment import subprocess_env
from testing.ledger_counts import triggered_executions
from testing.pipeline_files import write_pipeline
from testing.processes import dmpipe_command, exit_within, start_dmpipe
from testing.scenarios import ROOT, artifact, scenario

pytestmark = pytest.mark.slow

PARALLEL = 6


@pytest.mark.parametrize(
    "signum",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
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
    _, err = exit_within(process, 60)

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


@pytest.mark.parametrize(
    ("closed", "progress"),
    [
        pytest.param("stdout", "plain", id="stdout-plain"),
        pytest.param("stderr", "live", id="stderr-live-table"),
        pytest.param("both", "plain", id="both"),
    ],
)
def test_a_reader_that_goes_away_neither_stops_the_run_nor_loses_the_report(
    tmp_path: Path, closed: str, progress: str
) -> None:
    # Like `dmpipe run ... | head -2`: the pipe is closed after two lines (or at once).
    report_dir = tmp_path / "report"
    output = ["--log-format", "json"] if progress == "json" else ["--progress", progress]
    with subprocess.Popen(
        dmpipe_command(
            "run",
            str(ROOT / "examples/quickstart.yaml"),
            "--emulator",
            "--report-dir",
            str(report_dir),
            *output,
        ),
        env=subprocess_env("http://127.0.0.1:9"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        kept = ""
        if closed in ("stderr", "both"):
            process.stderr.readline()
            process.stderr.readline()
            process.stderr.close()
        if closed in ("stdout", "both"):
            process.stdout.close()
        if closed == "stdout":
            kept = process.stderr.read()
        elif closed == "stderr":
            kept = process.stdout.read()
        assert process.wait(timeout=120) == 0, kept
    assert "Traceback" not in kept
    assert "Exception ignored" not in kept
    report = json.loads((report_dir / "report.json").read_text())
    assert (report["exit_code"], report["summary"]) == (0, {"jobs": 3, "SUCCEEDED": 3})
