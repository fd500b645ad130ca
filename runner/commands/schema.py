"""``dmpipe schema NAME``: print a JSON Schema dmpipe ships (pipeline, report, scenario)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from runner.errors import EXIT_OK


def register(subparsers: Any) -> None:
    """Add ``dmpipe schema`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schema",
        help="print a JSON Schema (pipeline, report, scenario)",
        description="Print a JSON Schema dmpipe ships, for editors and other tools: "
        "`dmpipe schema pipeline > pipeline.schema.json`.",
    )
    parser.add_argument("name", metavar="NAME", help="which schema: pipeline, report or scenario")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema; an unknown name is a usage error that lists the known ones."""
    from runner.spec.schema_files import schema_text

    sys.stdout.write(schema_text(args.name))
    return EXIT_OK
