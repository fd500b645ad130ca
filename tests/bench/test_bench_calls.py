"""Smoke test of bench/bench_calls.py at a small size: every way of calling is measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_calls_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(tmp_path, "bench_calls.py", "--calls", "50", "--rounds", "2")
    assert (figures["benchmark"], figures["calls"], figures["rounds"]) == ("calls", 50, 2)
    ways = figures["cpu_us_per_call"]
    assert {name.split(",")[0] for name in ways} == {"dmpipe client", "urllib3", "http.client"}
    assert all(len(rounds) == 2 for rounds in ways.values())
    # CPU time is counted in scheduler ticks: a short round may read 0, never less.
    assert all(value >= 0 for rounds in ways.values() for value in rounds)
    assert sum(value for rounds in ways.values() for value in rounds) > 0
    assert "dmpipe client, job-details" in stdout
