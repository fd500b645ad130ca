"""Smoke test of bench/issue14.py at the smoke tests' sizes: both sides measured by every
benchmark, each goal's figure read off what the benchmarks wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.bench_runs import run_bench, run_bench_refused
from testing.scenarios import ROOT

pytestmark = pytest.mark.bench

LIST_RUNNING = "GET /rest/jobs/list-running"


def test_issue14_small(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    figures, stdout = run_bench(
        tmp_path,
        "issue14.py",
        *("--small", "--before", str(ROOT), "--rounds", "2"),
        *("--scale-rounds", "1", "--start-trials", "1", "--log-dir", str(logs)),
        timeout=300,
    )
    assert (figures["benchmark"], figures["rounds"]) == ("issue14", 2)
    runs = figures["runs"]
    assert len(runs) == 2
    assert all(set(found) == {"before", "after"} for found in runs)
    for found in runs:
        for side, benchmarks in found.items():
            client = next(row for row in benchmarks["modes"]["modes"] if row["mode"] == "client")
            assert (client["exit_code"], client["executions_started"]) == (0, 4), side
            overhead = benchmarks["overhead"]
            assert (overhead["exit_code"], overhead["succeeded"]) == (0, 6), side
            assert overhead["requests"] == sum(overhead["by_endpoint"].values()), side
            for tool, trials in benchmarks["start"]["tools"].items():
                assert [trial["triggers"] for trial in trials] == [3], (side, tool)
    goals = {(row["goal"], row["figure"]): row for row in figures["goals"]}
    assert {goal for goal, _ in goals} == {"1", "2", "3", "4", "5"}
    # Goal 2's figure is the requests beyond one a list-running and two a job, per round.
    over = goals["2", "DAG: requests over 1 a tick + 2 a job"]
    for side in ("before", "after"):
        expected = []
        for found in runs:
            overhead = found[side]["overhead"]
            listed = overhead["by_endpoint"].get(LIST_RUNNING, 0)
            expected.append(overhead["requests"] - (listed + 2 * overhead["jobs"]))
        assert over["values"][side] == expected
    # Goal 4 comes from bench_scale's paired rounds: one of each side.
    cpu = goals["4", "CPU ms per job, 6 jobs"]
    assert [len(cpu["values"][side]) for side in ("before", "after")] == [1, 1]
    assert all(value > 0 for value in cpu["values"]["before"] + cpu["values"]["after"])
    # Every benchmark's own output is kept.
    kept = {path.name for path in logs.iterdir()}
    for index in (0, 1):
        for side in ("before", "after"):
            for name in ("modes", "overhead", "start"):
                assert f"{index}-{side}-{name}.log" in kept
    assert "scale.log" in kept
    assert json.loads((logs / "scale.json").read_text("utf-8"))["benchmark"] == "scale-compare"
    assert "each goal's figure" in stdout


@pytest.mark.parametrize(
    ("script", "option"), [("issue14.py", "--before"), ("bench_start.py", "--checkout")]
)
def test_refuses_what_names_no_checkout(tmp_path: Path, script: str, option: str) -> None:
    assert "checkout" in run_bench_refused(script, option, str(tmp_path))
