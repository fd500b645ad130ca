"""Smoke test of bench/bench_start.py at a small size: each tool triggered every job once."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench

JOBS = 3


def test_start_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(tmp_path, "bench_start.py", "--jobs", str(JOBS), "--trials", "1")
    assert (figures["version"], figures["benchmark"], figures["jobs"]) == (1, "start", JOBS)
    assert set(figures["tools"]) == {"dmpipe", "threads script"}
    for tool, trials in figures["tools"].items():
        assert len(trials) == 1, tool
        assert (trials[0]["exit_code"], trials[0]["triggers"]) == (0, JOBS), tool
    assert "launch -> first trigger" in stdout
