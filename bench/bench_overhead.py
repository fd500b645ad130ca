"""Benchmark 1, scheduling overhead: makespan of a layered DAG against its critical path.

    python bench/bench_overhead.py [--levels 10] [--width 20] [--time-scale 2]
                                   [--poll-interval 0.2] [--max-poll-interval 30]
                                   [--json-out FILE]

200 jobs (10 levels x 20, each needing 1-3 jobs of the level before), lasting
1-3 emulated seconds, unlimited parallelism, run by dmpipe in this process against
``dmpipe emulator`` in a child process.  The emulator's clock runs ``time-scale``
emulated seconds per real second, and the pipeline's poll intervals are the given
emulated seconds divided by the same scale: the run is the same run as on a real
server, played faster.  ``max-poll-interval`` is the pipeline default (the interval grows
while nothing changes); pass 0.2 for a fixed interval.  Figures, in real seconds:

- ratio: dmpipe's makespan (run_pipeline, first call to return) divided by the
  critical-path lower bound (the longest chain's summed durations).  Target <= 1.10.
- lag: for every job with needs, from the server completion of the need that
  finished last (emulator clock) to the server's receipt of the job's trigger
  (emulator ledger); split into detection (completion -> dmpipe's ``finished``
  event) and triggering (that event -> trigger received).
- requests: every call the emulator counted during the run.

The hand-written peer (``naive_poller.run_threads``: one thread per job, trigger then
poll v2 status every ``poll-interval``, no backoff) then runs the same DAG on a fresh
emulator; its makespan, lag (server side) and requests are printed next to dmpipe's,
as ratios (``--no-peer`` skips it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator_process import EmulatorProcess
from figures import LIST_RUNNING, besides_ticks, print_table, spread, write_json
from naive_poller import run_threads
from runs import TimedRun, run_dmpipe
from workload import (
    PASSWORD,
    USER,
    Workload,
    critical_path,
    layered,
    scenario,
    write_pipeline,
)

TARGET_RATIO = 1.10


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Run the layered DAG once and compute every figure."""
    workload = layered(args.levels, args.width, durations=(1.0, 3.0), seed=args.seed)
    scale = args.time_scale
    pipeline = write_pipeline(workload, folder, args)
    with EmulatorProcess(scenario(workload, time_scale=scale), folder) as emulator:
        sync = emulator.clock_sync()
        run = run_dmpipe(pipeline, emulator.url, folder / "report")
        ledger, executions = emulator.ledger(), emulator.executions()
        stats = emulator.stats()
    server = _server_times(workload, ledger, executions)
    figures = _figures(args, workload, run, server, sync)
    figures["requests"] = stats.get("total", 0)
    figures["by_endpoint"] = {k: v for k, v in sorted(stats.items()) if k != "total"}
    return figures


