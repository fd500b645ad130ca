"""Benchmark 3, scale: a 2,000-job DAG end to end; the runner's peak RSS and CPU per job.

    python bench/bench_scale.py [--levels 20] [--width 100] [--time-scale 4]
                                [--poll-interval 0.2] [--max-poll-interval 30] [--json-out FILE]
                                [--repeat N] [--breakdown] [--bytecode cached|environment]
                                [--runner-cpu N] [--against DIR|REV [--rounds 12]]
                                [--profile FILE (py-spy) | --cprofile FILE]

``dmpipe run FILE`` runs in a child process against ``dmpipe emulator`` in another,
so the figures are the runner's alone: its peak resident memory and its user + system
CPU seconds come from ``os.wait4`` on that one child (interpreter start-up, imports,
loading and validating the file, the run and the report included).  The DAG has the
shape of benchmark 1 (each job needs 1-3 jobs of the level before, 1-3 emulated
seconds each), ten times bigger.  Targets: peak RSS under 150 MB, CPU at most 3 ms per job
(issue 14).  CPU time on a shared machine varies by 10-20 % from run to run: ``--repeat N``
runs the DAG N times and reports the run with the median CPU, each run's figure beside it;
``--against DIR|REV`` compares this checkout with another one (a folder, or a git revision
checked out in a temporary worktree), run in turn for ``--rounds`` rounds, by the paired
differences of their CPU per job.
The validate + plan figures of a 10,000-job file come from bench/bench_plan.py.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bytecode import add_bytecode_option, compile_in_place
from checkouts import checkout
from emulator_process import ROOT, EmulatorProcess
from figures import print_table, write_json
from workload import PASSWORD, USER, layered, scenario, write_pipeline

TARGET_RSS_MB = 150.0
TARGET_CPU_MS_PER_JOB = 3.0


def run_child(
    command: list[str],
    folder: Path,
    env: Mapping[str, str],
    *,
    cpu: int | None = None,
    root: Path = ROOT,
) -> dict[str, Any]:
    """Run ``command`` from the checkout ``root`` (``python -m runner`` runs its dmpipe), on
    CPU ``cpu`` only when given; its exit code, wall seconds, peak RSS (MB) and CPU seconds."""
    started = time.perf_counter()
    pin = None if cpu is None else functools.partial(os.sched_setaffinity, 0, {cpu})
    with (folder / "stdout.txt").open("wb") as out, (folder / "stderr.txt").open("wb") as err:
        child = subprocess.Popen(
            command, cwd=root, stdout=out, stderr=err, env=dict(env), preexec_fn=pin
        )
        cpus = sorted(os.sched_getaffinity(child.pid))  # set before the child's exec
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return {
        "exit_code": child.returncode,
        "wall_seconds": time.perf_counter() - started,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports kilobytes
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
        "cpus": cpus,
    }


def bytecode_env(bytecode: str, roots: tuple[Path, ...] = (ROOT,)) -> dict[str, str]:
    """The children's environment.  ``cached``: every ``runner`` module compiled first, into
    its own ``__pycache__``, beside the ``.pyc`` files the Python and the venv were installed
    with, as an installed dmpipe runs (pip compiles at install); otherwise a source checkout
    under ``PYTHONDONTWRITEBYTECODE=1`` compiles the modules changed since its cache was
    written at every launch (0.1-0.25 s, up to 0.12 ms a job).  ``environment``: as it is."""
    env = {**os.environ, "DATAMEER_PASSWORD": PASSWORD, "DATAMEER_USER": USER}
    if bytecode == "cached":
        for root in roots:
            compile_in_place(root / "runner", env)
    return env


def measure(
    args: argparse.Namespace, folder: Path, env: Mapping[str, str], root: Path = ROOT
) -> dict[str, Any]:
    """Run the DAG once in a child process, with the dmpipe of checkout ``root`` (the
    emulator is always this checkout's), and return the figures."""
    workload = layered(args.levels, args.width, durations=(1.0, 3.0), seed=args.seed)
    scale = args.time_scale
    pipeline = write_pipeline(workload, folder, args)
    # What every command pays before running anything: interpreter, imports, the file.
    validate = [sys.executable, "-m", "runner", "validate", str(pipeline)]
    startup = run_child(validate, folder, env, root=root)
    with EmulatorProcess(scenario(workload, time_scale=scale), folder) as emulator:
        command = [sys.executable, "-m", "runner", "run", str(pipeline)]
        if args.profile:
            # py-spy (pip install py-spy; not a dependency) samples every thread of the runner,
            # sampling only the thread holding the GIL: collapsed stacks, one a line.
            spy = ["py-spy", "record", "--gil", "--threads", "--format", "raw", "--rate", "200"]
            command = [*spy, "-o", str(args.profile), "--", *command]
        elif args.cprofile:
            # Deterministic call counts (its timings are inflated by the profiler itself).
            command[1:1] = ["-m", "cProfile", "-o", str(args.cprofile.resolve())]
        command += ["--server", emulator.url, "--report-dir", str(folder / "report")]
        run_env = dict(env)
        if args.breakdown:
            # bench/breakdown/sitecustomize.py times parts of the run by thread CPU time.
            run_env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(Path(__file__).parent / "breakdown"), env.get("PYTHONPATH")])
            )
            run_env["DMPIPE_BREAKDOWN_OUT"] = str(folder / "breakdown.json")
        runner = run_child(command, folder, run_env, cpu=args.runner_cpu, root=root)
        stats = emulator.stats()
        triggers = [e for e in emulator.ledger() if e["action"] == "trigger" and e["effective"]]
    if startup["exit_code"] != 0 or runner["exit_code"] != 0:
        errors = (folder / "stderr.txt").read_text(encoding="utf-8", errors="replace")
        print(errors[-3000:], file=sys.stderr)
    jobs = len(workload.jobs)
    breakdown = folder / "breakdown.json"
    return {
        "breakdown": json.loads(breakdown.read_text("utf-8")) if breakdown.is_file() else None,
        "jobs": jobs,
        "levels": args.levels,
        "width": args.width,
        "time_scale": scale,
        "runner_cpu": args.runner_cpu,
        "poll_interval_real": args.poll_interval / scale,
        "max_poll_interval_real": args.max_poll_interval / scale,
        "triggers": len(triggers),
        "requests": stats.get("total", 0),
        "poll_ticks": stats.get("GET /rest/jobs/list-running", 0) - 1,  # minus the preflight
        "startup": startup,
        "runner": runner,
        "cpu_ms_per_job": runner["cpu_seconds"] * 1000 / jobs,
        "run_cpu_ms_per_job": (runner["cpu_seconds"] - startup["cpu_seconds"]) * 1000 / jobs,
        "targets": {"peak_rss_mb": TARGET_RSS_MB, "cpu_ms_per_job": TARGET_CPU_MS_PER_JOB},
    }


