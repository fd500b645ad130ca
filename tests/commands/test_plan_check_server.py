"""``dmpipe plan --check-server`` against the emulator: references and endpoints, GETs only."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.commands.main import main
from testing.emulators import MakeEmulator
from testing.scenarios import PASSWORD, USER, artifact, scenario

PIPELINE = """\
version: 1
name: check
jobs:
  load: {file_id: 1}
  report: {path: /Reports/Daily sales, needs: [load]}
"""


@pytest.fixture
def pipeline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATAMEER_USER", USER)
    monkeypatch.setenv("DATAMEER_PASSWORD", PASSWORD)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


def test_all_references_exist(
    make_emulator: MakeEmulator, pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2, path="/Reports/Daily sales")))
    code = main(["plan", str(pipeline_file), "--check-server", "--server", server.url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "REST v2 endpoints (trigger, stop, status; Datameer 7.2.5+): available" in out
    assert "/Reports/Daily sales: ok" in out
    assert not server.ledger.entries()  # nothing was triggered
    assert all(key.startswith(("GET", "total")) for key in server.stats() if "/" in key)


def test_missing_reference_exits_2(
    make_emulator: MakeEmulator, pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_emulator(scenario(artifact(1)))
    code = main(["plan", str(pipeline_file), "--check-server", "--server", server.url])
    assert code == 2
    assert "/Reports/Daily sales: MISSING" in capsys.readouterr().out


def test_old_server_lacks_v2(
    make_emulator: MakeEmulator, pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2)), version="7.2.5", api_v2=False)
    code = main(["plan", str(pipeline_file), "--check-server", "--server", server.url])
    assert code == 2
    assert "MISSING: upgrade or install the REST v2 plugin" in capsys.readouterr().out


def test_a_user_without_a_password_exits_3_before_any_call(
    make_emulator: MakeEmulator,
    pipeline_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(scenario(artifact(1), artifact(2, path="/Reports/Daily sales")))
    monkeypatch.delenv("DATAMEER_PASSWORD")
    monkeypatch.delenv("DATAMEER_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("HOME", str(pipeline_file.parent))
    code = main(["plan", str(pipeline_file), "--check-server", "--server", server.url])
    err = capsys.readouterr().err
    assert code == 3
    assert err.endswith(
        f"dmpipe: error: no password for user '{USER}': set DATAMEER_PASSWORD, "
        "DATAMEER_PASSWORD_FILE or ~/.netrc\n"
    )
    assert server.stats().get("total", 0) == 0


def test_an_old_server_with_configuration_ids_is_driven_by_the_legacy_calls(
    make_emulator: MakeEmulator,
    pipeline_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    del pipeline_file  # only its credentials in the environment
    server = make_emulator(
        scenario(
            artifact(1, configuration_id=101),
            artifact(2, configuration_id=102, path="/Reports/Daily sales.wbk"),
        ),
        version="6.4",
    )
    file = tmp_path / "old.yaml"
    file.write_text(
        "version: 1\nname: old\njobs:\n  load: {file_id: 1, configuration_id: 101}\n"
        "  report: {path: /Reports/Daily sales.wbk, configuration_id: 102, needs: [load]}\n",
        encoding="utf-8",
    )
    code = main(["plan", str(file), "--check-server", "--server", server.url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "missing: the run uses the legacy calls, by each job's configuration_id" in out
    assert "/Reports/Daily sales.wbk: ok (NEVER_RAN)" in out
    assert "sequential trigger (7.5.2+): missing (by version)" in out
    assert not any(key.startswith(("GET /api", "POST")) for key in server.stats())
