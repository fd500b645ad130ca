"""Benchmark 9, reports: the CPU a big run spends writing report.json, HTML, Markdown, JUnit.

    python bench/bench_reports.py [--levels 20] [--width 100] [--repeat 7]
                                  [--keep DIR] [--json-out FILE]

No server and no run: a run of bench_scale.py's 2,000-job DAG (``levels * width``
jobs) is made up in memory, every job succeeding, every 50th after a failed first
attempt, with Datameer's counters.  Its report is then written as a run writes it:
``write_report`` (report.json), then ``publish_reports`` (the renderings), each timed by
the process CPU time; the median and the best of ``repeat`` rounds are printed.  Every
round must write the same bytes.  ``--keep DIR`` keeps the files of the last round, to
compare two versions of the code byte for byte.  A measurement: it never fails on time.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from figures import measure_and_show, print_table
from workload import Workload, layered, pipeline_yaml

from runner.datameer.status import JobStatus
from runner.engine.outcome import Attempt, JobOutcome, JobState
from runner.report.publish import publish_reports
from runner.report.writer import RunFacts, RunSummary, build_report, write_report
from runner.spec.loader import load_pipeline_text

STARTED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # dmpipe's clock
SERVER_EPOCH = datetime(2026, 11, 28, 10, 0)  # Datameer's: local time, no zone
RETRIED_EVERY = 50
RETRY_DELAY = 5.0


def made_up_states(workload: Workload, seed: int) -> dict[str, JobState]:
    """Every job of ``workload`` triggered once its needs ended, in the workload's order;
    every 50th job failed once and succeeded on its retry."""
    rng = random.Random(seed)
    ends: dict[str, float] = {}
    states: dict[str, JobState] = {}
    for index, job in enumerate(workload.jobs):
        start = max((ends[need] for need in job.needs), default=0.0)
        attempts = []
        if index % RETRIED_EVERY == RETRIED_EVERY - 1:
            attempts.append(_attempt(rng, index, 1, start, job.duration, failed=True))
            start += job.duration + RETRY_DELAY
        attempts.append(_attempt(rng, index, len(attempts) + 1, start, job.duration))
        ends[job.name] = start + job.duration + 0.5
        states[job.name] = JobState(job.name, JobOutcome.SUCCEEDED, attempts, file_id=job.file_id)
    return states


def _attempt(
    rng: random.Random, index: int, number: int, start: float, duration: float, failed: bool = False
) -> Attempt:
    """One attempt seen by dmpipe from ``start`` to ``start + duration`` (plus its lag)."""
    records = rng.randint(1_000, 50_000)
    return Attempt(
        number,
        triggered_at=STARTED + timedelta(seconds=start),
        execution_id=3000 + 2 * index + number,
        status=JobStatus.ERROR if failed else JobStatus.COMPLETED,
        raw_status="ERROR" if failed else "COMPLETED",
        server_start=SERVER_EPOCH + timedelta(seconds=round(start + 0.1)),
        server_stop=SERVER_EPOCH + timedelta(seconds=round(start + duration)),
        detected_at=STARTED + timedelta(seconds=start + duration + rng.uniform(0.1, 0.5)),
        counters={
            "WORKBOOK_RECORDS": records,
            "WORKBOOK_DROPPED_RECORDS": rng.choice((0, 0, 0, rng.randint(1, 50))),
            "WORKBOOK_OUTPUT_BYTES": records * 64,
        },
        error="Job failed: java.io.IOException: <connection reset> & gave up" if failed else None,
        outcome=JobOutcome.FAILED if failed else JobOutcome.SUCCEEDED,
        trigger_sends=1,
        progress=100.0,
        estimate_seconds=round(duration),
    )


def made_up_report(workload: Workload, seed: int) -> dict[str, Any]:
    """The report document of a successful run of ``workload``.  Its pipeline file is named
    like ``<string>`` and written nowhere, so that every invocation writes the same bytes."""
    text = pipeline_yaml(workload, poll_interval=2.0, max_poll_interval=30.0)
    pipeline = load_pipeline_text(text, filename=f"<made up: {workload.name}>")
    states = made_up_states(workload, seed)
    last = max(attempt.detected_at or STARTED for s in states.values() for attempt in s.attempts)
    summary = RunSummary(0, False, False, "client", "set in the pipeline file", STARTED, last)
    facts = RunFacts(server_user="admin", os_user="bench")
    return build_report(pipeline, states, summary, server_url="http://localhost:8088", facts=facts)


def timed(action: Callable[[], object]) -> float:
    """The process CPU seconds ``action`` took."""
    started = time.process_time()
    action()
    return time.process_time() - started


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Write the made-up report ``args.repeat`` times; the CPU seconds of each round."""
    workload = layered(args.levels, args.width, durations=(1.0, 3.0), seed=args.seed)
    document = made_up_report(workload, args.seed)
    report_dir = folder / "report"
    seconds: dict[str, list[float]] = {"write_report": [], "publish_reports": []}
    first: dict[str, bytes] = {}
    identical = True
    for _ in range(args.repeat):
        shutil.rmtree(report_dir, ignore_errors=True)
        seconds["write_report"].append(timed(lambda: write_report(report_dir, document)))
        seconds["publish_reports"].append(timed(lambda: publish_reports(report_dir, {})))
        files = {path.name: path.read_bytes() for path in sorted(report_dir.iterdir())}
        identical = identical and files == (first or files)
        first = first or files
    if args.keep:
        shutil.copytree(report_dir, args.keep, dirs_exist_ok=True)
    jobs = len(workload.jobs)
    return {
        "jobs": jobs,
        "attempts": sum(len(job["attempts"]) for job in document["jobs"]),
        "files": {name: len(content) for name, content in first.items()},
        "identical_rounds": identical,
        "timings": {name: _summary(values, jobs) for name, values in seconds.items()},
    }


def _summary(values: list[float], jobs: int) -> dict[str, Any]:
    median = statistics.median(values)
    return {
        "median": median,
        "best": min(values),
        "runs": len(values),
        "ms_per_job": median * 1000 / jobs,
        "each": values,
    }


def print_figures(result: dict[str, Any]) -> None:
    """The CPU figures and the files written."""
    print(
        f"reports: {result['jobs']} jobs, {result['attempts']} attempts; files "
        + ", ".join(f"{name} {size:,} B" for name, size in result["files"].items())
    )
    print_table(
        f"CPU seconds (process time) of {result['timings']['write_report']['runs']} rounds",
        ["part", "median", "best", "ms per job"],
        [
            (name, timing["median"], timing["best"], timing["ms_per_job"])
            for name, timing in result["timings"].items()
        ],
    )
    if not result["identical_rounds"]:
        print("\nTHE ROUNDS WROTE DIFFERENT BYTES: the reports are not deterministic")


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write JSON with ``--json-out``; exit 1 if two rounds differed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--levels", type=int, default=20)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--keep", type=Path, help="copy the last round's files here")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    result = measure_and_show("reports", args, measure, print_figures)
    return 0 if result["identical_rounds"] else 1


if __name__ == "__main__":
    sys.exit(main())
