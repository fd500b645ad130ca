"""Benchmark 8, events: the CPU one run event costs in the sinks of a non-interactive run.

    python bench/bench_events.py [--jobs 2000] [--repeat 7] [--busy-threads N]
                                 [--json-out FILE] [--cprofile FILE]

Builds the sink chain ``dmpipe run`` wires when stderr is no terminal (the plain
timestamped lines behind the heartbeat, the closing-line holder, the first-step sink, then
the engine's fan-out to that, the journal and the warning log) and sends it, through
``RunContext.emit``, the events a job of ``bench_scale.py`` makes: triggering, trigger_sent,
triggered, status RUNNING, progress, status COMPLETED, finished (7 a job, 14,000 for 2,000
jobs).  The lines go to a line-buffered file, as a redirected stderr does.  Prints the
emitting thread's CPU µs per event for the whole chain and for each sink alone, the best
of ``--repeat`` rounds (the machine is shared: the best round is the one least disturbed).
``--busy-threads 1`` runs Python code in another thread meanwhile, as a run's HTTP threads
do: each write a sink makes then hands the interpreter lock over, and the figure is nearer
to what ``bench_scale.py --breakdown`` measures inside a run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import cast

from figures import write_json

from runner.clock import SystemClock
from runner.commands.run import _first_step
from runner.engine.context import RunContext
from runner.engine.events import EventFanout, EventKind, EventSink, RunEvent
from runner.engine.journal import JOURNAL_NAME, Journal
from runner.engine.outcome import Attempt, JobState
from runner.engine.run_warnings import WarningLog
from runner.engine.slots import Slot
from runner.model import Job
from runner.reference import JobRef
from runner.report.display import ClosingLineLast, Display, event_display

EVENTS_PER_JOB = 7


def one_job(emit: Callable[..., None], slot: Slot, execution: int) -> None:
    """The events of one job that runs once and succeeds, as a run emits them."""
    slot.state.attempts.append(Attempt(number=1))
    emit(EventKind.TRIGGERING, slot, "triggering")
    emit(EventKind.TRIGGER_SENT, slot, "sending trigger", previous_execution_id=None)
    emit(
        EventKind.TRIGGERED,
        slot,
        f"triggered execution {execution}",
        execution_id=execution,
        recovered=False,
        triggered_at="2026-12-01T13:07:37.305826+00:00",
    )
    emit(EventKind.STATUS, slot, f"execution {execution} is RUNNING", status="RUNNING")
    emit(EventKind.PROGRESS, slot, "40% done", progress=40.0, estimate_seconds=2.0)
    emit(EventKind.STATUS, slot, f"execution {execution} is COMPLETED", status="COMPLETED")
    emit(EventKind.FINISHED, slot, f"execution {execution} succeeded", outcome="SUCCEEDED")


class _Context:
    """What ``RunContext.emit`` reads: the clock and the sink."""

    def __init__(self, sink: EventSink) -> None:
        self.clock = SystemClock()
        self.sink = sink


def new_slots(jobs: int) -> list[Slot]:
    """One fresh slot a job."""
    names = [f"job_{number:04d}" for number in range(jobs)]
    return [Slot(Job(name, JobRef.parse(n + 1)), JobState(name)) for n, name in enumerate(names)]


def emit_all(sink: EventSink, slots: list[Slot]) -> None:
    """Every job's events through ``RunContext.emit`` into ``sink``."""
    context = cast(RunContext, _Context(sink))

    def emit(kind: EventKind, slot: Slot, message: str = "", **data: object) -> None:
        RunContext.emit(context, kind, slot, message, **data)

    for number, slot in enumerate(slots):
        one_job(emit, slot, 3000 + number)


@contextmanager
def display_sink(folder: Path) -> Iterator[EventSink]:
    """What ``dmpipe run`` puts in front of the engine when stderr is a file."""
    with (
        (folder / "stderr.txt").open("w", buffering=1, encoding="utf-8") as stream,
        event_display(Display.PLAIN, stream, os.environ, heartbeat=60.0) as shown,
    ):
        yield _first_step(ClosingLineLast().around(shown))


