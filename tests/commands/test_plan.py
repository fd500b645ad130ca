"""``dmpipe plan``: text, --json and --curl output, selection and mode flags, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.commands.main import main

PIPELINE = """\
version: 1
name: nightly-sales
server:
  url: ${DATAMEER_URL:-http://dm.example.com:8088}
  user: etl
  password: ${DATAMEER_PASSWORD}
variables: {run_date: "2026-11-28"}
defaults:
  retry: {retries: 2, delay: 30s}
  timeout: 2h
policies:
  on_failure: finish_running
  max_parallel: 8
jobs:
  import_logs: {file_id: 3, estimate: 10m}
  categorize:
    path: /Analytics/Sales categorization
    needs: [import_logs]
    estimate: 45m
  export:
    uuid: f8d450cd-f065-4abb-a232-27cd20c48c2b
    needs: [categorize]
    expect: {IMPORT_DROPPED_RECORDS: 0}
    estimate: 5m
  notify_failure: {file_id: 9, needs: [export], when: any_failed}
"""


@pytest.fixture
def pipeline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATAMEER_URL", raising=False)
    monkeypatch.setenv("DATAMEER_PASSWORD", "s3cr3t-pw")
    path = tmp_path / "nightly.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


def run_plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["plan", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_text(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(pipeline_file))
    assert code == 0
    assert "Plan for nightly-sales" in out
    assert "Mode:      sequential, client if the server lacks it (auto: the pipeline sets " in out
    assert "assuming the server is 7.5.2 or newer" in out
    assert "Variables: run_date=2026-11-28" in out
    assert "Server:    http://dm.example.com:8088" in out
    assert "on_failure finish_running · max_parallel 8" in out
    assert "Jobs:      4 in 4 levels" in out
    assert (
        "Critical path: 1h: import_logs (10m) → categorize (45m) → export (5m) → notify_failure (-)"
    ) in out
    rows = [
        line.split()
        for line in out.split("\nendpoints:")[0].splitlines()
        if line.startswith("  ") and not line.strip().startswith(("JOB", "without"))
    ]
    assert [row[0].lstrip("*") for row in rows] == [
        "import_logs",
        "categorize",
        "export",
        "notify_failure",
    ]
    export = next(line for line in out.splitlines() if "export " in line and "uuid" in line)
    assert "IMPORT_DROPPED_RECORDS == 0" in export
    assert "2 (30s ×2 ≤10m)" in export
    assert "s3cr3t-pw" not in out


def test_plan_var_and_mode_flags(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(
        capsys, str(pipeline_file), "--var", "run_date=2026-12-01", "--mode", "client", "--json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["mode"] == {
        "mode": "client",
        "fallback_to_client": False,
        "reason": "set with --mode",
        "warnings": ["the workbook variables (run_date) are NOT applied in client mode"],
    }
    assert document["variables"] == {"run_date": "2026-12-01"}


def test_plan_select_and_exclude(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(
        capsys,
        str(pipeline_file),
        *("--select", "categorize+", "--exclude", "notify_failure", "--json"),
    )
    assert code == 0
    document = json.loads(out)
    assert document["levels"] == [["categorize"], ["export"]]
    assert document["selection"] == {
        "assumed_done": {"categorize": ["import_logs"]},
        "downstream_left_out": ["notify_failure"],
    }
    # notify_failure is a failure handler, never part of the data-driven chain.
    assert document["mode"]["mode"] == "sequential"
    assert document["mode"]["fallback_to_client"] is True


def test_plan_json(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(pipeline_file), "--json", "-s", "+export")
    assert code == 0
    document = json.loads(out)
    assert document["version"] == 1
    assert document["mode"]["mode"] == "sequential"
    assert document["mode"]["fallback_to_client"] is True
    assert document["levels"] == [["import_logs"], ["categorize"], ["export"]]
    assert document["critical_path"] == {
        "jobs": ["import_logs", "categorize", "export"],
        "total": 3600.0,
        "unestimated": [],
    }
    assert document["jobs"][0]["retry"]["retries"] == 2
    assert document["jobs"][0]["timeout"] == 7200.0


def test_plan_curl_uses_the_environment_url_when_the_file_sets_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATAMEER_URL", "https://env.example.com")
    monkeypatch.setenv("DATAMEER_PASSWORD", "s3cr3t-pw")
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nname: p\nmode: client\njobs:\n"
        "  a: {path: /Sales/Q1 + Q2 report}\n  b: {file_id: 7, needs: [a]}\n",
        encoding="utf-8",
    )
    code, out, _ = run_plan(capsys, str(path), "--curl")
    assert code == 0
    auth = 'curl -u "$DATAMEER_USER:$DATAMEER_PASSWORD"'
    assert (
        f"{auth} -X POST 'https://env.example.com/api/job-execution/Sales/Q1+%2B+Q2+report/trigger'"
    ) in out
    assert f"{auth} -X GET 'https://env.example.com/rest/jobs/list-running'" in out
    assert f"{auth} -X POST 'https://env.example.com/api/job-execution/7/trigger'" in out
    assert "s3cr3t-pw" not in out


def test_plan_curl_sequential(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(pipeline_file), "--curl")
    assert code == 0
    trigger = next(line for line in out.splitlines() if "sequence=" in line)
    assert trigger == (
        "curl -u \"$DATAMEER_USER:$DATAMEER_PASSWORD\" -X POST -H 'Content-Type: application/json' "
        '-d \'{"variables": {"run_date": "2026-11-28"}, "fileIds": [3]}\' '
        "'http://dm.example.com:8088/rest/job-execution?sequence=3'"
    )
    assert "s3cr3t-pw" not in out


SECRET_VARIABLES = """\
    db_password: ${DATAMEER_PASSWORD}
    apiToken: tk-77
    AWS_SECRET_ACCESS_KEY: aws-99
    connection: ${DATAMEER_PASSWORD}
    copy_of_file_password: ${DMPIPE_TEST_FILE_PASSWORD:-pw-from-file}
    run_date: "2026-11-28"
    monkey: banana
"""


@pytest.mark.parametrize("output", [["--curl"], ["--json"], []], ids=["curl", "json", "text"])
def test_plan_masks_secret_variables(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    output: list[str],
) -> None:
    monkeypatch.delenv("DATAMEER_URL", raising=False)
    monkeypatch.setenv("DATAMEER_PASSWORD", "s3cr3t-pw")
    text = PIPELINE.replace(
        'variables: {run_date: "2026-11-28"}', "variables:\n" + SECRET_VARIABLES
    )
    path = tmp_path / "secrets.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_plan(capsys, str(path), *output)
    assert code == 0, err
    for secret in ("s3cr3t-pw", "tk-77", "aws-99", "pw-from-file"):
        assert secret not in out
    assert "****" in out
    assert "2026-11-28" in out
    assert "banana" in out
    if output == ["--json"]:
        assert json.loads(out)["variables"] == {
            "db_password": "****",
            "apiToken": "****",
            "AWS_SECRET_ACCESS_KEY": "****",
            "connection": "****",
            "copy_of_file_password": "****",
            "run_date": "2026-11-28",
            "monkey": "banana",
        }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--select", "categorise"],
            "--select: no job named 'categorise'; did you mean 'categorize'?",
            id="unknown-job",
        ),
        pytest.param(["--exclude", "+"], "'+' is not a selector", id="bad-selector"),
        pytest.param(["--curl", "--json"], "not allowed with argument", id="curl-and-json"),
        pytest.param(["--mode", "fast"], "invalid choice: 'fast'", id="bad-mode"),
        pytest.param(["--var", "run_date"], "--var expects NAME=VALUE", id="bad-var"),
    ],
)
def test_plan_usage_errors_exit_2(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run_plan(capsys, str(pipeline_file), *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_plan_invalid_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: bad\njobs:\n  a: {file_id: 1, needs: [b]}\n")
    code, out, err = run_plan(capsys, str(path))
    assert code == 2
    assert out == ""
    assert f"{path}:4:" in err


@pytest.mark.slow
def test_plan_as_a_subprocess(pipeline_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runner", "plan", str(pipeline_file), "--mode", "client", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mode"]["reason"] == "set with --mode"


def test_plan_and_graph_commands_import_nothing_heavy_at_start_up() -> None:
    code = (
        "import argparse, sys\n"
        "from runner.commands import graph, plan\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "plan.register(sub); graph.register(sub)\n"
        "heavy = {'networkx', 'yaml', 'jsonschema', 'requests', 'rich', 'runner.graph',\n"
        "         'runner.plan', 'runner.spec'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("server_line", "environ"),
    [
        pytest.param("url: ${DMPIPE_TEST_URL}", {}, id="file-variable-unset"),
        pytest.param("url: https://file.example.com", {}, id="file-literal"),
        pytest.param("url: ${DMPIPE_TEST_URL}", {"DATAMEER_URL": "https://env"}, id="env-too"),
    ],
)
def test_plan_server_flag_wins_over_the_file(
    server_line: str,
    environ: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DMPIPE_TEST_URL", raising=False)
    monkeypatch.delenv("DATAMEER_URL", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "p.yaml"
    path.write_text(
        f"version: 1\nname: p\nserver:\n  {server_line}\njobs:\n  a: {{file_id: 1}}\n", "utf-8"
    )

    assert main(["plan", str(path), "--server", "https://flag.example.com", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["server_url"] == "https://flag.example.com"


def test_graph_needs_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DMPIPE_TEST_URL", raising=False)
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nname: p\nserver: {url: '${DMPIPE_TEST_URL}'}\njobs:\n  a: {file_id: 1}\n",
        "utf-8",
    )

    assert main(["graph", str(path)]) == 0
    assert 'job_a["a<br/>file 1"]' in capsys.readouterr().out


def test_var_file_gives_variables_and_var_wins(
    pipeline_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "base.yaml"
    first.write_text("run_date: 2026-11-30\nratio: 1.50\nflag: yes\nregion: EMEA\n", "utf-8")
    second = tmp_path / "override.yaml"
    second.write_text("region: APAC\n", "utf-8")

    argv = ["--var-file", str(first), "--var-file", str(second), "--var", "ratio=2", "--json"]
    code, out, _ = run_plan(capsys, str(pipeline_file), *argv)

    assert code == 0
    variables = json.loads(out)["variables"]
    # Text as written (YAML would read 2026-11-30 as a date and 1.50 as 1.5).
    assert {k: variables[k] for k in ("run_date", "flag", "region", "ratio")} == {
        "run_date": "2026-11-30",
        "flag": "yes",
        "region": "APAC",
        "ratio": "2",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: [1\n", "bad.yaml:2:1: invalid YAML", id="yaml"),
        pytest.param("- a\n- b\n", "expected a mapping NAME: VALUE", id="list"),
        pytest.param("a: {b: 1}\n", "variable 'a' is a list or mapping", id="nested"),
    ],
)
def test_a_bad_var_file_is_a_usage_error(
    text: str,
    message: str,
    pipeline_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, "utf-8")
    code, _, err = run_plan(capsys, str(pipeline_file), "--var-file", str(bad))
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param(
            [],
            [
                "trigger             POST /api/job-execution/<ref>/trigger",
                "the run asks GET /rest/license-details first",
            ],
            id="unknown-version",
        ),
        pytest.param(
            ["--datameer-version", "6.4"],
            [
                "trigger             POST /rest/job-execution?configuration=<configuration>",
                "stop                POST /rest/job-execution/job-kill/<execution>",
                "sequential trigger  none  (the version set is 6.4",
                "MISSING: the legacy calls need configuration_id: on import_logs",
            ],
            id="6.4-legacy",
        ),
        pytest.param(
            ["--datameer-version", "7.4"],
            [
                "details             GET /rest/job-execution/job-details/<execution>  (the "
                "version set is 7.4: 7.4+ shape"
            ],
            id="7.4",
        ),
    ],
)
def test_plan_says_which_endpoints_the_run_uses_and_why(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: list[str]
) -> None:
    code, out, _ = run_plan(capsys, str(pipeline_file), *flags)
    assert code == 0
    endpoints = out.split("\nendpoints:\n")[1]
    for line in expected:
        assert line in endpoints
