"""``dmpipe validate FILE|DIR...``: check pipeline files; exit 0 when all are valid, 2 otherwise."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runner.commands import arguments as common
from runner.errors import EXIT_INVALID, EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``dmpipe validate`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="check pipeline files against the schema and the graph rules",
        description="Check each pipeline file (YAML, interpolation, schema, needs, cycles, "
        "references) and list every problem as file:line:col: message. Exit 0 when all are "
        "valid (warnings allowed), 2 otherwise. A folder stands for the *.yaml and *.yml "
        "files in it (not in its sub-folders, where emulator scenarios usually live).",
    )
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE|DIR", help="pipeline files or folders"
    )
    parser.add_argument(
        "--format",
        choices=("text", "github", "json"),
        default="text",
        help="text (default), github (workflow annotations) or json",
    )
    parser.add_argument(
        "--json", action="store_const", const="json", dest="format", help="as --format json"
    )
    common.add_variables(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Inspect every file, print the findings, and return the exit code."""
    from runner.spec import inspect_pipeline
    from runner.spec.formats import render

    variables = common.variables(args)
    files = [file for path in args.files for file in _pipeline_files(path)]
    results = [inspect_pipeline(path, variables=variables) for path in files]
    sys.stdout.write(render(results, args.format))
    return EXIT_OK if all(result.pipeline is not None for result in results) else EXIT_INVALID


def _pipeline_files(path: Path) -> list[Path]:
    """``path`` itself, or the YAML files directly in the folder ``path`` in name order."""
    from runner.errors import UsageError

    if not path.is_dir():
        return [path]
    found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not found:
        raise UsageError(f"{path} is a folder without *.yaml or *.yml files: name pipeline files")
    return found
