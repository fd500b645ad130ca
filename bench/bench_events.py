"""Benchmark 4, events: the CPU one run event costs in the sinks of a non-interactive run.

    python bench/bench_events.py [--jobs 2000] [--repeat 5] [--cprofile FILE]

Builds the sink chain ``dmpipe run`` wires when stderr is no terminal (the plain
timestamped lines behind the heartbeat, the closing-line holder, the first-step sink, then
the engine's fan-out to that, the journal and the warning log) and sends it, through
``RunContext.emit``, the events a job of ``bench_scale.py`` makes: triggering, trigger_sent,
triggered, status RUNNING, progress, status COMPLETED, finished (7 a job, 14,000 for 2,000
jobs).  The lines go to a file, as in the benchmark.  Prints process CPU µs per event, the
median of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from runner.clock import SystemClock
from runner.commands.run import _first_step
from runner.engine.context import RunContext
from runner.engine.events import EventFanout, EventKind
from runner.engine.journal import Journal
from runner.engine.outcome import Attempt, JobState
from runner.engine.run_warnings import WarningLog
from runner.engine.slots import Slot
from runner.model import Job
from runner.reference import JobRef
from runner.report.display import ClosingLineLast, Display, event_display


def one_job(emit: Callable[..., None], slot: Slot, execution: int) -> None:
    """The events of one job that runs once and succeeds, as a run emits them."""
    slot.state.attempts.append(Attempt(number=1))
    emit(EventKind.TRIGGERING, slot, "triggering")
    emit(EventKind.TRIGGER_SENT, slot, "sending trigger", previous_execution_id=None)
    triggered_at = "2026-12-01T13:07:37.305826+00:00"
    message = f"triggered execution {execution}"
    emit(
        EventKind.TRIGGERED,
        slot,
        message,
        execution_id=execution,
        recovered=False,
        triggered_at=triggered_at,
    )
    emit(EventKind.STATUS, slot, f"execution {execution} is RUNNING", status="RUNNING")
    emit(EventKind.PROGRESS, slot, "40% done", progress=40.0, estimate_seconds=2.0)
    emit(EventKind.STATUS, slot, f"execution {execution} is COMPLETED", status="COMPLETED")
    emit(EventKind.FINISHED, slot, f"execution {execution} succeeded", outcome="SUCCEEDED")


def one_round(folder: Path, jobs: int) -> tuple[float, int]:
    """Process CPU seconds for the events of ``jobs`` jobs, and how many events that was."""
    slots = [
        Slot(Job(f"job_{n:04d}", JobRef.parse(n + 1)), JobState(f"job_{n:04d}"))
        for n in range(jobs)
    ]
    with (
        # Line-buffered, like a Python's stderr sent to a file.
        (folder / "stderr.txt").open("w", buffering=1, encoding="utf-8") as stream,
        event_display(Display.PLAIN, stream, os.environ, heartbeat=60.0) as shown,
    ):
        journal = Journal(folder)
        sink = EventFanout([_first_step(ClosingLineLast().around(shown)), journal, WarningLog()])
        # emit reads only the context's clock and sink.
        context = cast(RunContext, _Context(sink))
        started = time.process_time()
        for number, slot in enumerate(slots):
            one_job(lambda *a, **k: RunContext.emit(context, *a, **k), slot, 3000 + number)
        spent = time.process_time() - started
        journal.close()
    return spent, jobs * 7


class _Context:
    def __init__(self, sink: Any) -> None:
        self.clock = SystemClock()
        self.sink = sink


def main(argv: list[str] | None = None) -> int:
    """Measure and print µs per event."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cprofile", type=Path, help="write a cProfile of one round here")
    args = parser.parse_args(argv)
    rounds = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="dmpipe-events-") as folder:
            rounds.append(one_round(Path(folder), args.jobs))
    if args.cprofile:
        with tempfile.TemporaryDirectory(prefix="dmpipe-events-") as folder:
            cProfile.runctx(
                "one_round(Path(folder), args.jobs)", globals(), locals(), str(args.cprofile)
            )
    per_event = [seconds * 1e6 / events for seconds, events in rounds]
    events = rounds[0][1]
    print(
        f"{events} events: {statistics.median(per_event):.1f} µs CPU per event (median of "
        f"{len(rounds)}; each {', '.join(f'{value:.1f}' for value in per_event)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
