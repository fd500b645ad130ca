"""What ``dmpipe run`` prints around its end: the error before the closing line, no
scenario warnings off the emulator, one naming of an artifact per line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.commands.main import main
from testing.emulators import MakeEmulator
from testing.engine_runs import on_virtual_time
from testing.environment import server_env
from testing.scenarios import artifact, scenario

PIPELINE = """\
version: 1
name: wording
policies: {{poll_interval: 0.05s, max_poll_interval: 0.2s}}
jobs:
  first: {{file_id: 48}}
  second: {{file_id: 50, needs: [first]}}
emulator:
  clock: real
  time_scale: 100
  users: {{admin: {{password: admin}}}}
  faults: {faults}
  artifacts:
    - {{file_id: 48, duration: 2, queue_time: 0, name: $logs}}
    - {{file_id: 50, duration: 2, queue_time: 0}}
"""


def write(tmp_path: Path, faults: str = "{}") -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.format(faults=faults), encoding="utf-8")
    return path


def test_the_error_that_ended_the_run_comes_before_the_closing_line(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(scenario(artifact(48), artifact(50)))
    server_env(monkeypatch, server.url, password="wrong")
    argv = ["run", str(write(tmp_path)), "--report-dir", str(tmp_path / "r"), "--progress", "plain"]
    assert main(argv) == 3
    lines = capsys.readouterr().err.splitlines()
    [error] = [n for n, line in enumerate(lines) if line.startswith("dmpipe: error:")]
    [closing] = [n for n, line in enumerate(lines) if "run ended by an error after" in line]
    assert error < closing == len(lines) - 1
    assert "2 pending" in lines[closing]
    assert not any("run finished" in line for line in lines)


@pytest.mark.parametrize(
    ("emulator", "shown"),
    [
        pytest.param(True, True, id="on-the-emulator"),
        pytest.param(False, False, id="on-a-server"),
    ],
)
def test_scenario_warnings_only_on_the_emulator(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    emulator: bool,
    shown: bool,
) -> None:
    server = make_emulator(scenario(artifact(48), artifact(50), clock="real", time_scale=100))
    server_env(monkeypatch, server.url)
    on_virtual_time(monkeypatch, server)  # also the --emulator's clock: no real waits
    argv = ["run", str(write(tmp_path)), "--report-dir", str(tmp_path / "r"), "--progress", "plain"]
    assert main([*argv, "--emulator"] if emulator else argv) == 0
    said = capsys.readouterr().err + caplog.text  # in-process, log records go to caplog
    assert ("'$logs' is not interpolated" in said) is shown
    assert "warning: warning:" not in said


@pytest.mark.usefixtures("virtual_time")
def test_a_lost_trigger_names_its_artifact_once_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = '{lost_trigger_rate: 1, paths: ["*/trigger"]}'
    argv = ["run", str(write(tmp_path, lost)), "--emulator", "--report-dir", str(tmp_path / "r")]
    assert main([*argv, "--progress", "plain"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert any("trigger answer lost" in line for line in lines)
    assert all(line.count("file 48") <= 1 for line in lines), lines
    assert main(["report", "show", str(tmp_path / "r")]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert all(line.count("file 48") <= 1 for line in shown)
