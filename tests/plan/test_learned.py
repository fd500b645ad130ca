"""Durations from the server's history: medians of the last successful runs, GETs only."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.datameer.client import DatameerClient
from runner.plan.learned import (
    LearnedDuration,
    expected_finish,
    learn_durations,
    learned_critical_path,
)
from runner.spec import load_pipeline_text
from runner.spec.durations import slower_than_usual
from testing.emulators import MakeEmulator
from testing.engine_runs import on_virtual_time
from testing.scenarios import PASSWORD, USER, artifact, scenario

PIPELINE = """\
version: 1
name: learned
policies: {poll_interval: 0.05s, max_poll_interval: 0.2s}
jobs:
  load: {file_id: 1, configuration_id: 101, estimate: 1h}
  report: {path: /Reports/Daily.wbk, needs: [load], estimate: 5m}
  ship: {file_id: 3, needs: [report]}
"""


def history(*runs: tuple[str, int]) -> list[dict[str, object]]:
    return [
        {"status": status, "ago": f"{hours}h", "duration": f"{minutes}m"}
        for hours, (status, minutes) in enumerate(runs, start=1)
    ]


SCENARIO = scenario(
    artifact(
        1,
        configuration_id=101,
        history=history(("COMPLETED", 2), ("ERROR", 30), ("COMPLETED", 4), ("COMPLETED", 3)),
    ),
    artifact(2, path="/Reports/Daily.wbk"),  # never ran
    artifact(3, history=history(("COMPLETED_WITH_WARNINGS", 10))),
)


def test_medians_of_the_successful_runs(
    make_emulator: MakeEmulator, connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(SCENARIO)
    pipeline = load_pipeline_text(PIPELINE)
    learned = learn_durations(connect(server.url), pipeline)

    assert learned["load"].median == 180  # 2, 4, 3 minutes; the ERROR run left out
    assert learned["report"].median is None
    assert "never ran" in learned["report"].note
    assert learned["ship"].median == 600  # found through the 7.4+ job-details
    path = learned_critical_path(pipeline, learned)
    assert (path.jobs, path.total) == (("load", "report", "ship"), 180 + 300 + 600)
    assert server.ledger.entries() == []
    assert not any(key.startswith("POST") for key in server.stats())


@pytest.mark.parametrize(
    ("elapsed", "median", "slow"),
    [
        pytest.param(201, 100, True, id="over-twice"),
        pytest.param(200, 100, False, id="exactly-twice"),
        pytest.param(500, None, False, id="no-median"),
        pytest.param(5, 0, False, id="zero-median"),
    ],
)
def test_slower_than_usual(elapsed: float, median: float | None, slow: bool) -> None:
    assert slower_than_usual(elapsed, median) is slow


def test_expected_finish() -> None:
    pipeline = load_pipeline_text(PIPELINE)
    path = learned_critical_path(pipeline, {"load": LearnedDuration("load", (60.0,))})
    start = datetime(2026, 12, 1, 3, 0)
    assert expected_finish(start, path) == start + timedelta(seconds=60 + 300)


def test_plan_from_server(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_emulator(SCENARIO)
    monkeypatch.setenv("DATAMEER_USER", USER)
    monkeypatch.setenv("DATAMEER_PASSWORD", PASSWORD)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    file = tmp_path / "p.yaml"
    file.write_text(PIPELINE, encoding="utf-8")

    assert main(["plan", str(file), "--from-server", "--server", server.url]) == 0
    out = capsys.readouterr().out.split("durations from the server's history")[1]
    assert "load                     3m 00s (median of 3 runs)" in out
    assert "report                   never ran" in out
    assert "estimate 5m" in out
    assert "critical path: 18m 00s: load → report → ship" in out
    assert "a run started now ends about" in out


def test_run_learns_usual_durations_and_flags_a_slow_job(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # load usually takes 3 minutes (its history) and now takes 10; ship takes 10 s of 10 m.
    slow = {**SCENARIO["artifacts"][0], "duration": 600}
    server = make_emulator(
        {
            **SCENARIO,
            "clock": "real",
            "time_scale": 2000,
            "artifacts": [slow, *SCENARIO["artifacts"][1:]],
        }
    )
    on_virtual_time(monkeypatch, server)
    monkeypatch.setenv("DATAMEER_USER", USER)
    monkeypatch.setenv("DATAMEER_PASSWORD", PASSWORD)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    file, report_dir = tmp_path / "p.yaml", tmp_path / "run"
    file.write_text(PIPELINE, encoding="utf-8")

    argv = ["run", str(file), "--server", server.url, "--learn-durations"]
    assert main([*argv, "--report-dir", str(report_dir), "--progress", "plain"]) == 0
    jobs = {j["name"]: j for j in json.loads((report_dir / "report.json").read_text())["jobs"]}
    usual = {
        n: (j["estimate_seconds"], j["estimate_from"], j["slower_than_usual"])
        for n, j in jobs.items()
    }
    assert usual == {
        "load": (180, "history", True),
        "report": (300, "file", False),  # never ran: its estimate: key stays
        "ship": (600, "history", False),
    }
    # Learning changed nothing on the server: one trigger per job, as without it.
    assert [e.file_id for e in server.ledger.entries() if e.action == "trigger"] == [1, 2, 3]

    capsys.readouterr()
    assert main(["report", "show", str(report_dir)]) == 0
    assert "slower than usual (its usual 3m 00s)" in capsys.readouterr().out
