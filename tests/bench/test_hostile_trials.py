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


def test_a_run_whose_first_calls_are_dropped_is_asked_again(tmp_path: Path) -> None:
    # Seed 28 of "flaky" drops the preflight's list-running and each of its retries: the
    # run asks again a second later instead of ending before any trigger, and goes on to
    # run its jobs.
    figures, _ = run_bench(
        tmp_path, "hostile_trials.py", "--sets", "flaky", "--trials", "1", "--seed", "28"
    )
    tally = figures["sets"]["flaky"]
    assert (tally["trials"], tally["ended_at_preflight"]) == (1, 0)
    assert tally["jobs_succeeded"] > 0
    assert [tally[key] for key in ("duplicates", "orphans", "mismatches", "hung")] == [0] * 4


def test_a_run_that_ends_at_the_preflight_is_counted_and_judged(tmp_path: Path) -> None:
    # A server that drops every connection: the run ends before any trigger (exit 3 from
    # the command line), and nothing ran on the server.
    figures, stdout = run_bench(
        tmp_path, "hostile_trials.py", "--sets", "down", "--trials", "1", "--seed", "1"
    )
    tally = figures["sets"]["down"]
    assert (tally["trials"], tally["ended_at_preflight"], tally["jobs_succeeded"]) == (1, 1, 0)
    assert [tally[key] for key in ("duplicates", "orphans", "mismatches", "hung")] == [0] * 4
    assert "ended at the preflight" in tally["examples"][0]
    assert "ended at preflight" in stdout
