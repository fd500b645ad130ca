"""The ``dmpipe`` command line: parse arguments, call the library, map errors to exit codes.

Each subcommand lives in its own module under ``runner.commands`` and exposes
``register(subparsers)``; the module's ``run(args)`` returns the exit code.
Heavy modules are imported by the commands themselves, so ``dmpipe --help``
stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from runner import __version__
from runner.commands.completion import complete_if_asked
from runner.commands.interrupt import interrupts_from_the_start
from runner.commands.output import pipe_safe_output
from runner.errors import EXIT_INTERRUPTED, DmpipeError, UsageError

# Modules under runner.commands, in the order `dmpipe --help` lists them.
COMMANDS = (
    "run",
    "validate",
    "plan",
    "doctor",
    "graph",
    "job",
    "emulator",
    "schema",
    "report",
    "completion",
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of exiting with its own code.

    The message names the sub-command (``run: argument --mode: ...``) but not ``dmpipe``,
    which ``main`` prints in front of every error already.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("dmpipe").strip()
        hint = f"; see dmpipe {command} --help" if command else "; see dmpipe --help"
        raise UsageError(f"{command + ': ' if command else ''}{message}{hint}")


def _unknown_command(argv: Sequence[str]) -> str | None:
    """The first word of ``argv`` when it should name a command and names none."""
    words = [word for word in argv if word not in ("-v", "--verbose")]
    if not words or words[0].startswith("-") or words[0] in COMMANDS:
        return None
    from runner.spec.naming import did_you_mean  # only now: it loads the pipeline stack

    return f"unknown command '{words[0]}'{did_you_mean(words[0], COMMANDS)}; see dmpipe --help"


def _named_command(words: Sequence[str]) -> str | None:
    """The command ``words`` start with (after ``-v``), or None: no command, an option
    first (``--help``, ``--version``), an unknown word, or the shell asking for completions
    (which needs every command)."""
    words = [word for word in words if word not in ("-v", "--verbose")]
    if not words or words[0] not in COMMANDS or "_ARGCOMPLETE" in os.environ:
        return None
    return words[0]


# Commands with --select/--exclude, which take one or more job names each.
_SELECTING = frozenset({"run", "plan", "graph"})
_SELECTION_FLAGS = frozenset({"--select", "-s", "--exclude"})


def _file_before_selection(words: list[str]) -> list[str]:
    """``dmpipe run --select a pipeline.yaml``: ``--select`` takes one or more job names, so
    argparse would hand it the FILE too; move the FILE next to the command instead (dbt
    accepts ``run --select a``)."""
    command = next((i for i, word in enumerate(words) if not word.startswith("-")), None)
    if command is None or words[command] not in _SELECTING:
        return words
    words = list(words)
    i = command + 1
    while i < len(words):
        if words[i] not in _SELECTION_FLAGS:
            i += 1
            continue
        end = i + 1
        while end < len(words) and not words[end].startswith("-"):
            end += 1
        if end - i > 2 and _looks_like_a_file(words[end - 1]):
            words.insert(command + 1, words.pop(end - 1))
            return words
        i = end
    return words


def _looks_like_a_file(word: str) -> bool:
    """Job names are words (``load_sales``); a pipeline file has a suffix, a folder or exists."""
    return word.endswith((".yaml", ".yml", ".json")) or "/" in word or Path(word).is_file()


class _Lowercase(logging.Formatter):
    """``dmpipe: warning: ...``, in the same case as ``dmpipe: error: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)
        record.levelname = record.levelname.lower()
        return super().format(record)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered; with ``only`` (a command
    name), that command's alone: a line naming its command needs no other, and importing
    and registering all of them costs every launch tens of milliseconds."""
    parser = _Parser(
        prog="dmpipe",
        description="Run Datameer job pipelines declared in YAML.",
    )
    parser.add_argument("--version", action="version", version=f"dmpipe {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every HTTP call; show tracebacks"
    )
    parser.add_argument(
        "--no-color",
        action="store_true",
        help="no colours in any output (as NO_COLOR=1); allowed anywhere on the line",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = importlib.import_module(f"runner.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dmpipe``; returns the process exit code."""
    with pipe_safe_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    words = list(sys.argv[1:] if argv is None else argv)
    # Allowed anywhere on the line: taken out before parsing, handed to the command in args.
    colourless = "--no-color" in words
    words = [word for word in words if word != "--no-color"]
    try:
        parser = build_parser(_named_command(words))
        complete_if_asked(parser)  # the shell asking for completions: answer, exit
        if not [word for word in words if word not in ("-v", "--verbose")]:
            parser.print_help()  # a bare `dmpipe`: what it can do, not an error
            return 0
        unknown = _unknown_command(words)
        if unknown is not None:
            raise UsageError(unknown)
        args = parser.parse_args(_file_before_selection(words))
        from runner.report.display import no_color

        args.no_color = colourless or no_color(os.environ)
        handler = logging.StreamHandler()
        handler.setFormatter(_Lowercase("dmpipe: %(levelname)s: %(message)s"))
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler]
        )
        if not args.verbose:
            # urllib3 announces each retry; dmpipe reports what matters in its own words.
            logging.getLogger("urllib3").setLevel(logging.ERROR)
        if args.command != "run":  # a run ends the hold itself, at its first step
            resume_collection()
        code: int = args.func(args)
        return code
    except DmpipeError as error:
        if verbose:
            traceback.print_exc()
        print(f"dmpipe: error: {error}", file=sys.stderr)
        for note in getattr(error, "__notes__", ()):  # e.g. a run's closing line, after it
            print(note, file=sys.stderr)
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
    hold_collection()
    interrupts_from_the_start()
    try:
        code = main()
    finally:
        resume_collection()
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


_collection_held = False


def hold_collection() -> None:
    """Hold the cyclic garbage collector while the process starts.

    Start-up makes many long-lived objects (modules, classes, the pipeline) and next to no
    garbage, yet they set off dozens of collections, each walking the young objects: a
    few per cent of the time to a run's first trigger.  ``resume_collection`` ends the
    hold: ``run`` at its first step past the start, every other command once parsed."""
    global _collection_held
    if gc.isenabled():
        gc.disable()
        _collection_held = True


def resume_collection() -> None:
    """End ``hold_collection``'s hold (once; a no-op without one): what start-up made is
    moved out of the collector's way for good (``gc.freeze``), then it runs as before."""
    global _collection_held
    if _collection_held:
        _collection_held = False
        gc.freeze()
        gc.enable()


def _other_threads() -> list[threading.Thread]:
    """Live threads the interpreter would wait for at exit."""
    main_thread = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main_thread and not t.daemon]
