"""The heartbeat of plain output: a line naming the running jobs when the output has been
silent, nothing while other lines flow or nothing runs."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.engine.events import RunEvent
from runner.report.heartbeat import Heartbeat, WatchedStream

T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def wait_for(condition: object, limit: float = 10.0) -> None:
    """Wait until ``condition()`` holds (a liveness bound, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the heartbeat never came"
        time.sleep(0.01)


def test_a_silent_run_gets_a_line_per_running_job() -> None:
    out = io.StringIO()
    stream = WatchedStream(out)
    now = T0 + timedelta(minutes=5)
    with Heartbeat(lambda event: None, stream, every=0.05, now=lambda: now) as beat:
        beat(RunEvent(T0, "triggered", "load", 1, data={"execution_id": 52}))
        beat(RunEvent(T0, "status", "load", 1, data={"status": "RUNNING"}))
        beat(
            RunEvent(
                T0 + timedelta(minutes=4),
                "progress",
                "load",
                1,
                data={"progress": 40, "estimate_seconds": 600},
            )
        )
        beat(RunEvent(T0, "attached", "export", 1, data={"execution_id": 7}))
        beat(RunEvent(T0, "triggered", "done", 1, data={"execution_id": 8}))
        beat(RunEvent(T0, "finished", "done", 1, data={"outcome": "SUCCEEDED"}))
        wait_for(lambda: "still running" in out.getvalue())

    line = out.getvalue().splitlines()[0]
    assert line == (
        "12:05:00 still running: export (execution 7, running 5m 00s); "
        "load (execution 52, RUNNING, 40%, running 5m 00s, about 9m 00s left)"
    )


def test_nothing_running_means_no_heartbeat() -> None:
    out = io.StringIO()
    stream = WatchedStream(out)
    with Heartbeat(lambda event: None, stream, every=0.02) as beat:
        beat(RunEvent(T0, "triggered", "load", 1, data={"execution_id": 1}))
        beat(RunEvent(T0, "finished", "load", 1, data={"outcome": "SUCCEEDED"}))
        time.sleep(0.2)
    assert out.getvalue() == ""


@pytest.mark.slow
def test_lines_the_run_prints_put_the_heartbeat_off() -> None:
    out = io.StringIO()
    stream = WatchedStream(out)
    with Heartbeat(lambda event: print(event.message, file=stream), stream, every=3.0) as beat:
        beat(RunEvent(T0, "triggered", "load", 1, message="triggered", data={"execution_id": 1}))
        for _ in range(10):  # a line every 0.1 s: never 3 s of silence
            beat(RunEvent(T0, "status", "load", 1, message="status"))
            time.sleep(0.1)
    assert "still running" not in out.getvalue()
    assert out.getvalue().count("status") == 10


PIPELINE = """\
version: 1
name: heartbeat
policies: {poll_interval: 50ms, max_poll_interval: 100ms}
jobs:
  long_job: {file_id: 1}
emulator:
  clock: real
  time_scale: 100
  users: {admin: {password: admin}}
  artifacts:
    - {file_id: 1, duration: 300, queue_time: 0}
"""


@pytest.mark.slow
def test_dmpipe_run_prints_heartbeats_in_plain_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(PIPELINE, encoding="utf-8")
    argv = ["run", str(pipeline), "--emulator", "--progress", "plain", "--heartbeat", "0.5"]
    assert main([*argv, "--report-dir", str(tmp_path / "run")]) == 0
    beats = [line for line in capsys.readouterr().err.splitlines() if "still running" in line]
    assert beats
    assert "long_job (execution " in beats[0]
