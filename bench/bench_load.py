"""Benchmark 2, load on the Datameer server: 500 jobs running at once, three ways to watch them.

    python bench/bench_load.py [--jobs 500] [--duration 20] [--time-scale 2]
                               [--poll-interval 2] [--json-out FILE]

Each variant gets a fresh emulator (a child process) serving ``jobs`` independent
artifacts of ``duration`` emulated seconds, and runs them all at once:

- ``dmpipe batched``: one list-running call per tick answers for every job;
- ``dmpipe per-job``: the same with ``batch_polling=False`` (one details call per job per tick);
- ``naive script``: the reference's curl commands in a loop (bench/naive_poller.py):
  trigger each job, then ask each job's v2 status every interval;
- ``dmpipe batched, backoff``: batched with the default ``max_poll_interval`` (30 s), the
  interval growing while nothing changes.

The first three poll every ``poll-interval`` emulated seconds, fixed, so they differ only
in how they poll.  Figures come from the emulator's request counts.  Rates are per
emulated second (what a real server would see: the clock and the intervals are scaled
alike).  Target for dmpipe batched: at most one polling request per tick for all jobs
together, plus at most 2 requests per job (trigger, final details) and the status looks
that stand in for a baseline: the first wave's scout, and a look before each trigger where
the run has none (per-job polling has no list-running to give one; issue 14, goal 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator_process import EmulatorProcess
from figures import print_table, write_json
from naive_poller import run_naive
from runs import run_dmpipe
from workload import PASSWORD, USER, Workload, independent, pipeline_yaml, scenario

STATUS = "GET /api/job-execution/{ref}/status"
TRIGGER = "POST /api/job-execution/{ref}/trigger"
DETAILS = "GET /rest/job-execution/job-details/{id}"
LIST_RUNNING = "GET /rest/jobs/list-running"
DEFAULT_MAX_POLL = 30.0  # the pipeline file's default max_poll_interval, emulated seconds
VARIANTS = ("dmpipe batched", "dmpipe per-job", "naive script", "dmpipe batched, backoff")
TARGET_PER_JOB = 3
COLUMNS: tuple[str, ...] = (
    "variant",
    "requests",
    "req/s",
    "req/job",
    "per-job",
    "poll-req/s",
    "ticks",
)
COLUMNS += ("poll/tick", "target")
TARGET_PER_TICK = 1


def run_variant(variant: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One variant on its own emulator; the raw counts and the run's duration."""
    workload = independent(args.jobs, args.duration)
    scale, interval = args.time_scale, args.poll_interval
    backoff = variant.endswith("backoff")
    pipeline = folder / "pipeline.yaml"
    pipeline.write_text(
        pipeline_yaml(
            workload,
            poll_interval=interval / scale,
            max_poll_interval=(DEFAULT_MAX_POLL if backoff else interval) / scale,
        ),
        encoding="utf-8",
    )
    with EmulatorProcess(scenario(workload, time_scale=scale), folder) as emulator:
        if variant == "naive script":
            ids = [job.file_id for job in workload.jobs]
            naive = run_naive(emulator.url, ids, USER, PASSWORD, interval / scale)
            seconds, rounds, finished = naive.seconds, naive.rounds, naive.finished
        else:
            run = run_dmpipe(
                pipeline, emulator.url, folder / "report", batch_polling=variant != "dmpipe per-job"
            )
            seconds, rounds = run.seconds, None
            finished = sum(1 for o in run.outcomes.values() if o == "SUCCEEDED")
        stats = emulator.stats()
    return _figures(variant, workload, stats, seconds * scale, rounds, finished, interval)


def _figures(
    variant: str,
    workload: Workload,
    stats: Mapping[str, int],
    server_seconds: float,
    rounds: int | None,
    finished: int,
    interval: float,
) -> dict[str, Any]:
    """Requests split into per-job ones (start, final details) and polling ones."""
    jobs = len(workload.jobs)
    total = stats.get("total", 0)
    if variant == "naive script":
        per_job = stats.get(TRIGGER, 0)
        polling, ticks = stats.get(STATUS, 0), rounds
    else:
        # Each job: the trigger, one details call once it left the running list, and a
        # status look before its trigger where the run had no baseline (batched: the
        # first wave's scout only); the first list-running call is the run's preflight.
        per_job = stats.get(STATUS, 0) + stats.get(TRIGGER, 0) + min(stats.get(DETAILS, 0), jobs)
        polling = total - per_job - 1
        ticks = stats.get(LIST_RUNNING, 0) - 1 if variant.startswith("dmpipe batched") else None
    return {
        "variant": variant,
        "jobs": jobs,
        "finished": finished,
        "requests": total,
        "by_endpoint": {k: v for k, v in sorted(stats.items()) if k != "total"},
        "server_seconds": server_seconds,
        "requests_per_second": total / server_seconds,
        "requests_per_job": total / jobs,
        "per_job_requests": per_job / jobs,
        "polling_requests": polling,
        "ticks": ticks,
        "polling_per_tick": polling / ticks if ticks else None,
        "polling_per_interval": polling / (server_seconds / interval),
        "polling_per_second": polling / server_seconds,
    }


def verdict(row: Mapping[str, Any]) -> str:
    """Whether dmpipe batched meets the target; empty for the other variants."""
    if not row["variant"].startswith("dmpipe batched"):
        return ""
    met = row["per_job_requests"] <= TARGET_PER_JOB and row["polling_per_tick"] is not None
    met = met and row["polling_per_tick"] <= TARGET_PER_TICK
    return "met" if met else "MISSED"


def print_figures(result: Mapping[str, Any]) -> None:
    """One row per variant."""
    print(
        f"server load: {result['jobs']} jobs of {result['duration']:g} s at once, "
        f"time x{result['time_scale']:g}, poll every {result['poll_interval']:g} s (emulated)"
    )
    print_table(
        "requests received by the emulator (rates per emulated second)",
        COLUMNS,
        [
            (
                row["variant"],
                row["requests"],
                row["requests_per_second"],
                row["requests_per_job"],
                row["per_job_requests"],
                row["polling_per_second"],
                "-" if row["ticks"] is None else row["ticks"],
                "-" if row["polling_per_tick"] is None else row["polling_per_tick"],
                verdict(row),
            )
            for row in result["variants"]
        ],
    )
    print(f"target (dmpipe batched): <= {TARGET_PER_TICK} polling request per tick, ", end="")
    print(f"<= {TARGET_PER_JOB} requests per job")


def main(argv: list[str] | None = None) -> int:
    """Run every variant, print, write JSON with ``--json-out``; exit 1 if a job did not finish."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--duration", type=float, default=20.0, help="emulated seconds")
    parser.add_argument("--time-scale", type=float, default=2.0)
    parser.add_argument("--poll-interval", type=float, default=2.0, help="emulated seconds")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    rows = []
    for variant in args.variants:
        with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
            rows.append(run_variant(variant, args, Path(folder)))
    result = {
        "jobs": args.jobs,
        "duration": args.duration,
        "time_scale": args.time_scale,
        "poll_interval": args.poll_interval,
        "variants": rows,
        "target": {"per_job": TARGET_PER_JOB, "polling_per_tick": TARGET_PER_TICK},
    }
    print_figures(result)
    if args.json_out:
        write_json(args.json_out, {"benchmark": "load", **result})
    return 0 if all(row["finished"] == row["jobs"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
