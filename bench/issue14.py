"""Issue 14 end to end: each goal's figure for dmpipe before the issue and for this checkout,
measured in one run.

    python bench/issue14.py [--before REV|DIR] [--rounds 2] [--scale-rounds 6]
                            [--start-trials 9] [--log-dir DIR] [--json-out FILE] [--small]

Both checkouts run the same benchmarks of this checkout, in turn, the first of each round
alternating (a slow moment of a shared machine then falls on both):

- ``bench_modes.py``: the 20-job chain, client mode with default settings (goal 1), its
  requests (goal 2);
- ``bench_overhead.py``: the 200-job DAG, the lag from a need's end to its dependant's
  trigger (goal 1), its requests (goal 2);
- ``bench_start.py --checkout``: launch to first trigger on a 50-job file (goal 3);
- then ``bench_scale.py --against``, in paired rounds of its own: CPU per job on the
  2,000-job DAG (goal 4).

The hand-written peer (goal 5) runs beside dmpipe inside the first three, on both sides.
The emulator is always this checkout's.  Where a benchmark runs dmpipe in its own process,
the before checkout comes first on ``PYTHONPATH`` (checked before anything is measured);
elsewhere it is launched from its own folder.  ``--before`` defaults to ``869c368``, main
when the work on issue 14 began.  Each benchmark's own output is kept in ``--log-dir``;
figures are the median over the rounds.  ``--small`` runs every benchmark at its smoke
test's size: it checks the plumbing, its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from checkouts import checkout
from emulator_process import ROOT
from figures import LIST_RUNNING, print_table, write_json

BENCH = Path(__file__).resolve().parent
BEFORE = "869c368"  # main when the work on issue 14 began (session 21)
SIDES = ("before", "after")
STATUS = "GET /api/job-execution/{ref}/status"  # the look before a trigger

# The benchmarks' arguments: as the issue measures them, and at their smoke tests' sizes.
FULL: dict[str, list[str]] = {"modes": [], "overhead": [], "start": [], "scale": []}
SMALL: dict[str, list[str]] = {
    "modes": ["--length", "4", "--time-scale", "20"],
    "overhead": ["--levels", "2", "--width", "3", "--time-scale", "20", "--seed", "3"],
    "start": ["--jobs", "3"],
    "scale": ["--levels", "2", "--width", "3", "--time-scale", "20"],
}

Figures = dict[str, Any]


def run_script(script: str, args: list[str], log: Path, env: Mapping[str, str]) -> Figures:
    """``bench/SCRIPT ARGS --json-out ...``: its figures; its output kept in ``log``."""
    out = log.with_suffix(".json")
    command = [sys.executable, str(BENCH / script), *args, "--json-out", str(out)]
    with log.open("w", encoding="utf-8") as output:
        child = subprocess.run(
            command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT, check=False
        )
    if child.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed (exit {child.returncode}): see {log}")
    figures: Figures = json.loads(out.read_text(encoding="utf-8"))
    return figures


def env_for(side: str, tree: Path) -> dict[str, str]:
    """The environment a benchmark of ``side`` runs in: the before checkout's ``runner``
    first on ``PYTHONPATH`` (this checkout's is the installed one)."""
    env = dict(os.environ)
    if side == "before":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    return env


def check_runner(tree: Path, env: Mapping[str, str]) -> None:
    """Refuse to measure when a benchmark in ``env`` would not import ``tree``'s runner."""
    probe = [sys.executable, "-c", "import runner; print(runner.__file__)"]
    found = subprocess.run(probe, cwd=BENCH, env=dict(env), capture_output=True, text=True)
    if not found.stdout.strip().startswith(str(tree)):
        raise SystemExit(f"a benchmark would import {found.stdout.strip()!r}, not {tree}'s runner")


def measure_round(
    sizes: Mapping[str, list[str]],
    trials: int,
    trees: Mapping[str, Path],
    order: tuple[str, ...],
    logs: Path,
    index: int,
) -> dict[str, dict[str, Figures]]:
    """One round: bench_modes, bench_overhead and bench_start for each side, in ``order``."""
    found: dict[str, dict[str, Figures]] = {side: {} for side in order}
    for side in order:
        env = env_for(side, trees[side])
        log = {name: logs / f"{index}-{side}-{name}.log" for name in ("modes", "overhead", "start")}
        found[side]["modes"] = run_script("bench_modes.py", sizes["modes"], log["modes"], env)
        overhead = run_script("bench_overhead.py", sizes["overhead"], log["overhead"], env)
        found[side]["overhead"] = overhead
        start = [*sizes["start"], "--trials", str(trials), "--checkout", str(trees[side])]
        found[side]["start"] = run_script("bench_start.py", start, log["start"], os.environ)
    return found


# -- the goals' figures, from one benchmark's figures ----------------------------------------


def _client(modes: Figures) -> Figures:
    return next(row for row in modes["modes"] if row["mode"] == "client")


def _peer_row(modes: Figures) -> Figures:
    return next(row for row in modes["modes"] if row["mode"] == "threads script")


def over_bound(requests: int, by_endpoint: Mapping[str, int], jobs: int) -> int:
    """Requests beyond goal 2's bound, one per tick (a list-running) and two per job."""
    return requests - (by_endpoint.get(LIST_RUNNING, 0) + 2 * jobs)


def _start_p50(start: Figures, tool: str) -> float:
    return statistics.median(trial["seconds"] for trial in start["tools"][tool])


# (goal, figure, how it is read off one round's figures of a side, target, whether met)
Row = tuple[str, str, Callable[[Mapping[str, Figures]], float], str, Callable[[float], bool]]
ROWS: list[Row] = [
    (
        "1",
        "chain: client mode / critical path",
        lambda f: _client(f["modes"])["ratio"],
        "<= 1.05",
        lambda v: v <= 1.05,
    ),
    (
        "1",
        "DAG: lag p50 / poll interval",
        lambda f: f["overhead"]["lag_real"]["total"]["p50"] / f["overhead"]["poll_interval_real"],
        "<= 0.25",
        lambda v: v <= 0.25,
    ),
    (
        "2",
        "chain: requests over 1 a tick + 2 a job",
        lambda f: over_bound(
            _client(f["modes"])["requests"],
            _client(f["modes"])["by_endpoint"],
            f["modes"]["length"],
        ),
        "<= 0",
        lambda v: v <= 0,
    ),
    (
        "2",
        "DAG: requests over 1 a tick + 2 a job",
        lambda f: over_bound(
            f["overhead"]["requests"], f["overhead"]["by_endpoint"], f["overhead"]["jobs"]
        ),
        "<= 0",
        lambda v: v <= 0,
    ),
    (
        "2",
        "chain: status looks (v2 status)",
        lambda f: _client(f["modes"])["by_endpoint"].get(STATUS, 0),
        "(count)",
        lambda v: True,
    ),
    (
        "2",
        "DAG: status looks (v2 status)",
        lambda f: f["overhead"]["by_endpoint"].get(STATUS, 0),
        "(count)",
        lambda v: True,
    ),
    (
        "2",
        "chain: requests / threads script",
        lambda f: _client(f["modes"])["requests"] / _peer_row(f["modes"])["requests"],
        "< 1",
        lambda v: v < 1,
    ),
    (
        "2",
        "DAG: requests / threads script",
        lambda f: f["overhead"]["requests"] / f["overhead"]["peer"]["requests"],
        "< 1",
        lambda v: v < 1,
    ),
    (
        "3",
        "launch -> first trigger, p50 (s)",
        lambda f: _start_p50(f["start"], "dmpipe"),
        "<= 0.3",
        lambda v: v <= 0.3,
    ),
    (
        "5",
        "chain: makespan / threads script",
        lambda f: _client(f["modes"])["makespan_real"] / _peer_row(f["modes"])["makespan_real"],
        "(ratio)",
        lambda v: True,
    ),
    (
        "5",
        "DAG: lag p50 / threads script",
        lambda f: (
            f["overhead"]["lag_real"]["total"]["p50"]
            / f["overhead"]["peer"]["lag_total_real"]["p50"]
        ),
        "(ratio)",
        lambda v: True,
    ),
    (
        "5",
        "start p50 / threads script",
        lambda f: _start_p50(f["start"], "dmpipe") / _start_p50(f["start"], "threads script"),
        "(ratio)",
        lambda v: True,
    ),
]


def goal_rows(rounds: list[dict[str, dict[str, Figures]]], scale: Figures) -> list[Figures]:
    """Each goal's figure, before and after (the median over the rounds), and whether this
    checkout meets its target."""
    rows = []
    for goal, figure, read, target, met in ROWS:
        values = {side: [read(found[side]) for found in rounds] for side in SIDES}
        before, after = (statistics.median(values[side]) for side in SIDES)
        rows.append(_row(goal, figure, before, after, target, met(after), values))
    requests = {side: [found[side]["overhead"]["requests"] for found in rounds] for side in SIDES}
    before, after = (statistics.median(requests[side]) for side in SIDES)
    figure = "DAG: requests, no more than before"
    rows.insert(2, _row("1", figure, before, after, "<= before", after <= before, requests))
    cpu = scale["cpu_ms_per_job"]
    before, after = statistics.median(cpu["against"]), statistics.median(cpu["this"])
    values = {"before": cpu["against"], "after": cpu["this"]}
    figure = f"CPU ms per job, {scale['jobs']:,} jobs"
    rows.append(_row("4", figure, before, after, "<= 3", after <= 3, values))
    ratios = [a / b for a, b in zip(cpu["this"], cpu["against"], strict=True)]
    share = statistics.median(ratios)
    rows.append(_row("4", "CPU per job, after / before", None, share, "<= 0.5", share <= 0.5, {}))
    return sorted(rows, key=lambda row: row["goal"])  # stable: a goal's rows keep their order


def _row(
    goal: str,
    figure: str,
    before: float | None,
    after: float,
    target: str,
    met: bool,
    values: Mapping[str, list[float]],
) -> Figures:
    verdict = "" if target.startswith("(") else ("met" if met else "MISSED")
    return {
        "goal": goal,
        "figure": figure,
        "before": before,
        "after": after,
        "target": target,
        "verdict": verdict,
        "values": dict(values),
    }


def _cells(row: Figures) -> list[object]:
    before = "" if row["before"] is None else row["before"]
    return [f"{row['goal']}: {row['figure']}", before, row["after"], row["target"], row["verdict"]]


def main(argv: list[str] | None = None) -> int:
    """Measure both checkouts, print the goals' table, write JSON with ``--json-out``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", default=BEFORE, metavar="REV|DIR")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of modes, overhead, start")
    parser.add_argument("--scale-rounds", type=int, default=6, help="bench_scale's paired rounds")
    parser.add_argument("--start-trials", type=int, default=9, help="bench_start's trials a side")
    parser.add_argument("--log-dir", type=Path, help="keep each benchmark's output here")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--small", action="store_true", help="the smoke tests' sizes")
    args = parser.parse_args(argv)
    sizes = SMALL if args.small else FULL
    with checkout(args.before) as tree, tempfile.TemporaryDirectory(prefix="dmpipe-14-") as temp:
        if tree is None:
            parser.error(f"--before {args.before}: neither a dmpipe checkout nor a revision")
        logs = args.log_dir or Path(temp)
        logs.mkdir(parents=True, exist_ok=True)
        trees = {"before": tree, "after": ROOT}
        check_runner(tree, env_for("before", tree))
        check_runner(ROOT, env_for("after", ROOT))
        load = [os.getloadavg()[0]]
        rounds = []
        for index in range(args.rounds):
            order = SIDES if index % 2 == 0 else SIDES[::-1]
            rounds.append(measure_round(sizes, args.start_trials, trees, order, logs, index))
        scale_args = [*sizes["scale"], "--against", str(tree), "--rounds", str(args.scale_rounds)]
        scale = run_script("bench_scale.py", scale_args, logs / "scale.log", os.environ)
        load.append(os.getloadavg()[0])
    rows = goal_rows(rounds, scale)
    print(f"issue 14, before ({args.before}) and after (this checkout), in one run")
    print(f"rounds: {args.rounds}; bench_scale paired rounds: {args.scale_rounds}; ", end="")
    print(f"load average {load[0]:.2f} at the start, {load[1]:.2f} at the end")
    header = ["goal: figure", "before", "after", "target", ""]
    cells = [_cells(row) for row in rows]
    print_table("each goal's figure, the median over the rounds", header, cells)
    if args.log_dir:
        print(f"\neach benchmark's output: {args.log_dir}")
    if args.json_out:
        document = {"benchmark": "issue14", "before": args.before, "rounds": args.rounds}
        write_json(args.json_out, {**document, "load": load, "goals": rows, "runs": rounds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
