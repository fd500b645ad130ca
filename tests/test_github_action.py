"""The GitHub Action at the repository root: its metadata checked against the metadata
syntax, and the script it runs driven as the runner drives it, on the emulator."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SCRIPT = ROOT / "scripts" / "github-action.sh"

PIPELINE = """\
version: 1
name: action-test
policies: {poll_interval: 50ms}
jobs:
  load: {file_id: 1}
  publish: {file_id: 2, needs: [load]}
emulator:
  clock: real
  time_scale: 100
  users: {admin: {password: admin}}
  artifacts:
    - {file_id: 1, duration: 1, queue_time: 0, outcomes: [ERROR], downstream: [2]}
    - {file_id: 2, duration: 1, queue_time: 0}
"""


def test_the_metadata_follows_the_action_syntax() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "github-action.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(ACTION)


def test_every_input_used_is_declared_and_every_declared_input_is_used() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", text))
    assert used == set(ACTION["inputs"])


def test_the_run_step_hands_the_script_what_it_reads() -> None:
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == "run"]
    read = set(re.findall(r"\$\{?(INPUT_[A-Z_]+)", SCRIPT.read_text(encoding="utf-8")))
    assert read == set(step["env"])
    assert "scripts/github-action.sh" in step["run"]
    outputs = {o["value"] for o in ACTION["outputs"].values()}
    assert outputs == {"${{ steps.run.outputs.exit-code }}", "${{ steps.run.outputs.report-dir }}"}


def run_action(workspace: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], str]:
    if shutil.which("dmpipe") is None:
        pytest.skip("needs the dmpipe executable")
    output = workspace / "github-output"
    output.write_text("", encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        **{f"INPUT_{name.upper().replace('-', '_')}": value for name, value in inputs.items()},
    }
    result = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return result, output.read_text(encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "nightly.yaml").write_text(PIPELINE, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_a_failing_run_annotates_the_job_and_says_where_its_report_is(workspace: Path) -> None:
    result, outputs = run_action(
        workspace,
        pipeline="pipelines/nightly.yaml",
        vars="  run_date=2026-11-30 \n\nregion = EMEA\n",
        args="--emulator",
    )

    assert result.returncode == 1, result.stderr
    assert outputs.splitlines() == ["exit-code=1", "report-dir=dmpipe-run"]
    lines = result.stdout.splitlines()
    assert "::group::load: failed" in lines
    assert "::group::publish: canceled" in lines  # the server's chain stopped with load
    (error,) = [line for line in lines if line.startswith("::error ")]
    assert error.startswith(
        "::error file=pipelines/nightly.yaml,line=5,col=3,title=dmpipe%3A job load failed::"
    )
    report = json.loads((workspace / "dmpipe-run" / "report.json").read_text(encoding="utf-8"))
    assert report["exit_code"] == 1
    journal = (workspace / "dmpipe-run" / "journal.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in journal.splitlines()]
    (started,) = [record for record in records if record.get("kind") == "run_started"]
    # The vars input made workbook variables, so auto mode chose the sequential trigger.
    assert started["data"]["variables"] == ["region", "run_date"]
    assert any(record.get("kind") == "sequence_triggered" for record in records)


@pytest.mark.slow
def test_a_second_run_in_the_same_job_moves_the_first_aside(workspace: Path) -> None:
    first, _ = run_action(workspace, pipeline="pipelines/nightly.yaml", args="--emulator")
    assert first.returncode == 1
    second, outputs = run_action(
        workspace, pipeline="pipelines/nightly.yaml", args="--emulator", select="publish"
    )
    assert second.returncode == 0, second.stderr
    assert "exit-code=0" in outputs.splitlines()
    assert list(workspace.joinpath("dmpipe-run").glob("previous-*"))


def test_without_a_pipeline_the_script_says_so(workspace: Path) -> None:
    result, outputs = run_action(workspace)
    assert result.returncode != 0
    assert "needs a pipeline" in result.stderr
    assert outputs == ""
