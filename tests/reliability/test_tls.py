"""TLS: the emulator serves HTTPS; dmpipe verifies certificates unless told otherwise."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer
from runner.errors import UsageError
from testing.certs import Certificate, make_certificate, openssl_available
from testing.emulators import build_scenario
from testing.environment import server_env, subprocess_env
from testing.ledger_counts import triggered_executions
from testing.pipeline_files import write_pipeline
from testing.processes import start_dmpipe
from testing.scenarios import artifact, scenario

pytestmark = pytest.mark.skipif(not openssl_available(), reason="no openssl to make a cert")

UNTRUSTED = "TLS certificate verification failed: pass --ca-bundle FILE"
INSECURE = "TLS certificate verification is off"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_emulator(certificate: Certificate) -> Callable[[], EmulatorServer]:
    servers: list[EmulatorServer] = []

    def start() -> EmulatorServer:
        chosen = scenario(artifact(1, duration=1), clock="real", time_scale=100)
        server = EmulatorServer(build_scenario(chosen), tls=(certificate.cert, certificate.key))
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def job_status(tmp_path: Path, *flags: str) -> list[str]:
    return ["job", "status", "1", *flags]


def run_pipeline(tmp_path: Path, *flags: str) -> list[str]:
    pipeline = write_pipeline(tmp_path / "tls.yaml", [("only", 1, (), 0)])
    return ["run", str(pipeline), "--report-dir", str(tmp_path / "report"), *flags]


COMMANDS = [
    pytest.param(job_status, id="job"),
    pytest.param(run_pipeline, id="run"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_untrusted_certificate_is_refused_with_a_clear_message(
    https_emulator: Callable[[], EmulatorServer],
    command: Callable[..., list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = https_emulator()
    assert server.url.startswith("https://127.0.0.1:")
    server_env(monkeypatch, server.url)

    code = main(command(tmp_path))

    err = capsys.readouterr().err
    assert code == 3, err
    assert UNTRUSTED in err
    assert "Traceback" not in err
    assert server.stats().get("total", 0) == 0, "no request got through the failed handshake"
    assert server.ledger.entries() == []


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_ca_bundle_trusts_the_certificate(
    https_emulator: Callable[[], EmulatorServer],
    certificate: Certificate,
    command: Callable[..., list[str]],
    how: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = https_emulator()
    server_env(monkeypatch, server.url)
    flags: tuple[str, ...] = ()
    if how == "flag":
        flags = ("--ca-bundle", str(certificate.cert))
    else:
        monkeypatch.setenv("DATAMEER_CA_BUNDLE", str(certificate.cert))

    code = main(command(tmp_path, *flags))

    err = capsys.readouterr().err
    assert code == 0, err
    assert INSECURE not in err
    assert server.stats()["total"] >= 1


@pytest.mark.parametrize("command", COMMANDS)
def test_insecure_works_and_warns(
    https_emulator: Callable[[], EmulatorServer],
    command: Callable[..., list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = https_emulator()
    server_env(monkeypatch, server.url)

    code = main(command(tmp_path, "--insecure"))

    # `run` warns through logging (stderr in the real CLI), `job` prints it.
    err = capsys.readouterr().err + caplog.text
    assert code == 0, err
    assert err.count(INSECURE) == 1, "one warning, not one per request"
    if command is run_pipeline:
        assert len(triggered_executions(server)) == 1
        report = json.loads((tmp_path / "report" / "report.json").read_text())
        assert report["server"]["url"] == server.url


def test_a_plain_http_client_gets_no_answer_from_the_https_emulator(
    https_emulator: Callable[[], EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = https_emulator()
    server_env(monkeypatch, server.url.replace("https://", "http://"))
    assert main(["job", "status", "1", "--retries", "0"]) == 3
    assert "Traceback" not in capsys.readouterr().err
    # The emulator survives the garbage handshake and serves the next client.
    server_env(monkeypatch, server.url)
    assert main(["job", "status", "1", "--insecure"]) == 0


def test_unusable_certificate_files_are_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot serve HTTPS with"):
        EmulatorServer(build_scenario(scenario()), tls=(tmp_path / "no.pem", tmp_path / "no.key"))


@pytest.mark.slow
def test_the_emulator_command_serves_https(certificate: Certificate, tmp_path: Path) -> None:
    process = start_dmpipe(
        "emulator",
        "--port",
        "0",
        "--tls-cert",
        str(certificate.cert),
        "--tls-key",
        str(certificate.key),
        env=subprocess_env("http://unused"),
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split(" emulator at ")[1].split()[0]
        assert url.startswith("https://127.0.0.1:")
        status = start_dmpipe(
            "job",
            "running",
            "--ca-bundle",
            str(certificate.cert),
            env=subprocess_env(url),
        )
        _, err = status.communicate(timeout=60)
        assert status.returncode == 0, err
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0
