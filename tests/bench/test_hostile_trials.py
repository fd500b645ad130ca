"""Smoke test of bench/hostile_trials.py at a small size: the trials run, are judged and
add up, and the run contract holds in them (the script exits 1 when a count that must be
0 is not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_hostile_trials_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path, "hostile_trials.py", "--sets", "lost,no-id", "--trials", "1", "--seed", "1"
    )
    assert figures["benchmark"] == "hostile_trials"
    assert set(figures["sets"]) == {"lost", "no-id"}
    for tally in figures["sets"].values():
        assert tally["trials"] == 1
        assert 0 < tally["jobs_succeeded"] <= 24
        assert [tally[key] for key in ("duplicates", "orphans", "mismatches", "hung")] == [0] * 4
    assert "hostile trials" in stdout
