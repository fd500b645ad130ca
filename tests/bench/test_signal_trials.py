"""Smoke test of bench/signal_trials.py at a small size: the figures are consistent.

The trials run, are judged and add up, and the run contract holds in them (the script
exits 1 when a count that must be 0 is not).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testing.scenarios import ROOT

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


def trials(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "signal_trials.py"), *args, "--json-out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    # The contract holds: the script exits 1 when any count that must be 0 is not.
    assert result.returncode == 0, result.stdout + result.stderr
    return result, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--signals", "INT,KILL", "--trials", "2"), id="signals"),
        pytest.param(("--kind", "same-dir", "--trials", "1"), id="same-dir"),
    ],
)
def test_signal_trials_small(tmp_path: Path, args: tuple[str, ...]) -> None:
    result, figures = trials(tmp_path, *args, "--seed", "3")
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
    assert result.returncode == (1 if broken else 0)
    assert ("contract broken in" in result.stdout) == broken
    assert "signal trials" in result.stdout
