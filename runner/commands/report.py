"""``dmpipe report show|html|junit|markdown DIR``: a saved run, shown or rendered again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runner.commands.completion import complete_with, folders
from runner.errors import EXIT_OK
from runner.report import HTML_NAME, JUNIT_NAME, MARKDOWN_NAME

# Format subcommand → (file name it writes by default, help).
FORMATS = {
    "html": (HTML_NAME, "the single-file HTML report (timeline, job graph, tables)"),
    "junit": (JUNIT_NAME, "JUnit XML for CI test reporters"),
    "markdown": (MARKDOWN_NAME, "the Markdown summary"),
}


# Wide enough for any line a report holds: the text is never folded where no terminal asks it.
UNCUT_WIDTH = 10_000


def register(subparsers: Any) -> None:
    """Add ``dmpipe report`` and its subcommands to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="show a saved run, or render its report.json again",
        description="Read DIR/report.json (checked against the report schema) and show it "
        "in the terminal or write it as HTML, JUnit XML or Markdown.",
    )
    actions = parser.add_subparsers(dest="report_action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="the runs kept in a runs folder, newest first")
    complete_with(
        listing.add_argument(
            "runs",
            nargs="?",
            type=Path,
            metavar="RUNS",
            help="the folder holding the run directories (default: dmpipe-runs)",
        ),
        folders,
    )
    listing.add_argument("--json", action="store_true", help="one JSON document, for tools")
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="newest N (0: all)")
    listing.set_defaults(func=list_runs)
    show = actions.add_parser("show", help="print the run in the terminal")
    complete_with(
        show.add_argument("dir", type=Path, metavar="DIR", help="a run directory or a report.json"),
        folders,
    )
    show.add_argument(
        "--json", action="store_true", help="the report.json document (checked), for tools"
    )
    show.set_defaults(func=show_run)
    for name, (file_name, what) in FORMATS.items():
        action = actions.add_parser(name, help=f"write {what}")
        complete_with(
            action.add_argument(
                "dir", type=Path, metavar="DIR", help="a run directory or report.json"
            ),
            folders,
        )
        action.add_argument(
            "--output",
            "-o",
            metavar="FILE",
            help=f"where to write it; '-' for stdout (default: {file_name} next to report.json)",
        )
        action.set_defaults(func=render, report_format=name)


def list_runs(args: argparse.Namespace) -> int:
    """Print the runs of the runs folder; exit 0 (their outcomes are in the output)."""
    import json

    from runner.report.listing import LISTING_VERSION, list_runs, render_listing
    from runner.rundir import RUNS_FOLDER

    runs = list_runs(args.runs or RUNS_FOLDER)
    if args.limit > 0:
        runs = runs[: args.limit]
    if args.json:
        document = {"version": LISTING_VERSION, "runs": [run.to_data() for run in runs]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(render_listing(runs))
    return EXIT_OK


def show_run(args: argparse.Namespace) -> int:
    """Print the saved run; exit 0 whatever its outcome (its exit code is in the output)."""
    from rich.console import Console

    from runner.report.load import checked_document, parse_report
    from runner.report.terminal import render_report

    document = checked_document(args.dir)  # read once; refused if the schema says no
    if args.json:
        import json

        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    # On a terminal, fit its width; in a pipe or a CI log nothing is cut or wrapped.
    width = None if sys.stdout.isatty() else UNCUT_WIDTH
    console = Console(no_color=args.no_color, highlight=False, width=width)
    console.print(render_report(parse_report(document)))
    return EXIT_OK


def render(args: argparse.Namespace) -> int:
    """Write one format of the saved run and say where it went."""
    from runner.report.load import read_report, report_file
    from runner.report.publish import renderers
    from runner.report.writer import write_atomically

    file_name = FORMATS[args.report_format][0]
    text = renderers()[file_name](read_report(args.dir))
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    target = Path(args.output) if args.output else report_file(args.dir).parent / file_name
    print(write_atomically(target, text))
    return EXIT_OK
