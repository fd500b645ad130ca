"""Smoke test of bench/bench_plan.py at a small size: the figures are there and add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_bench_plan_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path, "bench_plan.py", "--levels", "10", "--width", "20", "--repeat", "2"
    )
    assert figures["version"] == 1
    assert (figures["jobs"], figures["levels"]) == (200, 10)
    # every job has an estimate and needs the level before: the longest chain crosses all levels
    assert figures["critical_path_jobs"] == 10
    assert set(figures["timings"]) == {
        "validate_in_process",
        "plan_in_process",
        "build_plan_only",
        "validate_subprocess",
        "plan_subprocess",
        "help_subprocess",
    }
    for name, timing in figures["timings"].items():
        assert 0 < timing["best"] <= timing["median"], name
        assert timing["runs"] == (5 if name == "help_subprocess" else 2)
    assert figures["heavy_imports_at_help"] == []
    assert "200 jobs in 10 levels" in stdout
    assert "plan_subprocess" in stdout
