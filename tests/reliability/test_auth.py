"""Refused credentials: exit 3 at once, with one request, never a retry storm."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.commands.main import main
from testing.emulators import MakeEmulator
from testing.environment import server_env
from testing.hostile_server import hostile_server, json_answer
from testing.ledger_counts import triggered_executions
from testing.pipeline_files import write_pipeline
from testing.scenarios import artifact, scenario


def pipeline_file(tmp_path: Path) -> Path:
    return write_pipeline(tmp_path / "auth.yaml", [("a", 1, (), 2), ("b", 2, ("a",), 2)])


COMMANDS = [
    pytest.param(lambda p, d: ["run", str(p), "--report-dir", str(d)], id="run"),
    pytest.param(lambda p, d: ["job", "status", "1"], id="job-status"),
    pytest.param(lambda p, d: ["job", "trigger", "1"], id="job-trigger"),
    pytest.param(lambda p, d: ["job", "running", "--retries", "5"], id="job-running-retries"),
    pytest.param(lambda p, d: ["plan", str(p), "--check-server"], id="plan-check-server"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_password_exits_3_after_one_request(
    make_emulator: MakeEmulator,
    command: Callable[[Path, Path], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2)))
    server_env(monkeypatch, server.url, password="not-the-password")

    code = main(command(pipeline_file(tmp_path), tmp_path / "report"))

    err = capsys.readouterr().err
    assert code == 3, err
    assert "refused the credentials of user 'admin'" in err
    assert "Traceback" not in err
    assert server.stats()["total"] == 1, server.stats()
    assert server.ledger.entries() == []


@pytest.mark.parametrize("command", COMMANDS[:4])
@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_from_any_server_exit_3_after_one_request(
    command: Callable[[Path, Path], list[str]],
    status: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refusal = json_answer(status, '{"status": "failure", "reason": "Permission denied"}')
    with hostile_server(refusal) as server:
        server_env(monkeypatch, server.url)
        code = main(command(pipeline_file(tmp_path), tmp_path / "report"))
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"(HTTP {status})" in err
    assert len(server.received) == 1


def test_credentials_revoked_mid_run_stop_the_run_at_once(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Eight long jobs in parallel: the password is changed once the first one started.
    server = make_emulator(
        scenario(*(artifact(i, duration=600) for i in range(1, 9)), clock="real", time_scale=10)
    )
    server_env(monkeypatch, server.url)
    jobs = [(f"j{i}", i, (), 3) for i in range(1, 9)]
    pipeline = write_pipeline(tmp_path / "revoked.yaml", jobs)
    requests_at_revocation: list[int] = []
    done = threading.Event()

    def revoke_after_first_trigger() -> None:
        while not done.wait(0.005):
            if triggered_executions(server):
                requests_at_revocation.append(server.stats()["total"])
                monkeypatch.setattr(server.api.catalog, "user", lambda name: None)
                return

    watcher = threading.Thread(target=revoke_after_first_trigger)
    watcher.start()
    try:
        code = main(["run", str(pipeline), "--report-dir", str(tmp_path / "report")])
    finally:
        done.set()
        watcher.join()

    err = capsys.readouterr().err
    assert code == 3, err
    assert "refused the credentials" in err
    assert requests_at_revocation, "the run never triggered anything"
    after = server.stats()["total"] - requests_at_revocation[0]
    # At most one refused call per HTTP worker (8) and one poll: no retries, no storm.
    assert after <= 9, server.stats()
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["exit_code"] == 3
