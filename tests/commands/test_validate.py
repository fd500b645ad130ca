"""``dmpipe validate`` (text, github and json output, exit codes) and ``dmpipe schema``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.commands.main import main
from runner.spec.schema_files import schema_text

VALID = """\
version: 1
name: valid
jobs:
  load: {file_id: 1}
  export: {file_id: 2, needs: [load]}
"""
WARNED = """\
version: 1
name: warned
server: {password: hunter2}
jobs:
  load: {file_id: 1}
"""
INVALID = """\
version: 1
name: invalid
jobs:
  load:
    file_id: 1
    retires: 3
  export: {file_id: 2, needs: [lod], when: always}
"""
PASSWORD_WARNING = (
    "the password is written in the file: use ${DATAMEER_PASSWORD} or ~/.netrc instead"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Three pipeline files: valid, valid with a warning, invalid; name → path."""
    paths = {}
    for name, text in (("valid", VALID), ("warned", WARNED), ("invalid", INVALID)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    return paths


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_valid_files_exit_0(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "validate", files["valid"]) == (0, "1 file valid\n")


def test_warnings_are_printed_but_do_not_fail(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "validate", files["valid"], files["warned"])

    assert code == 0
    assert out == (
        f"{files['warned']}:3:20: warning: {PASSWORD_WARNING}\n2 files valid (1 warning)\n"
    )


def test_text_lists_every_problem_of_every_file(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "validate", files["invalid"], files["valid"], files["warned"])

    invalid, warned = files["invalid"], files["warned"]
    assert code == 2
    assert out.splitlines() == [
        f"{invalid}:6:5: unknown key 'retires' in job 'load'; did you mean 'retry'?",
        f"{invalid}:7:44: when of job 'export': expected one of all_success, all_done, "
        "any_failed, got 'always'",
        f"{warned}:3:20: warning: {PASSWORD_WARNING}",
        "2 files valid, 1 invalid (2 errors, 1 warning)",
    ]


def test_github_annotations(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "validate", "--format", "github", files["invalid"], files["warned"])

    invalid, warned = files["invalid"], files["warned"]
    assert code == 2
    assert out.splitlines() == [
        f"::error file={invalid},line=6,col=5::unknown key 'retires' in job 'load'; "
        "did you mean 'retry'?",
        f"::error file={invalid},line=7,col=44::when of job 'export': expected one of "
        "all_success, all_done, any_failed, got 'always'",
        f"::warning file={warned},line=3,col=20::{PASSWORD_WARNING}",
        "1 file valid, 1 invalid (2 errors, 1 warning)",
    ]


@pytest.mark.parametrize(
    ("name", "annotation"),
    [
        pytest.param(
            "a,b:c%.yaml",
            "::error file={dir}/a%2Cb%3Ac%25.yaml,line=1,col=1::the file is empty: "
            "a pipeline is a mapping with version, name and jobs",
            id="file-name-escaped",
        ),
    ],
)
def test_github_annotations_escape_what_github_reads_as_syntax(
    name: str, annotation: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text("", encoding="utf-8")

    code, out = run(capsys, "validate", "--format", "github", str(path))

    assert code == 2
    assert out.splitlines()[0] == annotation.format(dir=tmp_path)


def test_json_document(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "validate", "--format", "json", files["invalid"], files["valid"])

    assert code == 2
    assert json.loads(out) == {
        "version": 1,
        "valid": False,
        "files": [
            {
                "file": files["invalid"],
                "valid": False,
                "problems": [
                    {
                        "file": files["invalid"],
                        "line": 6,
                        "col": 5,
                        "severity": "error",
                        "message": "unknown key 'retires' in job 'load'; did you mean 'retry'?",
                        "path": "$.jobs.load.retires",
                    },
                    {
                        "file": files["invalid"],
                        "line": 7,
                        "col": 44,
                        "severity": "error",
                        "message": "when of job 'export': expected one of all_success, "
                        "all_done, any_failed, got 'always'",
                        "path": "$.jobs.export.when",
                    },
                ],
            },
            {"file": files["valid"], "valid": True, "problems": []},
        ],
    }


def test_semantic_checks_run_once_the_schema_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(INVALID.replace("    retires: 3\n", "").replace(", when: always", ""))

    code, out = run(capsys, "validate", str(path))

    assert code == 2
    assert out.splitlines() == [
        f"{path}:6:32: job 'export' needs 'lod', which is not a job; did you mean 'load'?",
        "0 files valid, 1 invalid (1 error)",
    ]


@pytest.mark.parametrize(
    ("mode", "code"),
    [pytest.param("sequential", 0, id="sequential-takes-variables"), pytest.param("client", 2)],
)
def test_var_adds_workbook_variables(
    mode: str, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(VALID + f"mode: {mode}\n", encoding="utf-8")

    assert run(capsys, "validate", "--var", "run_date=2026-11-28", str(path))[0] == code


def test_environment_variables_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(VALID.replace("file_id: 1", "file_id: '${DMPIPE_TEST_LOAD_ID}'"))
    monkeypatch.delenv("DMPIPE_TEST_LOAD_ID", raising=False)

    assert run(capsys, "validate", str(path))[0] == 2
    monkeypatch.setenv("DMPIPE_TEST_LOAD_ID", "12")
    assert run(capsys, "validate", str(path)) == (0, "1 file valid\n")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["validate"], id="no-file"),
        pytest.param(["validate", "--format", "xml", "p.yaml"], id="unknown-format"),
        pytest.param(["validate", "--var", "novalue", "p.yaml"], id="bad-var"),
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("dmpipe: error: ")


def test_schema_pipeline_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "schema", "pipeline")

    assert code == 0
    assert out == schema_text("pipeline")
    assert json.loads(out)["title"] == "dmpipe pipeline"


def test_schema_unknown_name_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "pipelines"]) == 2
    assert "no such schema 'pipelines'; known schemas: pipeline" in capsys.readouterr().err


