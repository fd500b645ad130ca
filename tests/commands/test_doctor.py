"""``dmpipe doctor [FILE]`` against the emulator: one screen, GETs only, exit 0 or 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer
from testing.emulators import MakeEmulator
from testing.environment import closed_port_url
from testing.scenarios import PASSWORD, USER, artifact, scenario

PIPELINE = """\
version: 1
name: doctor
jobs:
  load: {file_id: 1, configuration_id: 101}
  report: {path: /Reports/Daily sales.wbk, configuration_id: 102, needs: [load]}
"""
ARTIFACTS = (
    artifact(1, configuration_id=101, path="/Data/ImportJobs/Sales.imp"),
    artifact(2, configuration_id=102, path="/Reports/Daily sales.wbk"),
)


@pytest.fixture
def pipeline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATAMEER_URL", raising=False)
    monkeypatch.setenv("DATAMEER_USER", USER)
    monkeypatch.setenv("DATAMEER_PASSWORD", PASSWORD)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["doctor", *args])
    return code, capsys.readouterr().out


def only_gets(server: EmulatorServer) -> bool:
    methods = {key.split()[0] for key in server.stats() if " " in key}
    return methods <= {"GET"} and server.ledger.entries() == []


def test_all_good_on_a_strict_segment_server(
    make_emulator: MakeEmulator, pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_emulator(scenario(*ARTIFACTS, paths="strict", path_encoding="segment"))
    code, out = doctor(capsys, str(pipeline_file), "--server", server.url)
    assert code == 0, out
    for line in (
        "ok   reachable",
        "version          7.5.2 (GET /rest/license-details)",
        f"ok   credentials      user '{USER}' accepted",
        "ok   job load         file 1 resolves",
        "ok   job report       /Reports/Daily sales.wbk resolves",
        "ok   path encoding    segment (detected",
        "trigger             POST /api/job-execution/<ref>/trigger",
        "all good",
    ):
        assert line in out
    assert only_gets(server)


def test_a_server_without_rest_v2_is_checked_through_the_legacy_calls(
    make_emulator: MakeEmulator, pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_emulator(scenario(*ARTIFACTS, version="6.4"))
    code, out = doctor(capsys, str(pipeline_file), "--server", server.url, "--json")
    found = json.loads(out)
    assert code == 0, out
    assert found["ok"] is True
    endpoints = {e["operation"]: e["endpoint"] for e in found["endpoints"]}
    assert endpoints["trigger"] == "POST /rest/job-execution?configuration=<configuration>"
    assert endpoints["sequential trigger"] == "none"
    assert not any(key.startswith("GET /api/") for key in server.stats())
    assert only_gets(server)


@pytest.mark.parametrize(
    ("password", "scenario_artifacts", "failed"),
    [
        pytest.param("wrong", ARTIFACTS, "FAIL credentials", id="credentials"),
        pytest.param(PASSWORD, ARTIFACTS[:1], "FAIL job report", id="missing-artifact"),
    ],
)
def test_a_problem_exits_3(
    make_emulator: MakeEmulator,
    pipeline_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    scenario_artifacts: tuple[dict[str, object], ...],
    failed: str,
) -> None:
    monkeypatch.setenv("DATAMEER_PASSWORD", password)
    server = make_emulator(scenario(*scenario_artifacts))
    code, out = doctor(capsys, str(pipeline_file), "--server", server.url)
    assert code == 3
    assert failed in out
    assert out.rstrip().endswith("problems found: see FAIL above")
    assert password not in out or password == PASSWORD


@pytest.mark.slow  # real time: the connection is retried with backoff (3 s)
def test_an_unreachable_server_exits_3(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = doctor(capsys, "--server", closed_port_url())
    assert code == 3
    assert "FAIL reachable        connection refused" in out
