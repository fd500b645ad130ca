"""``dmpipe report ...`` and the output options of ``dmpipe run``, from the command line."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner.commands.main import main

PIPELINE = """\
version: 1
name: cli-report
policies: {poll_interval: 0.05s, max_poll_interval: 0.2s}
jobs:
  first: {file_id: 1}
  second: {file_id: 2, needs: [first]}
emulator:
  clock: real
  time_scale: 100
  users: {admin: {password: admin}}
  artifacts:
    - {file_id: 1, duration: 2, queue_time: 0, outcomes: [ERROR]}
    - {file_id: 2, duration: 2, queue_time: 0}
"""

# Every run here shares a virtual clock with its --emulator: no real waits.
pytestmark = pytest.mark.usefixtures("virtual_time")


@pytest.fixture
def pipeline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A failed run's directory, written once by ``dmpipe run`` for the report commands."""
    folder = tmp_path_factory.mktemp("saved")
    (folder / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    code = main(
        [
            "run",
            str(folder / "pipeline.yaml"),
            "--emulator",
            "--report-dir",
            str(folder / "run"),
            "--progress",
            "none",
        ]
    )
    assert code == 1
    return folder / "run"


def run(pipeline_file: Path, *options: str) -> tuple[int, Path]:
    report_dir = pipeline_file.parent / "run"
    code = main(
        ["run", str(pipeline_file), "--emulator", "--report-dir", str(report_dir), *options]
    )
    return code, report_dir


def test_a_run_writes_every_format(pipeline_file: Path) -> None:
    code, report_dir = run(pipeline_file, "--progress", "plain")
    assert code == 1
    names = sorted(p.name for p in report_dir.iterdir())
    # .lock: the run directory's lock file, left in place (removing it would race another run)
    assert names == [
        ".lock",
        "journal.jsonl",
        "junit.xml",
        "report.html",
        "report.json",
        "summary.md",
    ]
    suite = ET.parse(report_dir / "junit.xml").getroot()  # noqa: S314 (our own output)
    assert [c.attrib["name"] for c in suite.iter("testcase")] == ["first", "second"]
    assert "first" in (report_dir / "summary.md").read_text("utf-8")


def test_github_step_summary_gets_the_markdown(
    pipeline_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pipeline_file.parent / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run(pipeline_file, "--quiet")
    assert summary.read_text("utf-8").startswith("## ❌ dmpipe: cli-report failed in ")


def test_plain_progress_prints_timestamped_lines(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(pipeline_file, "--progress", "plain")
    err = capsys.readouterr().err.splitlines()
    assert any("first: triggered execution " in line for line in err)
    assert "run finished in " in err[-1]
    assert err[-1].split(" ", 1)[1].startswith("run finished in ")


def test_quiet_prints_the_failure_and_the_closing_line_only(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(pipeline_file, "--quiet")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "first: " in lines[0]
    assert "run finished in " in lines[1]


def test_progress_none_prints_nothing(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(pipeline_file, "--progress", "none")
    assert code == 1
    assert capsys.readouterr().err == ""


def test_live_progress_off_a_terminal_leaves_the_final_table(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(pipeline_file, "--progress", "live")
    err = capsys.readouterr().err
    assert "┃ job" in err
    assert "failed" in err
    assert "skipped" in err
    assert err.rstrip().splitlines()[-1].startswith("run finished in ")


def test_json_log_format_writes_one_object_per_line(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(pipeline_file, "--log-format", "json")
    assert code == 1
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    kinds = [r["event"] for r in records if "event" in r]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert "status" in kinds  # every event, polls included
    assert {r["level"] for r in records} <= {"info", "warning", "error"}
    assert "admin" not in json.dumps(records)  # the emulated user and password


def test_report_show(saved_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "show", str(saved_run)]) == 0
    out = capsys.readouterr().out
    assert "cli-report failed in " in out
    assert "first" in out
    assert "second" in out
    assert "attempts that went wrong" in out


def test_report_show_json_is_the_checked_report(
    saved_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "show", str(saved_run), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads((saved_run / "report.json").read_text(encoding="utf-8"))
    assert shown["version"] == 1


@pytest.mark.parametrize("options", [[], ["--json"]], ids=["text", "json"])
def test_report_show_reads_the_report_once(
    saved_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
) -> None:
    from runner.report import load

    reads: list[Path] = []
    real = load.read_document

    def counted(file: Path) -> dict[str, Any]:
        reads.append(file)
        return real(file)

    monkeypatch.setattr(load, "read_document", counted)
    assert main(["report", "show", str(saved_run), *options]) == 0
    assert reads == [saved_run / "report.json"]
    assert capsys.readouterr().out


def test_no_color_is_handed_to_the_renderer_not_the_environment(
    saved_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    colour = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|9[0-7]|38;5;[0-9]+)m")
    assert main(["report", "show", str(saved_run)]) == 0
    assert colour.search(capsys.readouterr().out)
    assert main(["report", "show", str(saved_run), "--no-color"]) == 0
    assert not colour.search(capsys.readouterr().out)
    assert "NO_COLOR" not in os.environ


def test_report_show_in_a_pipe_cuts_nothing(
    saved_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = json.loads((saved_run / "report.json").read_text(encoding="utf-8"))
    reasons = [job["reason"] for job in report["jobs"] if job.get("reason")]
    assert reasons
    assert main(["report", "show", str(saved_run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for reason in reasons:  # each whole, on one line, however long
        assert any(reason in line for line in lines), reason
    assert not any(line.rstrip().endswith("…") for line in lines)


@pytest.mark.parametrize(
    ("action", "file_name", "marker"),
    [
        pytest.param("html", "report.html", "<!DOCTYPE html>", id="html"),
        pytest.param("junit", "junit.xml", "<testsuites", id="junit"),
        pytest.param("markdown", "summary.md", "| job | outcome |", id="markdown"),
    ],
)
def test_report_regenerates_each_format(
    saved_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    action: str,
    file_name: str,
    marker: str,
) -> None:
    target = tmp_path / file_name
    assert main(["report", action, str(saved_run), "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert marker in target.read_text("utf-8")
    assert main(["report", action, str(saved_run / "report.json"), "-o", "-"]) == 0
    assert capsys.readouterr().out == target.read_text("utf-8")


def test_report_writes_next_to_report_json_by_default(
    saved_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (saved_run / "report.html").unlink()
    assert main(["report", "html", str(saved_run)]) == 0
    assert capsys.readouterr().out.strip() == str(saved_run / "report.html")
    assert (saved_run / "report.html").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "no report at", id="missing"),
        pytest.param('{"version": 1}', "is not a valid dmpipe report", id="invalid"),
    ],
)
def test_report_of_a_bad_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "report.json").write_text(content, "utf-8")
    assert main(["report", "show", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