@contextmanager
def run_sinks(folder: Path) -> Iterator[EventSink]:
    """The engine's fan-out (driver.run_pipeline): the display, the journal, the warnings."""
    with display_sink(folder) as shown:
        journal = Journal(folder)
        yield EventFanout([shown, journal, WarningLog()])
        journal.close()


@contextmanager
def journal_sink(folder: Path) -> Iterator[EventSink]:
    journal = Journal(folder)
    yield journal
    journal.close()


@contextmanager
def warnings_sink(folder: Path) -> Iterator[EventSink]:
    yield WarningLog()


@contextmanager
def no_sink(folder: Path) -> Iterator[EventSink]:
    yield lambda event: None


SINKS = {
    "RunContext.emit + the fan-out of all three": run_sinks,
    "RunContext.emit, no sink": no_sink,
    "  the display (plain lines, heartbeat)": display_sink,
    "  the journal": journal_sink,
    "  the warning log": warnings_sink,
}


@contextmanager
def busy_threads(count: int) -> Iterator[None]:
    """``count`` threads running Python code meanwhile, as a run's HTTP threads do: every
    system call inside a sink lets one of them take the interpreter lock."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    threads = [threading.Thread(target=spin, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def best_seconds(
    make: Callable[[Path], AbstractContextManager[EventSink]],
    send: Callable[[EventSink, list[Slot]], None],
    jobs: int,
    rounds: int,
    busy: int = 0,
) -> float:
    """The least CPU seconds of the emitting thread ``send`` took into a fresh sink, over
    ``rounds``, with ``busy`` threads running beside it."""
    best = float("inf")
    for _ in range(rounds):
        slots = new_slots(jobs)
        with (
            tempfile.TemporaryDirectory(prefix="dmpipe-events-") as folder,
            make(Path(folder)) as sink,
            busy_threads(busy),
        ):
            started = time.thread_time()
            send(sink, slots)
            best = min(best, time.thread_time() - started)
    return best


def written(jobs: int) -> dict[str, int]:
    """Lines the whole chain wrote for ``jobs`` jobs: the journal's and the display's."""
    with tempfile.TemporaryDirectory(prefix="dmpipe-events-") as folder:
        with run_sinks(Path(folder)) as sink:
            emit_all(sink, new_slots(jobs))
        journal = (Path(folder) / JOURNAL_NAME).read_text(encoding="utf-8")
        display = (Path(folder) / "stderr.txt").read_text(encoding="utf-8")
    return {"journal_lines": journal.count("\n"), "display_lines": display.count("\n")}


def main(argv: list[str] | None = None) -> int:
    """Measure, print µs per event, write JSON with ``--json-out``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--busy-threads",
        type=int,
        default=0,
        help="threads running Python code beside the events (0: none; a run has several)",
    )
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--cprofile", type=Path, help="write a cProfile of the whole chain here")
    args = parser.parse_args(argv)
    count = args.jobs * EVENTS_PER_JOB
    # The events as the engine made them, for the sinks measured alone.
    made: list[RunEvent] = []
    emit_all(made.append, new_slots(args.jobs))

    def replay(sink: EventSink, slots: list[Slot]) -> None:
        for event in made:
            sink(event)

    beside = f", {args.busy_threads} busy threads beside" if args.busy_threads else ""
    print(f"{count} events ({args.jobs} jobs), best of {args.repeat} rounds{beside}:")
    per_event = {}
    for name, make in SINKS.items():
        send = replay if name.startswith("  ") else emit_all
        seconds = best_seconds(make, send, args.jobs, args.repeat, args.busy_threads)
        per_event[name.strip()] = seconds * 1e6 / count
        print(f"{name:45s} {per_event[name.strip()]:6.1f} µs CPU per event")
    if args.json_out:
        figures = {"jobs": args.jobs, "events": count, "rounds": args.repeat}
        figures["busy_threads"] = args.busy_threads
        figures |= {"us_per_event": per_event, **written(args.jobs)}
        write_json(args.json_out, {"benchmark": "events", **figures})
    if args.cprofile:
        slots = new_slots(args.jobs)
        with (
            tempfile.TemporaryDirectory(prefix="dmpipe-events-") as folder,
            run_sinks(Path(folder)) as sink,
        ):
            cProfile.runctx("emit_all(sink, slots)", globals(), locals(), str(args.cprofile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
