"""Smoke test of bench/bench_load.py at a small size: request counts add up for every variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench

JOBS = 20
STATUS = "GET /api/job-execution/{ref}/status"
TRIGGER = "POST /api/job-execution/{ref}/trigger"
DETAILS = "GET /rest/job-execution/job-details/{id}"
LIST_RUNNING = "GET /rest/jobs/list-running"


def test_load_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path, "bench_load.py",
        "--jobs", str(JOBS), "--duration", "2", "--time-scale", "10", "--poll-interval", "0.5",
    )  # fmt: skip
    rows = {row["variant"]: row for row in figures["variants"]}
    assert set(rows) == {
        "dmpipe batched",
        "dmpipe per-job",
        "naive script",
        "dmpipe batched, backoff",
    }
    for name, row in rows.items():
        counts = row["by_endpoint"]
        assert row["finished"] == JOBS, name
        assert counts[TRIGGER] == JOBS, name  # exactly one trigger per job, whoever polls
        assert row["requests"] == sum(counts.values()), name
        assert row["requests_per_job"] == row["requests"] / JOBS, name
    for name in ("dmpipe batched", "dmpipe batched, backoff"):
        row = rows[name]
        counts = row["by_endpoint"]
        # The trigger and one details call once it ended; a status look before the first
        # trigger (the scout's), the others taking its execution as their baseline, unless
        # it did not show within a poll interval (engine.baseline)...
        assert counts[DETAILS] == JOBS, name
        assert 1 <= counts[STATUS] <= JOBS, name
        assert row["per_job_requests"] == 2 + counts[STATUS] / JOBS
        # ...and one list-running call per tick, plus the run's preflight call.
        assert row["ticks"] == counts[LIST_RUNNING] - 1 >= 1, name
        assert row["polling_per_tick"] == 1
    per_job = rows["dmpipe per-job"]["by_endpoint"]
    assert per_job[LIST_RUNNING] == 1  # the preflight only
    assert per_job[DETAILS] > JOBS  # every running job, every tick
    naive = rows["naive script"]
    assert naive["ticks"] >= 1
    assert naive["by_endpoint"][STATUS] >= JOBS * 1  # each job asked at least once
    assert naive["by_endpoint"][STATUS] <= JOBS * naive["ticks"]
    assert "met" in stdout
