"""``dmpipe emulator``: serving until interrupted, its banner, and what it refuses."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from runner.commands.main import main
from runner.commands.serve_emulator import ServeOptions, banner, build_scenario, is_loopback
from runner.emulator import EmulatorServer
from testing.scenarios import EXAMPLES, ROOT


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m runner -v emulator --port 0`` serving the quick-start scenario."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "-v",
            "emulator",
            "--port",
            "0",
            "--scenario",
            str(EXAMPLES / "quickstart.yaml"),
            "--time-scale",
            "1000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line.split(" at ")[1].split(" ")[0]
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.slow  # a child process and a signal
def test_serves_until_interrupted(served: tuple[subprocess.Popen[str], str]) -> None:
    process, url = served
    answer = requests.post(
        f"{url}/api/job-execution/48/trigger", auth=("analyst", "analyst"), timeout=5
    )
    assert answer.json()["job-execution-user"] == "analyst"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "emulator stopped" in out
    assert "POST /api/job-execution/48/trigger -> 200" in err  # -v logs each request
    assert "analyst:analyst" not in err
    assert "Authorization" not in err


@pytest.mark.slow  # a child process and a signal
def test_sigterm_stops_it_too(served: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)
    assert process.returncode == 0


def test_the_banner_names_url_and_users_never_passwords() -> None:
    scenario = build_scenario(ServeOptions(time_scale=10, version="7.4"))
    text = banner(EmulatorServer(scenario, port=8088))
    assert text.startswith("Datameer 7.4 emulator at http://127.0.0.1:8088 ")
    assert "users: admin, analyst, guest" in text
    assert "time x10" in text
    assert "analyst:" not in text
    assert "guest/guest" not in text


def test_strict_paths_from_the_command_line() -> None:
    scenario = build_scenario(ServeOptions(strict_paths="segment"))
    assert (scenario.paths, scenario.path_encoding) == ("strict", "segment")


def test_the_default_scenario_is_the_packaged_reference() -> None:
    scenario = build_scenario(ServeOptions())
    assert scenario.source.endswith("default_scenario.yaml")
    assert scenario.artifact(48) is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--host", "0.0.0.0"], "--allow-remote", id="remote-host"),  # noqa: S104
        pytest.param(["--time-scale", "0"], "--time-scale", id="zero-time-scale"),
        pytest.param(["--datameer-version", "new"], "version", id="bad-version"),
        pytest.param(["--scenario", "missing.yaml"], "missing.yaml", id="missing-scenario"),
    ],
)
def test_refusals_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["emulator", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_a_bad_scenario_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("artifacts:\n  - {file_id: 1, duration: soon}\n")
    assert main(["emulator", "--port", "0", "--scenario", str(file)]) == 2
    assert "bad.yaml:2:28: artifacts[0].duration: expected a duration" in capsys.readouterr().err


def test_a_busy_port_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port)]) == 3  # as any server it cannot reach
    assert f"cannot listen on 127.0.0.1:{port}: port {port} is in use" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        pytest.param("127.0.0.1", True, id="ipv4"),
        pytest.param("127.1.2.3", True, id="ipv4-net"),
        pytest.param("::1", True, id="ipv6"),
        pytest.param("[::1]", True, id="ipv6-brackets"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("0.0.0.0", False, id="any"),  # noqa: S104
        pytest.param("10.1.2.3", False, id="private"),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
