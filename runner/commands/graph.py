"""``dmpipe graph FILE``: the pipeline's DAG as a Mermaid or Graphviz diagram."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runner.commands import arguments as common


def register(subparsers: Any) -> None:
    """Add ``dmpipe graph`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "graph",
        help="draw the pipeline's job graph (Mermaid or dot)",
        description="Print the job graph: Mermaid (paste into Markdown) or Graphviz dot "
        "(dot -Tsvg). Edges run from a job to the jobs that need it.",
    )
    parser.add_argument("file", type=Path, help="the pipeline file")
    parser.add_argument(
        "--format",
        choices=["mermaid", "dot", "json"],
        default="mermaid",
        help="default: mermaid; json (as --json) for tools",
    )
    parser.add_argument(
        "--json", action="store_const", const="json", dest="format", help="as --format json"
    )
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write to FILE instead of stdout"
    )
    common.add_selection(parser)
    common.add_variables(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, select and draw; exit 0, or 2 for an invalid file or selection."""
    from runner.graph import select_jobs
    from runner.graph.render import to_dot, to_json, to_mermaid
    from runner.spec import load_pipeline

    pipeline = load_pipeline(args.file, variables=common.variables(args))
    pipeline = select_jobs(pipeline, args.select, args.exclude)
    render = {"mermaid": to_mermaid, "dot": to_dot, "json": to_json}[args.format]
    text = render(pipeline)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
