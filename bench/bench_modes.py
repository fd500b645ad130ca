"""Benchmark 4, execution modes: the same 20-job chain in sequential and in client mode.

    python bench/bench_modes.py [--length 20] [--time-scale 4] [--poll-interval 0.2]
                                [--max-poll-interval 30] [--json-out FILE]

The hand-written peer (``naive_poller.run_threads``: one thread per job, trigger
then poll v2 status every interval) runs the same chain last; dmpipe's figures are
printed as ratios to it.  Each mode gets a fresh emulator (a child process) whose
artifacts are linked ``downstream`` one after the other, so that Datameer's
sequential trigger runs the chain itself; in client mode dmpipe triggers each job
when the one before has finished.  Jobs last 1-3 emulated seconds; intervals are
emulated seconds, scaled like the clock.  Figures: makespan (real seconds, and over
the chain's summed durations) and the requests the emulator received, by endpoint.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator_process import EmulatorProcess
from figures import besides_ticks, print_table, write_json
from naive_poller import run_threads
from runs import run_dmpipe
from workload import PASSWORD, USER, chain, critical_path, scenario, write_pipeline

MODES = ("sequential", "client")
PEER = "threads script"  # bench/naive_poller.run_threads: one thread per job, v2 status polls
SHORT_NAMES = {
    "GET /api/job-execution/{ref}/status": "v2 status",
    "POST /api/job-execution/{ref}/trigger": "trigger",
    "POST /rest/job-execution?sequence=": "sequence",
    "GET /rest/job-execution/job-details/{id}": "details",
    "GET /rest/jobs/list-running": "list-running",
}


def run_mode(mode: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Run the chain once in ``mode`` on its own emulator."""
    workload = chain(args.length, seed=args.seed)
    scale = args.time_scale
    pipeline = write_pipeline(workload, folder, args, mode)
    served = scenario(workload, time_scale=scale, downstream=True)
    with EmulatorProcess(served, folder) as emulator:
        run = run_dmpipe(pipeline, emulator.url, folder / "report", mode=mode)
        stats = emulator.stats()
        started = [e for e in emulator.ledger() if e["effective"]]
    bound = critical_path(workload)[0] / scale
    return {
        "mode": mode,
        "jobs": len(workload.jobs),
        "exit_code": run.exit_code,
        "succeeded": sum(1 for o in run.outcomes.values() if o == "SUCCEEDED"),
        "executions_started": len(started),
        "lower_bound_real": bound,
        "makespan_real": run.seconds,
        "ratio": run.seconds / bound,
        "requests": stats.get("total", 0),
        "by_endpoint": {k: v for k, v in sorted(stats.items()) if k != "total"},
    }


def run_peer(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The hand-written peer on the same chain, its own emulator, polling every
    ``poll_interval`` (emulated) without backoff."""
    workload = chain(args.length, seed=args.seed)
    scale = args.time_scale
    files = {job.name: job.file_id for job in workload.jobs}
    needs = {job.file_id: [files[n] for n in job.needs] for job in workload.jobs}
    with EmulatorProcess(scenario(workload, time_scale=scale), folder) as emulator:
        peer = run_threads(emulator.url, needs, USER, PASSWORD, args.poll_interval / scale)
        stats = emulator.stats()
        started = [e for e in emulator.ledger() if e["effective"]]
    bound = critical_path(workload)[0] / scale
    return {
        "mode": PEER,
        "jobs": len(workload.jobs),
        "exit_code": 0 if peer.finished == len(workload.jobs) else 1,
        "succeeded": peer.finished,
        "executions_started": len(started),
        "lower_bound_real": bound,
        "makespan_real": peer.seconds,
        "ratio": peer.seconds / bound,
        "requests": stats.get("total", 0),
        "by_endpoint": {k: v for k, v in sorted(stats.items()) if k != "total"},
    }


def print_figures(result: Mapping[str, Any]) -> None:
    """One row per mode, then the requests by endpoint."""
    print(
        f"modes: a chain of {result['length']} jobs, time x{result['time_scale']:g}, poll "
        f"{result['poll_interval']:g} s, max {result['max_poll_interval']:g} s (emulated)"
    )
    rows = result["modes"]
    print_table(
        "makespan (real seconds) and requests",
        ["mode", "exit", "lower bound", "makespan", "ratio", "requests", "req/job", "rest/job"],
        [
            (
                row["mode"],
                row["exit_code"],
                row["lower_bound_real"],
                row["makespan_real"],
                row["ratio"],
                row["requests"],
                row["requests"] / row["jobs"],
                besides_ticks(row["requests"], row["by_endpoint"], row["jobs"]),
            )
            for row in rows
        ],
    )
    print("rest/job: requests per job besides list-running (the ticks)")
    peer = next((row for row in rows if row["mode"] == PEER), None)
    if peer is not None:
        print_table(
            f"dmpipe against the {PEER} (dmpipe / peer)",
            ["mode", "makespan ratio", "requests ratio"],
            [
                (
                    row["mode"],
                    row["makespan_real"] / peer["makespan_real"],
                    row["requests"] / max(1, peer["requests"]),
                )
                for row in rows
                if row is not peer
            ],
        )
    endpoints = sorted({name for row in rows for name in row["by_endpoint"]})
    print_table(
        "requests by endpoint",
        ["endpoint", *(row["mode"] for row in rows)],
        [
            (SHORT_NAMES.get(name, name), *(row["by_endpoint"].get(name, 0) for row in rows))
            for name in endpoints
        ],
    )


def main(argv: list[str] | None = None) -> int:
    """Run both modes, print, write JSON with ``--json-out``; exit 1 if a run failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=4.0)
    parser.add_argument("--poll-interval", type=float, default=0.2, help="emulated seconds")
    parser.add_argument("--max-poll-interval", type=float, default=30.0, help="emulated seconds")
    parser.add_argument("--no-peer", action="store_true", help="skip the threads script")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    rows = []
    for mode in MODES:
        with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
            rows.append(run_mode(mode, args, Path(folder)))
    if not args.no_peer:
        with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
            rows.append(run_peer(args, Path(folder)))
    result = {
        "length": args.length,
        "time_scale": args.time_scale,
        "poll_interval": args.poll_interval,
        "max_poll_interval": args.max_poll_interval,
        "modes": rows,
    }
    print_figures(result)
    if args.json_out:
        write_json(args.json_out, {"benchmark": "modes", **result})
    return 0 if all(row["exit_code"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
