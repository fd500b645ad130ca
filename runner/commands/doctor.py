"""``dmpipe doctor [FILE]``: one screen on whether a run can work against the server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from runner.commands import arguments as common
from runner.errors import EXIT_OK, EXIT_SERVER


def register(subparsers: Any) -> None:
    """Add ``dmpipe doctor`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check the server: reachable, TLS, credentials, version, endpoints, artifacts",
        description="Ask the server (GETs only) whether it is reachable, TLS and the "
        "credentials are good, which Datameer version it runs and which endpoints a run will "
        "use, how it reads paths; with a pipeline file, whether every job's artifact "
        "resolves. Exit 0 when all is well, 3 otherwise.",
    )
    parser.add_argument("file", type=Path, nargs="?", help="a pipeline file (optional)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    common.add_server(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Diagnose and print; 0 when every check passed, 3 otherwise (2 for a bad file)."""
    from runner.datameer.client import DatameerClient
    from runner.datameer.credentials import resolve_server
    from runner.launch import configurations_of
    from runner.model import ServerSettings
    from runner.plan.diagnosis import diagnose
    from runner.profiles import server_settings
    from runner.spec import load_pipeline

    pipeline = load_pipeline(args.file) if args.file else None
    written = pipeline.server if pipeline else ServerSettings()
    chosen = server_settings(written, common.server_settings(args), os.environ)
    settings = resolve_server(settings=chosen)
    configurations = configurations_of(pipeline) if pipeline else {}
    with DatameerClient.from_settings(
        settings, detect_version=True, configurations=configurations
    ) as client:
        diagnosis = diagnose(client, pipeline)
    if args.json:
        sys.stdout.write(json.dumps(diagnosis.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(diagnosis.lines()) + "\n")
    return EXIT_OK if diagnosis.ok else EXIT_SERVER
