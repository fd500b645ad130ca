"""The ``dmpipe`` command line itself: bare help, unknown commands, parser errors, and a
``--select`` that does not swallow the FILE."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.commands.main import main

PIPELINE = """\
version: 1
name: shop
jobs:
  load: {file_id: 1}
  enrich: {file_id: 2, needs: [load]}
  export: {file_id: 3, needs: [enrich]}
"""


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


def test_a_bare_dmpipe_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dmpipe")
    assert "run a pipeline" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["rn"], "unknown command 'rn'; did you mean 'run'?", id="typo"),
        pytest.param(["-v", "valdate"], "did you mean 'validate'?", id="typo-after-flag"),
        pytest.param(["frobnicate"], "unknown command 'frobnicate'; see dmpipe --help", id="far"),
        pytest.param(
            ["plan", "--mode", "fast", "x.yaml"],
            "plan: argument --mode: invalid choice: 'fast'",
            id="subcommand",
        ),
    ],
)
def test_usage_errors_name_the_command_once(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # -v prints the traceback before it
    assert last.startswith("dmpipe: error: ")
    assert message in last
    assert "dmpipe: error: dmpipe" not in last


def plan_json_jobs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    import json

    assert main([*argv, "--json"]) == 0
    return [job["name"] for job in json.loads(capsys.readouterr().out)["jobs"]]


@pytest.mark.parametrize(
    ("before", "after", "jobs"),
    [
        pytest.param(["--select", "enrich"], [], ["enrich"], id="select-before-file"),
        pytest.param(["-s", "load", "enrich"], [], ["load", "enrich"], id="two-then-file"),
        pytest.param(["--select", "enrich+"], ["--exclude", "export"], ["enrich"], id="both"),
        pytest.param(["--exclude", "export"], [], ["load", "enrich"], id="exclude-before-file"),
        pytest.param([], ["--select", "+enrich"], ["load", "enrich"], id="file-first"),
    ],
)
def test_select_before_the_file_leaves_the_file_alone(
    before: list[str],
    after: list[str],
    jobs: list[str],
    pipeline_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["plan", *before, str(pipeline_file), *after]
    assert plan_json_jobs(argv, capsys) == jobs


@pytest.mark.slow
def test_a_warning_is_labelled_once(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "w.yaml"
    path.write_text("version: 1\nname: w\nvariables: {a: $b}\njobs:\n  a: {file_id: 1}\n", "utf-8")
    result = subprocess.run(
        ["dmpipe", "plan", str(path)], capture_output=True, text=True, check=True, timeout=60
    )
    (line,) = [line for line in result.stderr.splitlines() if "$b" in line]
    assert line.startswith(f"dmpipe: warning: {path}:3:16: '$b' is not interpolated")
    assert line.count("warning:") == 1  # the test folder itself is named after the test
