"""Smoke test of bench/signal_trials.py at a small size: the figures are consistent.

The trials run, are judged and add up, and the run contract holds in them (the script
exits 1 when a count that must be 0 is not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench

MUST_BE_ZERO = (
    "duplicates",
    "orphans",
    "others_stopped",
    "mismatches",
    "false_successes",
    "missing_reports",
    "hung",
    "wrong_exit",
    "never_run",
)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--signals", "INT,KILL", "--trials", "2"), id="signals"),
        pytest.param(("--kind", "same-dir", "--trials", "1"), id="same-dir"),
    ],
)
def test_signal_trials_small(tmp_path: Path, args: tuple[str, ...]) -> None:
    figures, stdout = run_bench(tmp_path, "signal_trials.py", *args, "--seed", "3", timeout=300)
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for trial in figures["trials"]:
        by_suite.setdefault(trial["signal"] if trial["kind"] == "signals" else trial["kind"],
                            []).append(trial)  # fmt: skip
    assert {row["suite"] for row in figures["suites"]} == set(by_suite)
    for row in figures["suites"]:
        mine = by_suite[row["suite"]]
        assert row["trials"] == len(mine)
        for key in MUST_BE_ZERO:
            assert row[key] == sum(t[key] for t in mine), key
        if row["suite"] in ("INT", "TERM", "HUP"):
            # Each trial ended before its signal, or exited 130, or exited otherwise.
            done = row["finished_before_signal"] + row["exit_130"] + row["wrong_exit"]
            assert done == row["trials"]
        assert row["exit_latency"]["count"] <= row["trials"]
    broken = any(row[key] for row in figures["suites"] for key in MUST_BE_ZERO)
    # The script exits 1 when any count that must be 0 is not; run_bench saw it exit 0.
    assert not broken
    assert "contract broken in" not in stdout
    assert "signal trials" in stdout
