"""Options several commands share: server connection, selection, workbook variables."""

from __future__ import annotations

import argparse

from runner.errors import UsageError
from runner.model import ServerSettings


def add_server(parser: argparse.ArgumentParser) -> None:
    """``--server``, ``--user``, ``--insecure``, ``--ca-bundle``; never a password."""
    group = parser.add_argument_group(
        "server", "the password comes from DATAMEER_PASSWORD, DATAMEER_PASSWORD_FILE or ~/.netrc"
    )
    group.add_argument("--server", metavar="URL", help="Datameer URL (default: $DATAMEER_URL)")
    group.add_argument("--user", metavar="NAME", help="user name (default: $DATAMEER_USER)")
    group.add_argument(
        "--insecure", action="store_true", help="do not verify the server's TLS certificate"
    )
    group.add_argument("--ca-bundle", metavar="FILE", help="trust the CAs in this PEM file")


def server_settings(args: argparse.Namespace) -> ServerSettings:
    """The connection settings given on the command line (unset ones are None)."""
    return ServerSettings(
        url=args.server,
        user=args.user,
        ca_bundle=args.ca_bundle,
        verify_tls=not args.insecure,
    )


def add_selection(parser: argparse.ArgumentParser) -> None:
    """``--select`` / ``--exclude`` in dbt's syntax (``a+``, ``+a``)."""
    parser.add_argument(
        "--select",
        "-s",
        action="extend",
        nargs="+",
        default=[],
        metavar="JOB",
        help="run only these jobs; a+ adds everything downstream, +a everything upstream",
    )
    parser.add_argument(
        "--exclude", action="extend", nargs="+", default=[], metavar="JOB", help="leave out"
    )


def add_variables(parser: argparse.ArgumentParser) -> None:
    """``--var NAME=VALUE``, repeatable."""
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a workbook variable (repeatable)",
    )


def parse_variables(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}``; a pair without ``=`` is a UsageError."""
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var expects NAME=VALUE, got {pair!r}")
        variables[name.strip()] = value
    return variables
