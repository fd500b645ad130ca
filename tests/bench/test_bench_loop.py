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
    optional = {
        "aiohttp": {"aiohttp, 1 in flight", "aiohttp, 3 in flight, one loop"},
        "h11": {"h11 on asyncio, 1 in flight", "h11 on asyncio, 3 in flight, one loop"},
    }
    for module, lines in optional.items():  # not dependencies: a missing one says so
        if importlib.util.find_spec(module) is None:
            assert module in figures["missing"]
            assert f"pip install {module}" in stdout
        else:
            assert module not in figures["missing"]
            expected |= lines
    assert set(ways) == expected
    assert all(len(rounds) == 2 for rounds in ways.values())
    # CPU time is counted in scheduler ticks: a short round may read 0, never less.
    assert all(value >= 0 for rounds in ways.values() for value in rounds)
    assert sum(value for rounds in ways.values() for value in rounds) > 0
    # Context switches per call, by way (a count: never negative).
    assert set(figures["switches_per_call"]) == expected
    assert all(value >= 0 for rounds in figures["switches_per_call"].values() for value in rounds)
    assert "list-running of 10 executions" in stdout
