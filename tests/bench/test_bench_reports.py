"""Smoke test of bench/bench_reports.py at a small size: every report is written, the same
bytes every round, and the figures add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_bench_reports_small(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    figures, stdout = run_bench(
        tmp_path,
        "bench_reports.py",
        *("--levels", "3", "--width", "20", "--repeat", "2", "--keep", str(kept)),
    )
    assert (figures["benchmark"], figures["jobs"]) == ("reports", 60)
    assert figures["attempts"] == 61  # the 50th job failed once, then succeeded
    assert figures["identical_rounds"] is True
    names = {"report.json", "report.html", "summary.md", "junit.xml"}
    assert set(figures["files"]) == names
    assert {path.name for path in kept.iterdir()} == names
    for name, size in figures["files"].items():
        assert (kept / name).stat().st_size == size, name
    report = json.loads((kept / "report.json").read_text(encoding="utf-8"))
    assert report["summary"] == {"jobs": 60, "SUCCEEDED": 60}
    assert (kept / "report.html").read_text(encoding="utf-8").count("<article") == 60
    assert 'tests="60"' in (kept / "junit.xml").read_text(encoding="utf-8")
    for timing in figures["timings"].values():
        assert timing["runs"] == len(timing["each"]) == 2
        assert 0 <= timing["best"] <= timing["median"]
    assert "60 jobs, 61 attempts" in stdout
