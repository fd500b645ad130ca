"""Smoke test of bench/bench_modes.py at a small size: each mode drives the chain its own way."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench

LENGTH = 4


def test_modes_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path, "bench_modes.py", "--length", str(LENGTH), "--time-scale", "20"
    )
    rows = {row["mode"]: row for row in figures["modes"]}
    assert set(rows) == {"sequential", "client", "threads script"}
    for mode, row in rows.items():
        assert (row["exit_code"], row["succeeded"]) == (0, LENGTH), mode
        assert row["executions_started"] == LENGTH, mode
        assert row["requests"] == sum(row["by_endpoint"].values()), mode
        # The chain's durations elapse on the server before dmpipe can return.
        assert row["makespan_real"] >= row["lower_bound_real"], mode
        assert row["lower_bound_real"] == rows["client"]["lower_bound_real"]
    sequential, client = rows["sequential"]["by_endpoint"], rows["client"]["by_endpoint"]
    assert sequential["POST /rest/job-execution?sequence="] == 1
    assert "POST /api/job-execution/{ref}/trigger" not in sequential  # Datameer chains them
    assert client["POST /api/job-execution/{ref}/trigger"] == LENGTH
    peer = rows["threads script"]["by_endpoint"]
    assert peer["POST /api/job-execution/{ref}/trigger"] == LENGTH  # one trigger per job
    assert "requests by endpoint" in stdout
    assert "dmpipe against the threads script" in stdout
