"""``dmpipe run``: every exit code, from the command line, on the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.commands.main import main
from testing.emulators import MakeEmulator
from testing.engine_runs import on_virtual_time
from testing.environment import closed_port_url, server_env
from testing.processes import exit_within
from testing.scenarios import PASSWORD, ROOT, USER, artifact, scenario

PIPELINE = """\
version: 1
name: cli-test
policies: {{poll_interval: 0.05s, max_poll_interval: 0.2s}}
jobs:
  first: {{file_id: 1}}
  second: {{file_id: 2, needs: [first]}}
{emulator}
"""


def write_pipeline(tmp_path: Path, emulator: str = "") -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.format(emulator=emulator), encoding="utf-8")
    return path


def inline_emulator(outcome: str) -> str:
    return (
        "emulator:\n  clock: real\n  time_scale: 100\n  users: {admin: {password: admin}}\n"
        f"  artifacts:\n    - {{file_id: 1, duration: 2, queue_time: 0, outcomes: [{outcome}]}}\n"
        "    - {file_id: 2, duration: 2, queue_time: 0}\n"
    )


@pytest.mark.usefixtures("virtual_time")  # the quick start's jobs take minutes of emulated time
def test_quickstart_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["run", str(ROOT / "examples/quickstart.yaml"), "--emulator", "--report-dir", str(tmp_path)]
    )
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"] == {"jobs": 3, "SUCCEEDED": 3}
    assert "run finished" in capsys.readouterr().err


@pytest.mark.usefixtures("virtual_time")
def test_failed_job_exits_1(tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, inline_emulator("ERROR"))
    assert main(["run", str(path), "--emulator", "--report-dir", str(tmp_path / "r")]) == 1
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [j["outcome"] for j in report["jobs"]] == ["FAILED", "SKIPPED"]


def test_invalid_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: x\njobs:\n  a: {file_id: 1, needs: [nope]}\n")
    assert main(["run", str(path), "--emulator"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:4:" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_unreachable_server_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server_env(monkeypatch, closed_port_url())
    path = write_pipeline(tmp_path)
    code = main(["run", str(path), "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err


def test_wrong_password_exits_3_without_leaking_it(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2)))
    server_env(monkeypatch, server.url, password="canary-Xq9-secret")
    code = main(["run", str(write_pipeline(tmp_path)), "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "canary-Xq9-secret" not in err
    assert not server.ledger.entries()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:99999", id="port-out-of-range"),
        pytest.param("http://127.0.0.1:abc", id="port-not-a-number"),
        pytest.param("http://[::1", id="unclosed-ipv6"),
    ],
)
def test_a_malformed_server_url_exits_2_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
) -> None:
    server_env(monkeypatch, url)
    code = main(["run", str(write_pipeline(tmp_path)), "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("dmpipe: error: the server URL ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("below", ["", "sub/dir"], ids=["the-file", "below-the-file"])
def test_a_report_dir_that_is_a_file_exits_2_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], below: str
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("keep me\n")
    report_dir = taken / below if below else taken
    path = write_pipeline(tmp_path, inline_emulator("COMPLETED"))
    code = main(["run", str(path), "--emulator", "--report-dir", str(report_dir)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"dmpipe: error: --report-dir {report_dir} is not a folder")
    assert err.count("\n") == 1
    assert taken.read_text() == "keep me\n"


def test_a_user_without_a_password_exits_3_before_any_call(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2)))
    server_env(monkeypatch, server.url)
    monkeypatch.delenv("DATAMEER_PASSWORD")
    monkeypatch.delenv("DATAMEER_PASSWORD_FILE", raising=False)
    code = main(["run", str(write_pipeline(tmp_path)), "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err == (
        f"dmpipe: error: no password for user '{USER}': set DATAMEER_PASSWORD, "
        "DATAMEER_PASSWORD_FILE or ~/.netrc\n"
    )
    assert server.stats().get("total", 0) == 0, "not one request reached the server"


@pytest.mark.slow
def test_sigint_stops_started_jobs_writes_report_exits_130(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(artifact(1, duration=10_000), artifact(2), clock="real", time_scale=1)
    )
    env = {
        **os.environ,
        "DATAMEER_URL": server.url,
        "DATAMEER_USER": USER,
        "DATAMEER_PASSWORD": PASSWORD,
        "PYTHONFAULTHANDLER": "1",  # exit_within shows the threads of a hung run
    }
    report_dir = tmp_path / "r"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            str(write_pipeline(tmp_path)),
            "--report-dir",
            str(report_dir),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "triggered execution" in line:
            break
    process.send_signal(signal.SIGINT)
    rest = exit_within(process, 60)[1]
    assert process.returncode == 130, rest
    assert "Traceback" not in rest
    stops = [
        e for e in server.ledger.entries() if e.action in ("stop", "legacy_stop") and e.effective
    ]
    assert [e.file_id for e in stops] == [1]
    report = json.loads((report_dir / "report.json").read_text())
    assert report["interrupted"] is True
    assert report["exit_code"] == 130
    assert [j["outcome"] for j in report["jobs"]] == ["CANCELED", "SKIPPED"]
    assert report["jobs"][0]["attempts"][0]["stop_confirmed"] is True


def test_resume_from_the_report_dir_alone(
    make_emulator: MakeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=2),
            artifact(2, duration=2, outcomes=["ERROR", "COMPLETED"]),
            clock="real",
            time_scale=100,
        )
    )
    server_env(monkeypatch, server.url)
    on_virtual_time(monkeypatch, server)
    report_dir = tmp_path / "r"
    assert main(["run", str(write_pipeline(tmp_path)), "--report-dir", str(report_dir)]) == 1
    assert main(["run", "--resume", str(report_dir)]) == 0
    triggers = [e.file_id for e in server.ledger.entries() if e.action == "trigger"]
    assert triggers == [1, 2, 2]
    report = json.loads((report_dir / "report.json").read_text())
    assert [j["outcome"] for j in report["jobs"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert report["jobs"][0]["resumed"] is True
    assert len(report["jobs"][1]["attempts"]) == 2


def test_resume_needs_a_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "no journal" in capsys.readouterr().err


def test_resume_of_a_run_killed_before_its_journal_says_to_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run killed in its first moments leaves its locked directory without a journal
    (its first list-running goes out before the journal is written): nothing started."""
    (tmp_path / ".lock").touch()
    assert main(["run", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "ended before it triggered anything" in err
    assert "run the pipeline again" in err


def test_resume_of_a_run_killed_before_it_recorded_its_start_says_to_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed between the journal's header and its run_started record: nothing started."""
    (tmp_path / ".lock").touch()
    (tmp_path / "journal.jsonl").write_text('{"kind": "journal", "version": 1}\n', "utf-8")
    assert main(["run", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "ended before it triggered anything" in err
    assert "records no run" in err
