"""The ``dmpipe`` command line: parse arguments, call the library, map errors to exit codes.

Each subcommand lives in its own module under ``runner.commands`` and exposes
``register(subparsers)``; the module's ``run(args)`` returns the exit code.
Heavy modules are imported by the commands themselves, so ``dmpipe --help``
stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import NoReturn

from runner import __version__
from runner.commands.output import pipe_safe_output
from runner.errors import EXIT_INTERRUPTED, DmpipeError, UsageError

# Modules under runner.commands, in the order `dmpipe --help` lists them.
COMMANDS = (
    "run",
    "validate",
    "plan",
    "graph",
    "job",
    "emulator",
    "schema",
    "report",
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of exiting with its own code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = _Parser(
        prog="dmpipe",
        description="Run Datameer job pipelines declared in YAML.",
    )
    parser.add_argument("--version", action="version", version=f"dmpipe {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every HTTP call; show tracebacks"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"runner.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dmpipe``; returns the process exit code."""
    with pipe_safe_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING,
            format="dmpipe: %(levelname)s: %(message)s",
        )
        if not args.verbose:
            # urllib3 announces each retry; dmpipe reports what matters in its own words.
            logging.getLogger("urllib3").setLevel(logging.ERROR)
        code: int = args.func(args)
        return code
    except DmpipeError as error:
        if verbose:
            traceback.print_exc()
        print(f"dmpipe: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("dmpipe: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print("dmpipe: this is a bug, please report it", file=sys.stderr)
        return 70


def console() -> NoReturn:
    """The ``dmpipe`` executable: ``main()``, then exit without waiting long for HTTP calls
    abandoned on a server that stopped answering (the interpreter would join their threads,
    holding an interrupted run for as long as the server keeps silent)."""
    code = main()
    deadline = time.monotonic() + 1.0
    for thread in _other_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    if _other_threads():
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _other_threads() -> list[threading.Thread]:
    """Live threads the interpreter would wait for at exit."""
    main_thread = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main_thread and not t.daemon]