@pytest.mark.slow
def test_validate_as_a_subprocess_and_its_start_up_imports(files: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runner", "validate", "--format", "json", files["invalid"]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert json.loads(result.stdout)["valid"] is False

    code = (
        "import argparse, sys\n"
        "from runner.commands import schema, validate\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "validate.register(sub); schema.register(sub)\n"
        "heavy = {'networkx', 'yaml', 'jsonschema', 'runner.spec'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    imports = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert imports.stdout.strip() == "[]"


def test_pre_commit_hook_runs_dmpipe_validate_on_pipeline_files() -> None:
    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "dmpipe-validate",
        "dmpipe validate",
        "python",
    )
    matches = re.compile(hook["files"]).search
    assert matches("pipelines/nightly.yaml")
    assert matches("deploy/nightly.pipeline.yml")
    assert not matches(".github/workflows/ci.yaml")


def test_a_folder_stands_for_its_pipeline_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.yaml").write_text("version: 1\nname: b\njobs: {a: {file_id: 1}}\n", "utf-8")
    (tmp_path / "a.yml").write_text("version: 1\nname: a\njobs: {a: {file_id: 1}}\n", "utf-8")
    (tmp_path / "notes.txt").write_text("not a pipeline", "utf-8")
    (tmp_path / "emulator").mkdir()  # scenarios live below: they are not pipelines
    (tmp_path / "emulator" / "a.yaml").write_text("artifacts: []\n", "utf-8")

    code, out = run(capsys, "validate", "--format", "json", str(tmp_path))

    assert code == 0
    files = [entry["file"] for entry in json.loads(out)["files"]]
    assert files == [str(tmp_path / "a.yml"), str(tmp_path / "b.yaml")]


def test_the_examples_folder_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    code, out = run(capsys, "validate", "--format", "json", str(examples))

    assert code == 0
    assert len(json.loads(out)["files"]) == len(list(examples.glob("*.yaml")))


def test_a_folder_without_pipeline_files_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert "without *.yaml or *.yml files" in capsys.readouterr().err
