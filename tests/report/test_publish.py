"""Writing the derived reports next to report.json, and the GitHub step summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from runner.report.publish import publish_reports
from testing.reports import MixedRun, attempt, report_document, report_job


def saved(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    document = report_document(report_job("only", attempt(1)), exit_code=0)
    (tmp_path / "report.json").write_text(json.dumps(document), "utf-8")
    return tmp_path


def test_every_format_is_written_next_to_the_report(mixed_run: MixedRun) -> None:
    names = sorted(p.name for p in mixed_run.directory.iterdir() if not p.name.startswith("."))
    assert names == ["journal.jsonl", "junit.xml", "report.html", "report.json", "summary.md"]


def test_publish_returns_what_it_wrote(tmp_path: Path) -> None:
    written = publish_reports(saved(tmp_path), {})
    assert sorted(p.name for p in written) == ["junit.xml", "report.html", "summary.md"]
    assert all(p.stat().st_size > 0 for p in written)


def test_the_step_summary_is_appended_not_replaced(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n", "utf-8")
    publish_reports(saved(tmp_path / "run"), {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text("utf-8")
    assert text.startswith("# earlier step\n")
    assert "## ✅ dmpipe: handmade succeeded" in text
    assert text.count("dmpipe: handmade succeeded") == 1  # appended once


def test_no_report_no_files(tmp_path: Path) -> None:
    assert publish_reports(tmp_path, {}) == []
    assert list(tmp_path.iterdir()) == []


def test_a_broken_report_is_a_warning_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "report.json").write_text("{not json", "utf-8")
    with caplog.at_level(logging.WARNING, logger="runner.report"):
        assert publish_reports(tmp_path, {}) == []
    assert "could not write the reports" in caplog.text
    assert not (tmp_path / "report.html").exists()