def measure_peer(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Run the same DAG with the hand-written threads script."""
    workload = layered(args.levels, args.width, durations=(1.0, 3.0), seed=args.seed)
    scale = args.time_scale
    files = {job.name: job.file_id for job in workload.jobs}
    needs = {job.file_id: [files[n] for n in job.needs] for job in workload.jobs}
    with EmulatorProcess(scenario(workload, time_scale=scale), folder) as emulator:
        peer = run_threads(emulator.url, needs, USER, PASSWORD, args.poll_interval / scale)
        ledger, executions = emulator.ledger(), emulator.executions()
        stats = emulator.stats()
    server = _server_times(workload, ledger, executions)
    total = [v / scale for v in lags(workload, server, {})["total"]]
    bound = critical_path(workload)[0] / scale
    return {
        "succeeded": peer.finished,
        "makespan_real": peer.seconds,
        "ratio": peer.seconds / bound,
        "lag_total_real": spread(total),
        "requests": stats.get("total", 0),
        "by_endpoint": {k: v for k, v in sorted(stats.items()) if k != "total"},
    }


def _server_times(
    workload: Workload, ledger: list[dict[str, Any]], executions: list[dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per job, in emulated seconds: when its trigger arrived, when its execution finished."""
    names = {job.file_id: job.name for job in workload.jobs}
    triggers = [e for e in ledger if e["action"] == "trigger" and e["effective"]]
    if sorted(names[e["file_id"]] for e in triggers) != sorted(names.values()):
        raise SystemExit("the emulator did not see exactly one trigger per job")
    stops = {names[e["file_id"]]: e["stop_time"] for e in executions if e["stop_time"] is not None}
    return {
        "triggered": {names[e["file_id"]]: float(e["at"]) for e in triggers},
        "finished": {name: float(at) for name, at in stops.items()},
    }


def lags(
    workload: Workload,
    server: Mapping[str, Mapping[str, float]],
    detected: Mapping[str, float],
) -> dict[str, list[float]]:
    """Per job with needs, in emulated seconds: total lag, detection part, triggering part."""
    result: dict[str, list[float]] = {"total": [], "detection": [], "triggering": []}
    finished, triggered = server["finished"], server["triggered"]
    for job in workload.jobs:
        if not job.needs:
            continue
        last = max(job.needs, key=lambda need: finished[need])
        total = triggered[job.name] - finished[last]
        result["total"].append(total)
        if last not in detected:
            continue
        detection = detected[last] - finished[last]
        result["detection"].append(detection)
        result["triggering"].append(total - detection)
    return result


def _figures(
    args: argparse.Namespace,
    workload: Workload,
    run: TimedRun,
    server: Mapping[str, Mapping[str, float]],
    sync: tuple[float, float],
) -> dict[str, Any]:
    scale: float = args.time_scale
    wall_at_sync, emulated_at_sync = sync

    def emulated(wall: float) -> float:
        return emulated_at_sync + (wall - wall_at_sync) * scale

    bound, path = critical_path(workload)
    detected = {job: emulated(at) for job, at in run.first("finished").items()}
    parts = lags(workload, server, detected)
    first_trigger = min(server["triggered"].values())
    last_finish = max(server["finished"].values())
    makespan = run.seconds
    return {
        "jobs": len(workload.jobs),
        "levels": args.levels,
        "width": args.width,
        "time_scale": scale,
        "poll_interval_real": args.poll_interval / scale,
        "max_poll_interval_real": args.max_poll_interval / scale,
        "exit_code": run.exit_code,
        "succeeded": sum(1 for o in run.outcomes.values() if o == "SUCCEEDED"),
        "critical_path_jobs": len(path),
        "lower_bound_real": bound / scale,
        "makespan_real": makespan,
        "ratio": makespan / (bound / scale),
        "server_span_real": (last_finish - first_trigger) / scale,
        "start_overhead_real": (first_trigger - emulated(run.started)) / scale,
        "finish_overhead_real": (emulated(run.started) + makespan * scale - last_finish) / scale,
        "lag_real": {name: spread([v / scale for v in values]) for name, values in parts.items()},
        "target_ratio": TARGET_RATIO,
    }


def print_figures(result: Mapping[str, Any]) -> None:
    """The figures as tables on stdout."""
    ratio = result["ratio"]
    flag = "" if ratio <= TARGET_RATIO else f"  MISSED by {ratio - TARGET_RATIO:.3f}"
    print(
        f"overhead: {result['jobs']} jobs, {result['levels']} levels x {result['width']}, "
        f"time x{result['time_scale']:g}, poll {result['poll_interval_real'] * 1000:.0f} ms real "
        f"(max {result['max_poll_interval_real'] * 1000:.0f} ms), exit {result['exit_code']}"
    )
    print_table(
        "makespan (real seconds)",
        ["figure", "value", "target"],
        [
            ("critical-path lower bound", result["lower_bound_real"], ""),
            ("dmpipe makespan", result["makespan_real"], ""),
            ("ratio", ratio, f"<= {TARGET_RATIO}{flag}"),
            ("server span (1st trigger..last end)", result["server_span_real"], ""),
            ("run start -> first trigger", result["start_overhead_real"], ""),
            ("last end -> run returns", result["finish_overhead_real"], ""),
        ],
    )
    print_table(
        "lag from a need's completion to the dependant's trigger (real ms)",
        ["part", "count", "p50", "p90", "max"],
        [
            (name, s["count"], s["p50"] * 1000, s["p90"] * 1000, s["max"] * 1000)
            for name, s in result["lag_real"].items()
        ],
    )
    listed = result["by_endpoint"].get(LIST_RUNNING, 0)
    other = besides_ticks(result["requests"], result["by_endpoint"], result["jobs"])
    print(
        f"requests: {result['requests']} ({result['requests'] / result['jobs']:.2f} per job), "
        f"of which list-running {listed}; the rest is {other:.2f} per job"
    )
    peer = result.get("peer")
    if peer is None:
        return
    mine = result["lag_real"]["total"]
    theirs = peer["lag_total_real"]
    print_table(
        "dmpipe against the threads script (one thread per job, v2 status every poll interval)",
        ["figure", "dmpipe", "threads script", "dmpipe / script"],
        [
            (name, a, b, a / b if b else float("nan"))
            for name, a, b in (
                ("makespan (s)", result["makespan_real"], peer["makespan_real"]),
                ("ratio to critical path", result["ratio"], peer["ratio"]),
                ("lag p50 (ms)", mine["p50"] * 1000, theirs["p50"] * 1000),
                ("lag p90 (ms)", mine["p90"] * 1000, theirs["p90"] * 1000),
                ("requests", float(result["requests"]), float(peer["requests"])),
            )
        ],
    )


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write JSON with ``--json-out``; exit 1 if the run itself failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=2.0)
    parser.add_argument("--poll-interval", type=float, default=0.2, help="emulated seconds")
    parser.add_argument(
        "--max-poll-interval", type=float, default=30.0, help="emulated seconds (30: the default)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the threads script")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
        result = measure(args, Path(folder))
    if not args.no_peer:
        with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
            result["peer"] = measure_peer(args, Path(folder))
    print_figures(result)
    if args.json_out:
        write_json(args.json_out, {"benchmark": "overhead", **result})
    return 0 if result["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
