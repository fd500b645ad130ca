"""``dmpipe run FILE``: run a pipeline on Datameer (or the emulator) and write its report."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.commands import arguments as common
from runner.commands.completion import complete_with, resume_dirs

if TYPE_CHECKING:
    from runner.engine.driver import RunOutcome
    from runner.engine.events import EventSink, RunEvent
    from runner.report.display import Display


def register(subparsers: Any) -> None:
    """Add ``dmpipe run`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run a pipeline",
        description="Validate a pipeline file, run its jobs on Datameer and write a report.",
    )
    parser.add_argument("file", nargs="?", type=Path, help="the pipeline file")
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run on an in-process Datameer emulator (the file's emulator: scenario, or one "
        "derived from its jobs)",
    )
    parser.add_argument(
        "--mode", choices=["auto", "client", "sequential"], help="override the file's mode"
    )
    common.add_selection(parser)
    common.add_variables(parser)
    parser.add_argument("--report-dir", type=Path, help="where to write the report and journal")
    resume = parser.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="continue the run recorded in DIR (a path, or a name in dmpipe-runs/ such as "
        "'latest'): re-attach to running executions, re-run what failed or never ran",
    )
    complete_with(resume, resume_dirs)
    parser.add_argument(
        "--force",
        action="store_true",
        help="a fresh run: move the earlier run found in --report-dir aside (into "
        "DIR/previous-<time>/); --resume: accept a changed pipeline, re-running the jobs whose "
        "artifact changed",
    )
    parser.add_argument(
        "--strict-plan", action="store_true", help="sequential mode: plan drift is an error"
    )
    parser.add_argument(
        "--lost-trigger-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to look for the execution of a trigger whose answer was lost before "
        "sending it again (default 30; raise it when the server's status lags)",
    )
    parser.add_argument(
        "--no-batch-polling",
        action="store_true",
        help="poll every job on its own instead of one list-running call per tick",
    )
    parser.add_argument(
        "--learn-durations",
        action="store_true",
        help="before the first trigger, learn each job's usual duration from the server's "
        "history (a few GETs per job): an ETA in the live view and 'slower than usual' in "
        "the report",
    )
    _add_output(parser)
    common.add_server(parser)
    parser.set_defaults(func=run)


def _add_output(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--progress",
        choices=["auto", "live", "plain", "none"],
        default="auto",
        help="auto (default): a live table on a terminal, timestamped lines otherwise",
    )
    group.add_argument(
        "--quiet", "-q", action="store_true", help="print only errors and the closing line"
    )
    group.add_argument(
        "--heartbeat",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="plain and --quiet output: after this many silent seconds, say which jobs still "
        "run (CI runners end silent steps; default 60, 0: never)",
    )
    group.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="json: one JSON object per event and log record on stderr, for log shippers",
    )


def run(args: argparse.Namespace) -> int:
    """Run the pipeline; the exit code says how it went."""
    from runner.commands.interrupt import graceful_interrupts

    # Signals are the run's from here on: one that comes while the run is still being set
    # up cancels it before any trigger, and the report says so.
    with graceful_interrupts() as cancelled:
        return _run(args, cancelled)


def _run(args: argparse.Namespace, cancelled: threading.Event) -> int:
    from runner.engine.options import EngineOptions
    from runner.launch import RunOptions, run_file
    from runner.model import Mode
    from runner.report.display import choose_display

    _check_report_dir(args.report_dir)
    options = RunOptions(
        mode=Mode(args.mode) if args.mode else None,
        select=tuple(args.select),
        exclude=tuple(args.exclude),
        variables=common.variables(args),
        report_dir=args.report_dir,
        resume_dir=args.resume,
        force=args.force,
        server=common.server_settings(args),
        emulator=args.emulator,
        engine=EngineOptions(
            strict_plan=args.strict_plan,
            batch_polling=not args.no_batch_polling,
            trigger_resolve_timeout=args.lost_trigger_wait,
        ),
        environ=os.environ,
        learn_durations=args.learn_durations,
    )
    if args.log_format == "json":
        from runner.report.logs import use_json_logging

        use_json_logging()
    display = choose_display(
        args.progress,
        quiet=args.quiet,
        log_format=args.log_format,
        is_terminal=sys.stderr.isatty(),
        environ=os.environ,
    )
    outcome = run_shown(
        lambda events, cancelled: run_file(args.file, options, _first_step(events), cancelled),
        display,
        quiet=args.quiet,
        heartbeat=args.heartbeat,
        colors=not args.no_color,
        cancelled=cancelled,
    )
    _tell_the_workflow(outcome.report_path)
    return outcome.exit_code


def _first_step(events: EventSink) -> EventSink:
    """``events``, ending the start-up's hold on the garbage collector at the run's first
    event past its start (the first trigger, a wait, an error): ``main.hold_collection``."""
    from runner.commands.main import resume_collection
    from runner.engine.events import EventKind

    held = True

    def sink(event: RunEvent) -> None:
        nonlocal held
        if held and event.kind is not EventKind.RUN_STARTED:
            held = False
            resume_collection()
        events(event)

    return sink


def run_shown(
    start: Callable[[EventSink, threading.Event], RunOutcome],
    display: Display,
    *,
    quiet: bool = False,
    heartbeat: float = 60.0,
    colors: bool = True,
    cancelled: threading.Event | None = None,
) -> RunOutcome:
    """``start(events, cancelled)`` with its events on ``display`` and signals turned into
    ``cancelled`` (or into the given ``cancelled``, when the caller already owns them); the
    error that ends a run is printed before the run's closing line."""
    from runner.commands.interrupt import graceful_interrupts
    from runner.errors import DmpipeError
    from runner.report.display import ClosingLineLast, Display, event_display

    closing = ClosingLineLast(keep_order=display is Display.JSON)
    owned = nullcontext(cancelled) if cancelled is not None else graceful_interrupts()
    try:
        with (
            owned as cancelled,
            event_display(
                display, sys.stderr, os.environ, quiet=quiet, heartbeat=heartbeat, colors=colors
            ) as events,
        ):
            return start(closing.around(events), cancelled)
    except DmpipeError as error:
        if closing.line:  # printed under the error, which the run's end goes back to
            error.add_note(closing.line)
        raise


def _tell_the_workflow(report_path: Path) -> None:
    """Inside GitHub Actions: a folded group per job, annotations on failed jobs' lines."""
    from runner.github import in_github_actions

    if not in_github_actions(os.environ):
        return
    from runner.errors import DmpipeError
    from runner.report.load import read_report
    from runner.report.workflow import workflow_commands

    try:
        report = read_report(report_path)
    except DmpipeError as error:  # the run's exit code matters more than its annotations
        print(f"dmpipe: warning: no workflow annotations: {error}", file=sys.stderr)
        return
    print("\n".join(workflow_commands(report, os.environ)), flush=True)


def _check_report_dir(path: Path | None) -> None:
    """``--report-dir`` must be a folder, or a path where one can be made."""
    from runner.errors import UsageError

    if path is None:
        return
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return
        if candidate.exists():
            what = "" if candidate == path else f" ({candidate} is)"
            raise UsageError(f"--report-dir {path} is not a folder{what}: name a folder")
