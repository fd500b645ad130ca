"""Smoke test of bench/bench_overhead.py at a small size: the figures are there and consistent."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_overhead_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path, "bench_overhead.py",
        "--levels", "3", "--width", "4", "--time-scale", "20", "--seed", "3",
    )  # fmt: skip
    assert (figures["version"], figures["benchmark"]) == (1, "overhead")
    assert (figures["jobs"], figures["succeeded"], figures["exit_code"]) == (12, 12, 0)
    assert figures["critical_path_jobs"] == 3  # every job needs one of the level before
    assert figures["poll_interval_real"] == 0.2 / 20
    # The critical path runs on the server between the first trigger and the last end, and
    # dmpipe cannot return before the server is done.
    assert figures["server_span_real"] >= figures["lower_bound_real"] * (1 - 1e-9)
    assert figures["makespan_real"] >= figures["server_span_real"]
    assert figures["ratio"] == figures["makespan_real"] / figures["lower_bound_real"]
    lag = figures["lag_real"]
    assert lag["total"]["count"] == 8  # the jobs of levels 2 and 3
    for part in ("total", "detection", "triggering"):
        assert lag[part]["p50"] <= lag[part]["p90"] <= lag[part]["max"], part
    # A dependant is triggered after its last need completed (both on the emulator's clock).
    assert lag["total"]["p50"] > 0
    assert lag["total"]["max"] >= lag["detection"]["max"] - 0.01  # sync error < 10 ms
    assert figures["requests"] == sum(figures["by_endpoint"].values())
    peer = figures["peer"]
    assert peer["succeeded"] == 12
    assert peer["by_endpoint"]["POST /api/job-execution/{ref}/trigger"] == 12  # once per job
    assert peer["requests"] == sum(peer["by_endpoint"].values())
    assert peer["lag_total_real"]["count"] == 8
    assert "dmpipe against the threads script" in stdout
    assert "makespan (real seconds)" in stdout
    assert "lag from a need's completion" in stdout
