"""Smoke test of bench/bench_scale.py at a small size: the runner's figures are measured."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testing.bench_runs import run_bench, run_bench_refused
from testing.scenarios import ROOT

pytestmark = pytest.mark.bench


def test_scale_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path,
        "bench_scale.py",
        "--levels",
        "3",
        "--width",
        "10",
        "--time-scale",
        "20",
        "--repeat",
        "2",
        "--breakdown",
    )
    assert (figures["benchmark"], figures["jobs"], figures["triggers"]) == ("scale", 30, 30)
    runner, startup = figures["runner"], figures["startup"]
    assert runner["exit_code"] == startup["exit_code"] == 0
    # The runner process was measured, not this one: it loaded the file like validate did.
    assert runner["peak_rss_mb"] >= startup["peak_rss_mb"] > 10
    assert runner["cpu_seconds"] >= startup["cpu_seconds"] > 0
    assert runner["cpu_seconds"] == runner["user_seconds"] + runner["system_seconds"]
    assert figures["cpu_ms_per_job"] == runner["cpu_seconds"] * 1000 / 30
    # A trigger and a final job-details per job, at least the first job's look before its
    # trigger, the ticks' list-running and the preflight's.
    assert figures["requests"] >= 2 * 30 + 1 + figures["poll_ticks"] + 1
    assert figures["poll_ticks"] >= 1
    assert "peak RSS (MB)" in stdout
    # Two runs, the median one reported: the lower of the two.
    assert len(figures["repeats"]) == 2
    assert figures["cpu_ms_per_job"] == min(figures["repeats"])
    assert "each of 2 runs" in stdout
    # --breakdown: parts of the run timed by thread CPU, within the process's CPU.
    parts = {row["part"].strip(): row for row in figures["breakdown"]["parts"]}
    assert parts["REST calls, every thread"]["calls"] >= figures["requests"] - 1  # preflight
    assert parts["the run loop (main thread)"]["calls"] == 1
    assert parts["events, every thread"]["calls"] > 0
    total = figures["breakdown"]["process_cpu_seconds"]
    assert all(0 <= row["cpu_seconds"] <= total for row in parts.values())
    assert "where the runner's CPU goes" in stdout
    # And by thread: the main thread and the pools that made the calls, within the process.
    threads = figures["breakdown"]["threads"]
    assert {"MainThread", "dmpipe", "dmpipe-poll"} <= threads.keys()
    assert 0 < sum(threads.values()) <= total * 1.05 + 0.05  # /proc counts in 10 ms ticks
    assert "CPU by thread" in stdout


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs or more")
def test_scale_runner_on_one_cpu(tmp_path: Path) -> None:
    """--runner-cpu: the runner runs on that CPU alone, the emulator and validate elsewhere."""
    cpu = min(os.sched_getaffinity(0))
    figures, stdout = run_bench(
        tmp_path,
        "bench_scale.py",
        *("--levels", "2", "--width", "5", "--time-scale", "20", "--runner-cpu", str(cpu)),
    )
    assert (figures["runner"]["exit_code"], figures["triggers"]) == (0, 10)
    assert figures["runner_cpu"] == cpu
    assert figures["runner"]["cpus"] == [cpu]
    assert cpu not in figures["startup"]["cpus"]
    assert f"runner on CPU {cpu}" in stdout


def test_scale_compared_with_another_checkout(tmp_path: Path) -> None:
    # Against itself (a checkout like any other): both sides measured in turn, each round.
    figures, stdout = run_bench(
        tmp_path,
        "bench_scale.py",
        "--levels",
        "2",
        "--width",
        "5",
        "--time-scale",
        "20",
        "--against",
        str(ROOT),
        "--rounds",
        "2",
    )
    assert (figures["benchmark"], figures["jobs"], figures["rounds"]) == ("scale-compare", 10, 2)
    this, against = figures["cpu_ms_per_job"]["this"], figures["cpu_ms_per_job"]["against"]
    assert len(this) == len(against) == 2
    assert all(value > 0 for value in this + against)
    assert figures["differences"] == [a - b for a, b in zip(this, against, strict=True)]
    assert figures["failed"] == []
    assert "paired difference median" in stdout
    assert f"against: {ROOT}" in stdout


def _in_git() -> bool:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


@pytest.mark.skipif(not _in_git(), reason="the checkout is not a git repository")
def test_scale_compared_with_a_revision_checked_out_for_the_while(tmp_path: Path) -> None:
    figures, stdout = run_bench(
        tmp_path,
        "bench_scale.py",
        *("--levels", "2", "--width", "5", "--time-scale", "20"),
        *("--against", "HEAD", "--rounds", "1"),
    )
    assert figures["against"] == "HEAD"
    assert len(figures["cpu_ms_per_job"]["against"]) == 1
    assert figures["failed"] == []
    assert "against: HEAD" in stdout
    # The temporary worktree is gone, and git forgot it.
    assert not Path(figures["against_checkout"]).exists()
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert figures["against_checkout"] not in listed.stdout


@pytest.mark.parametrize("against", ["no-such-revision", "{tmp}"])
def test_against_refuses_what_names_no_checkout(tmp_path: Path, against: str) -> None:
    stderr = run_bench_refused("bench_scale.py", "--against", against.format(tmp=tmp_path))
    assert "neither a dmpipe checkout" in stderr
