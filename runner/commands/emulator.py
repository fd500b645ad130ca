"""``dmpipe emulator``: serve an emulated Datameer on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``dmpipe emulator`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulator",
        help="serve an emulated Datameer (REST API) for trying pipelines offline",
        description="Serve the Datameer job REST API from a scenario file, over HTTP on "
        "loopback, until Ctrl-C. Without --scenario it serves the reference scenario "
        "(users admin/admin, analyst/analyst). -v logs every request. See docs/emulator.md.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=8088, help="port (0 picks a free one)")
    parser.add_argument("--scenario", type=Path, metavar="FILE", help="scenario YAML file")
    parser.add_argument(
        "--time-scale",
        type=float,
        metavar="N",
        help="emulated seconds per real second (overrides the scenario's)",
    )
    parser.add_argument(
        "--datameer-version",
        metavar="X.Y.Z",
        help="emulated version (6.4, 7.2.5, 7.4, 7.5.2, 11.1)",
    )
    parser.add_argument(
        "--strict-paths",
        choices=("plus", "segment"),
        help="accept a path reference only in this one encoding, exactly (paths: strict)",
    )
    parser.add_argument("--tls-cert", type=Path, metavar="FILE", help="serve HTTPS: PEM cert")
    parser.add_argument("--tls-key", type=Path, metavar="FILE", help="the certificate's PEM key")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (plain HTTP, well-known passwords: think twice)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit 0, 2 for a bad scenario or host."""
    from runner.commands.serve_emulator import ServeOptions, serve
    from runner.errors import UsageError

    if args.time_scale is not None and args.time_scale <= 0:
        raise UsageError("--time-scale must be above 0")
    options = ServeOptions(
        host=args.host,
        port=args.port,
        scenario=args.scenario,
        time_scale=args.time_scale,
        version=args.datameer_version,
        strict_paths=args.strict_paths,
        allow_remote=args.allow_remote,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    return serve(options)
