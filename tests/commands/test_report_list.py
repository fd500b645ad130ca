"""``dmpipe report list``: the runs of a runs folder from their real reports, newest first,
uncut in a pipe, and as one JSON document."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import runner
from runner.commands.main import main
from runner.emulator import EmulatorServer, scenario_from_dict
from testing import scenarios
from testing.scenarios import PASSWORD, USER

PIPELINE = """\
version: 1
name: {name}
server: {{url: "${{URL}}"}}
policies: {{poll_interval: 50ms}}
jobs:
  load: {{file_id: {file_id}}}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder: a succeeded run, a failed one, one without a report, one with a broken
    report, and a ``latest`` pointer."""
    folder = tmp_path_factory.mktemp("runs") / "dmpipe-runs"
    scenario = scenarios.scenario(
        scenarios.artifact(1, duration=1),
        scenarios.artifact(2, duration=1, outcomes=["ERROR"]),
        clock="real",
        time_scale=100,
    )
    with EmulatorServer(scenario_from_dict(scenario)) as server:
        environ = {"URL": server.url, "DATAMEER_USER": USER, "DATAMEER_PASSWORD": PASSWORD}
        for name, file_id in (("nightly-sales", 1), ("hourly-clicks", 2)):
            pipeline = folder.parent / f"{name}.yaml"
            pipeline.write_text(PIPELINE.format(name=name, file_id=file_id), encoding="utf-8")
            runner.run_file(pipeline, runner.RunOptions(environ=environ, runs_dir=folder))
    running = folder / "weekly-20261130T000000.000-0001"
    running.mkdir()
    shutil.copy(next(folder.glob("nightly-sales-*")) / "journal.jsonl", running)
    broken = folder / "broken-20261129T000000.000-0002"
    broken.mkdir()
    (broken / "report.json").write_text("{not json", encoding="utf-8")
    # Without a report a run is dated by its folder: one from just now, one from long ago.
    os.utime(running, (time.time() + 60, time.time() + 60))
    os.utime(broken, (1_600_000_000, 1_600_000_000))
    return folder


def listing(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert main(["report", "list", *argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == 1
    runs: list[dict[str, object]] = document["runs"]
    return runs


def test_every_run_with_its_outcome_newest_first(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = listing(capsys, str(runs))

    assert [(run["pipeline"], run["outcome"], run["exit_code"]) for run in listed] == [
        (None, "no report", None),
        ("hourly-clicks", "failed", 1),
        ("nightly-sales", "succeeded", 0),
        (None, "unreadable", None),
    ]
    by_outcome = {run["outcome"]: run for run in listed}
    assert by_outcome["succeeded"]["jobs"] == 1
    assert "journal" not in str(by_outcome["no report"]["note"])
    assert "still running, or killed" in str(by_outcome["no report"]["note"])
    assert "not JSON" in str(by_outcome["unreadable"]["note"])
    assert (runs / "latest").exists()  # run_file's pointer: not a run of its own
    assert not any(str(run["run"]).endswith("latest") for run in listed)


def test_limit(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(listing(capsys, str(runs), "--limit", "2")) == 2


def test_text_is_never_cut(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "list", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["started", "outcome", "took", "jobs", "pipeline", "run"]
    for directory in runs.iterdir():
        if not directory.is_symlink() and directory.is_dir():
            assert any(str(directory) in line for line in lines)


def test_an_empty_or_missing_folder_lists_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert listing(capsys, str(tmp_path / "missing")) == []
    assert main(["report", "list", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "no runs\n"


COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|9[0-7]|38;5;[0-9]+)m")


@pytest.mark.slow
@pytest.mark.parametrize("place", ["before", "after"])
def test_no_color_anywhere_on_the_line_takes_the_colours_out(runs: Path, place: str) -> None:
    (run,) = runs.glob("nightly-sales-2*")
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    command = ["dmpipe", "report", "show", str(run)]
    coloured = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert COLOUR.search(coloured.stdout)

    flagged = (
        ["dmpipe", "--no-color", *command[1:]] if place == "before" else [*command, "--no-color"]
    )
    plain = subprocess.run(flagged, env=env, capture_output=True, text=True, check=True)
    assert not COLOUR.search(plain.stdout)
    assert "nightly-sales succeeded" in plain.stdout
