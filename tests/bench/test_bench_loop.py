"""Smoke test of bench/bench_loop.py at a small size: every way of calling is measured."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_loop_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path, "bench_loop.py", "--calls", "40", "--rounds", "2", "--in-flight", "3"
    )
    assert (figures["benchmark"], figures["calls"], figures["in_flight"]) == ("loop", 40, 3)
    ways = figures["cpu_us_per_call"]
    expected = {
        "dmpipe client, 1 at a time",
        "dmpipe client, 3 threads",
        "urllib3, 1 at a time",
        "urllib3, 3 threads",
    }
    if importlib.util.find_spec("aiohttp") is None:  # not a dependency: its lines say so
        assert figures["missing"] == ["aiohttp"]
        assert "pip install aiohttp" in stdout
    else:
        expected |= {"aiohttp, 1 in flight", "aiohttp, 3 in flight, one loop"}
    assert set(ways) == expected
    assert all(len(rounds) == 2 for rounds in ways.values())
    # CPU time is counted in scheduler ticks: a short round may read 0, never less.
    assert all(value >= 0 for rounds in ways.values() for value in rounds)
    assert sum(value for rounds in ways.values() for value in rounds) > 0
    # Context switches per call, by way (a count: never negative).
    assert set(figures["switches_per_call"]) == expected
    assert all(value >= 0 for rounds in figures["switches_per_call"].values() for value in rounds)
    assert "list-running of 10 executions" in stdout