def print_figures(result: Mapping[str, Any]) -> None:
    """The figures and their targets."""
    runner = result["runner"]
    print(
        f"scale: {result['jobs']} jobs, {result['levels']} levels x {result['width']}, "
        f"time x{result['time_scale']:g}, poll {result['poll_interval_real'] * 1000:.0f} ms real, "
        f"exit {runner['exit_code']}, {result['triggers']} triggers, "
        f"{result['requests']} requests, {result['poll_ticks']} poll ticks"
        + ("" if result.get("runner_cpu") is None else f", runner on CPU {result['runner_cpu']}")
    )
    rss, cpu = runner["peak_rss_mb"], result["cpu_ms_per_job"]
    startup = result["startup"]
    print_table(
        "the runner process (dmpipe run), and dmpipe validate of the same file for reference",
        ["figure", "run", "validate", "target"],
        [
            ("wall seconds", runner["wall_seconds"], startup["wall_seconds"], ""),
            ("peak RSS (MB)", rss, startup["peak_rss_mb"], _target(rss, TARGET_RSS_MB, "MB")),
            ("CPU seconds (user + system)", runner["cpu_seconds"], startup["cpu_seconds"], ""),
            ("CPU ms per job", cpu, "", _target(cpu, TARGET_CPU_MS_PER_JOB, "ms")),
            ("CPU ms per job beyond validate", result["run_cpu_ms_per_job"], "", ""),
        ],
    )
    breakdown = result.get("breakdown")
    if breakdown:
        jobs = result["jobs"]
        print_table(
            "where the runner's CPU goes (thread CPU time inside each part; indented parts "
            "are inside the one above)",
            ["part", "CPU s", "ms per job", "share", "calls"],
            [
                (
                    row["part"],
                    row["cpu_seconds"],
                    row["cpu_seconds"] * 1000 / jobs,
                    f"{row['cpu_seconds'] / breakdown['process_cpu_seconds']:.0%}",
                    row["calls"],
                )
                for row in breakdown["parts"]
            ],
        )
        threads = breakdown.get("threads", {})
        if threads:
            print_table(
                "CPU by thread (pool threads summed; live threads read from /proc, 10 ms ticks)",
                ["thread", "CPU s", "ms per job", "share"],
                [
                    (
                        name,
                        seconds,
                        seconds * 1000 / jobs,
                        f"{seconds / breakdown['process_cpu_seconds']:.0%}",
                    )
                    for name, seconds in threads.items()
                ],
            )
        print(
            f"process CPU {breakdown['process_cpu_seconds']:.2f} s; context switches "
            f"{breakdown['voluntary_context_switches']} voluntary, "
            f"{breakdown['involuntary_context_switches']} involuntary"
        )
    repeats = result.get("repeats", [])
    if len(repeats) > 1:
        each = ", ".join(f"{value:.2f}" for value in repeats)
        print(f"\nCPU ms per job of each of {len(repeats)} runs: {each} (the median run above)")


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median CPU per job (the lower middle one of an even count), with
    every run's CPU per job beside it (``repeats``, in the order they ran)."""
    ranked = sorted(results, key=lambda result: result["cpu_ms_per_job"])
    middle = ranked[(len(ranked) - 1) // 2]
    return {**middle, "repeats": [result["cpu_ms_per_job"] for result in results]}


def compare(args: argparse.Namespace, other: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """This checkout and the one at ``args.against`` measured in turn, ``args.rounds``
    times, the first of each round alternating: a slow moment of a shared machine falls on
    both, and a change is judged by the paired differences, not by two lone figures."""
    trees = {"this": ROOT, "against": other}
    figures: dict[str, list[float]] = {name: [] for name in trees}
    failed: list[str] = []
    for index in range(args.rounds):
        for name in list(trees) if index % 2 == 0 else list(reversed(trees)):
            with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
                result = measure(args, Path(folder), env, trees[name])
            if result["runner"]["exit_code"] != 0:
                failed.append(f"{name} in round {index + 1}")
            figures[name].append(result["cpu_ms_per_job"])
    return {
        "benchmark": "scale-compare",
        "jobs": args.levels * args.width,
        "rounds": args.rounds,
        "this": str(trees["this"]),
        "against": args.against,  # as given: a folder, or a revision
        "against_checkout": str(other),
        "cpu_ms_per_job": figures,
        "differences": [a - b for a, b in zip(figures["this"], figures["against"], strict=True)],
        "failed": failed,
        "targets": {"cpu_ms_per_job": TARGET_CPU_MS_PER_JOB},
    }


def print_comparison(result: Mapping[str, Any]) -> None:
    """Each round's CPU per job for both checkouts, then the medians and the paired
    difference."""
    this, against = result["cpu_ms_per_job"]["this"], result["cpu_ms_per_job"]["against"]
    differences = result["differences"]
    print(f"scale, compared: {result['jobs']} jobs, {result['rounds']} rounds")
    print(f"  this:    {result['this']}\n  against: {result['against']}")
    print_table(
        "CPU ms per job, each round (the first of a round alternates)",
        ["round", "this", "against", "this - against"],
        [
            (index + 1, mine, theirs, difference)
            for index, (mine, theirs, difference) in enumerate(
                zip(this, against, differences, strict=True)
            )
        ],
    )
    lower = sum(difference < 0 for difference in differences)
    print(
        f"\nmedian: this {statistics.median(this):.2f}, against {statistics.median(against):.2f}"
        f" ms per job; paired difference median {statistics.median(differences):+.2f}, mean "
        f"{statistics.mean(differences):+.2f}; this lower in {lower} of {len(differences)} rounds"
    )
    for failure in result["failed"]:
        print(f"a run failed: {failure}")


def _target(value: float, limit: float, unit: str) -> str:
    flag = "" if value <= limit else f"  MISSED by {value - limit:.2f} {unit}"
    return f"<= {limit:g} {unit}{flag}"


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write JSON with ``--json-out``; exit 1 if the run failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--levels", type=int, default=20)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=4.0)
    parser.add_argument("--poll-interval", type=float, default=0.2, help="emulated seconds")
    parser.add_argument("--max-poll-interval", type=float, default=30.0, help="emulated seconds")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run N times, report the median run (default 1)"
    )
    parser.add_argument("--profile", type=Path, help="profile the runner with py-spy here")
    parser.add_argument("--cprofile", type=Path, help="profile the runner with cProfile here")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="time parts of the run by thread CPU time (bench/breakdown/sitecustomize.py)",
    )
    parser.add_argument(
        "--runner-cpu",
        type=int,
        metavar="N",
        help="run the runner on CPU N only and the emulator on the others (Linux): what "
        "the runner's threads cost in hand-offs between CPUs",
    )
    parser.add_argument(
        "--against",
        metavar="DIR|REV",
        help="another dmpipe checkout, or a git revision of this one (checked out in a "
        "temporary worktree): measure it and this one in turn, --rounds times, and print "
        "the paired differences",
    )
    parser.add_argument(
        "--rounds", type=int, default=12, help="with --against: rounds of one run each"
    )
    add_bytecode_option(parser, "every runner module compiled before measuring")
    args = parser.parse_args(argv)
    if args.against is not None and (
        args.profile or args.cprofile or args.breakdown or args.repeat != 1
    ):
        parser.error("--against measures whole runs: no --profile, --breakdown, --repeat")
    if args.runner_cpu is not None:
        others = os.sched_getaffinity(0) - {args.runner_cpu}
        if args.runner_cpu not in os.sched_getaffinity(0) or not others:
            parser.error(f"--runner-cpu {args.runner_cpu}: not one of several CPUs this may use")
        os.sched_setaffinity(0, others)  # the emulator, a child, runs there
    if args.against is not None:
        with checkout(args.against) as other:
            if other is None:
                parser.error(
                    f"--against {args.against}: neither a dmpipe checkout (a folder with "
                    "runner/) nor a revision of this repository"
                )
            compared = compare(args, other, bytecode_env(args.bytecode, (ROOT, other)))
        print_comparison(compared)
        if args.json_out:
            write_json(args.json_out, compared)
        return 1 if compared["failed"] else 0
    results = []
    env = bytecode_env(args.bytecode)
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
            results.append(measure(args, Path(folder), env))
    result = median_run(results)
    print_figures(result)
    if args.json_out:
        write_json(args.json_out, {"benchmark": "scale", **result})
    return 0 if result["runner"]["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
