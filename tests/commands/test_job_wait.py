"""``dmpipe job trigger --wait``: one artifact, triggered once and watched to its end under
the run contract, judged by the emulator's ledger."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer
from runner.report.load import read_report
from testing.emulators import MakeEmulator
from testing.engine_runs import on_virtual_time
from testing.environment import closed_port_url, server_env, subprocess_env
from testing.processes import exit_within, start_dmpipe
from testing.scenarios import artifact, scenario


def serve(
    make_emulator: MakeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    real_time: bool = False,
    **fields: Any,
) -> EmulatorServer:
    """An emulator whose artifact 48 runs 2 emulated seconds, 100 per second of the clock
    it shares with the run: a virtual one (no real waits) unless ``real_time``."""
    extra = {key: fields.pop(key) for key in ("faults", "time_scale") if key in fields}
    server = make_emulator(
        scenario(
            artifact(48, **{"duration": 2, **fields}), clock="real", **{"time_scale": 100, **extra}
        )
    )
    server_env(monkeypatch, server.url)
    if not real_time:
        on_virtual_time(monkeypatch, server)
    return server


def wait(report_dir: Path, *args: str) -> int:
    argv = ["job", "trigger", "48", "--wait", "--progress", "plain", "--report-dir"]
    return main([*argv, str(report_dir), *args])


def actions(server: EmulatorServer, *names: str) -> list[Any]:
    return [entry for entry in server.ledger.entries() if entry.action in names]


@pytest.mark.parametrize(
    ("outcome", "code", "verdict"),
    [
        pytest.param("COMPLETED", 0, "SUCCEEDED", id="succeeded"),
        pytest.param("COMPLETED_WITH_WARNINGS", 0, "SUCCEEDED", id="warnings"),
        pytest.param("ERROR", 1, "FAILED", id="failed"),
    ],
)
def test_one_trigger_watched_to_its_end(
    make_emulator: MakeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    outcome: str,
    code: int,
    verdict: str,
) -> None:
    server = serve(make_emulator, monkeypatch, outcomes=[outcome])
    assert wait(tmp_path / "r") == code
    [trigger] = actions(server, "trigger")
    report = read_report(tmp_path / "r")  # checked against the report schema
    [job] = report.jobs
    assert job.outcome.value == verdict
    assert job.last is not None
    assert job.last.execution_id == trigger.execution_id
    assert report.exit_code == code
    assert report.mode == "client"
    for name in ("report.html", "junit.xml", "summary.md", "journal.jsonl"):
        assert (tmp_path / "r" / name).is_file()


def test_a_lost_trigger_answer_is_looked_for_never_resent(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lost = {"lost_trigger_rate": 1, "paths": ["*/trigger"]}
    server = serve(make_emulator, monkeypatch, faults=lost)
    assert wait(tmp_path / "r") == 0
    assert len(actions(server, "trigger")) == 1
    document = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    kinds = [warning["kind"] for warning in document["warnings"]]
    assert kinds == ["trigger_unknown", "trigger_found"]


def test_json_says_how_it_ended(
    make_emulator: MakeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve(make_emulator, monkeypatch)
    assert wait(tmp_path / "r", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    [trigger] = actions(server, "trigger")
    assert document["outcome"] == "SUCCEEDED"
    assert document["execution_id"] == trigger.execution_id
    assert document["report"] == str(tmp_path / "r" / "report.json")


@pytest.mark.slow  # real time: a wait that runs out, a connection retried
def test_wait_timeout_stops_the_execution(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = serve(make_emulator, monkeypatch, real_time=True, duration=10_000, time_scale=1)
    assert wait(tmp_path / "r", "--wait-timeout", "0.5") == 1
    [trigger] = actions(server, "trigger")
    stops = [e for e in actions(server, "stop", "legacy_stop") if e.effective]
    assert [e.execution_id for e in stops] == [trigger.execution_id]
    [job] = read_report(tmp_path / "r").jobs
    assert job.outcome.value == "TIMED_OUT"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["job", "trigger", "12", "--legacy", "--wait"], id="legacy"),
        pytest.param(["job", "trigger", "48", "--wait-timeout", "5"], id="timeout-alone"),
        pytest.param(["job", "status", "48", "--wait"], id="status"),
        pytest.param(["job", "--timeout", "5", "trigger", "48", "--wait"], id="call-timeout"),
        pytest.param(["job", "trigger", "48", "--wait", "--retries", "1"], id="call-retries"),
    ],
)
def test_wait_options_misused_exit_2(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    server = serve(make_emulator, monkeypatch)
    assert main(argv) == 2
    assert not server.ledger.entries()


@pytest.mark.slow  # real time: a wait that runs out, a connection retried
def test_server_unreachable_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server_env(monkeypatch, closed_port_url())
    assert wait(tmp_path / "r") == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2].startswith("dmpipe: error:")
    assert lines[-1].startswith("run ended by an error after")


@pytest.mark.slow  # a dmpipe subprocess per signal
@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(signal.SIGINT, id="SIGINT"),
        pytest.param(signal.SIGTERM, id="SIGTERM"),
        pytest.param(signal.SIGHUP, id="SIGHUP"),
    ],
)
def test_a_signal_stops_the_execution_it_started(
    make_emulator: MakeEmulator, tmp_path: Path, sent: signal.Signals
) -> None:
    server = make_emulator(scenario(artifact(48, duration=10_000), clock="real", time_scale=1))
    argv = ("job", "trigger", "48", "--wait", "--progress", "plain")
    process = start_dmpipe(
        *argv, "--report-dir", str(tmp_path / "r"), env=subprocess_env(server.url)
    )
    deadline = time.monotonic() + 30
    while not actions(server, "trigger") and time.monotonic() < deadline:
        time.sleep(0.01)
    [trigger] = actions(server, "trigger")
    time.sleep(0.2)  # let the answer reach dmpipe: the stop is then by execution
    process.send_signal(sent)
    err = exit_within(process, 60)[1]
    assert process.returncode == 130, err
    assert "Traceback" not in err
    stops = [e for e in actions(server, "stop", "legacy_stop") if e.effective]
    assert [e.execution_id for e in stops] == [trigger.execution_id]
    assert len(actions(server, "trigger")) == 1
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert report["interrupted"] is True
    assert report["jobs"][0]["attempts"][0]["stop_confirmed"] is True
