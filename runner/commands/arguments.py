"""Options several commands share: server connection, selection, workbook variables."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from runner.errors import UsageError
from runner.model import ServerSettings

_WHY_NO_FLAG = (
    "there is no --password option: a password on the command line leaks into shell history "
    "and process lists; set DATAMEER_PASSWORD or DATAMEER_PASSWORD_FILE, or use ~/.netrc"
)


class RefusePassword(argparse.Action):
    """``--password`` exists only to say why it does not (without echoing the value)."""

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise UsageError(_WHY_NO_FLAG)


def server_url(text: str) -> str:
    """``--server``'s type: a URL that carries no password (it would leak like --password)."""
    try:
        password = urlsplit(text.strip()).password
    except ValueError:  # "http://[oops": the text may hold a password, so it is not shown
        raise argparse.ArgumentTypeError("not a URL: expected https://host:port") from None
    if password is not None:
        raise argparse.ArgumentTypeError(
            "the URL holds a password: a password on the command line leaks into shell "
            "history and process lists; give the user with --user and the password in "
            "DATAMEER_PASSWORD or DATAMEER_PASSWORD_FILE, or use ~/.netrc"
        )
    return text


def datameer_version(text: str) -> str:
    """``--datameer-version``'s type: a version the endpoint choice can read (7.5.2, 11.1.4)."""
    from runner.datameer.versions import parse_version

    if parse_version(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Datameer version, like 7.5.2")
    return text.strip()


def add_server(parser: argparse.ArgumentParser) -> None:
    """``--server``, ``--user``, ``--insecure``, ``--ca-bundle``; never a password."""
    group = parser.add_argument_group(
        "server", "the password comes from DATAMEER_PASSWORD, DATAMEER_PASSWORD_FILE or ~/.netrc"
    )
    group.add_argument(
        "--server", metavar="URL", type=server_url, help="Datameer URL (default: $DATAMEER_URL)"
    )
    group.add_argument("--user", metavar="NAME", help="user name (default: $DATAMEER_USER)")
    group.add_argument(
        "--insecure", action="store_true", help="do not verify the server's TLS certificate"
    )
    group.add_argument("--ca-bundle", metavar="FILE", help="trust the CAs in this PEM file")
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="connect with this server profile of ~/.config/dmpipe/profiles.yaml "
        "(default: $DMPIPE_PROFILE, then the pipeline's server.profile)",
    )
    group.add_argument(
        "--datameer-version",
        metavar="X.Y.Z",
        type=datameer_version,
        help="the server's Datameer version, instead of asking it (/rest/license-details); "
        "the endpoints follow it (default: the pipeline's server.version)",
    )
    group.add_argument(
        "--path-encoding",
        choices=("plus", "segment"),
        help="how paths are written in URLs: plus (Folder/My+Workbook.wbk) or segment "
        "(%%2FFolder%%2FMy%%20Workbook.wbk) (default: server.path_encoding, else detected)",
    )
    group.add_argument("--password", nargs="?", action=RefusePassword, help=argparse.SUPPRESS)


def server_settings(args: argparse.Namespace) -> ServerSettings:
    """The connection settings given on the command line (unset ones are None)."""
    return ServerSettings(
        url=args.server,
        user=args.user,
        ca_bundle=args.ca_bundle,
        verify_tls=not args.insecure,
        profile=getattr(args, "profile", None),
        version=getattr(args, "datameer_version", None),
        path_encoding=getattr(args, "path_encoding", None),
    )


def add_selection(parser: argparse.ArgumentParser) -> None:
    """``--select`` / ``--exclude`` in dbt's syntax (``a+``, ``+a``)."""
    from runner.commands.completion import complete_with, job_names

    select = parser.add_argument(
        "--select",
        "-s",
        action="extend",
        nargs="+",
        default=[],
        metavar="JOB",
        help="run only these jobs; a+ adds everything downstream, +a everything upstream",
    )
    exclude = parser.add_argument(
        "--exclude", action="extend", nargs="+", default=[], metavar="JOB", help="leave out"
    )
    complete_with(select, job_names)
    complete_with(exclude, job_names)


def add_variables(parser: argparse.ArgumentParser) -> None:
    """``--var NAME=VALUE``, repeatable, and ``--var-file FILE``."""
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a workbook variable (repeatable; wins over --var-file)",
    )
    parser.add_argument(
        "--var-file",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="workbook variables from a YAML mapping NAME: VALUE (repeatable; later files win)",
    )


def variables(args: argparse.Namespace) -> dict[str, str]:
    """The workbook variables of ``--var-file`` files, then ``--var`` pairs over them."""
    found: dict[str, str] = {}
    for file in args.var_file:
        found.update(read_variable_file(file))
    return {**found, **parse_variables(args.var)}


def read_variable_file(file: Path) -> dict[str, str]:
    """``NAME: VALUE`` pairs of a YAML file, each value the text as written (``1.50`` stays
    ``1.50``, ``yes`` stays ``yes``): workbook variables are text."""
    import yaml

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UsageError(f"--var-file {file}: cannot read it: {reason}") from None
    try:
        document = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 (builds only text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        raise UsageError(f"--var-file {where}: invalid YAML: {_problem(error)}") from None
    if document is None or document == "":
        return {}
    if not isinstance(document, dict):
        raise UsageError(f"--var-file {file}: expected a mapping NAME: VALUE at the top")
    pairs: dict[str, str] = {}
    for name, value in document.items():
        if not isinstance(value, str):
            raise UsageError(
                f"--var-file {file}: variable {name!r} is a list or mapping: give a text"
            )
        pairs[str(name)] = value
    return pairs


def _problem(error: Exception) -> str:
    return str(getattr(error, "problem", None) or error).strip()


def parse_variables(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}``; a pair without ``=`` is a UsageError."""
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var expects NAME=VALUE, got {pair!r}")
        variables[name.strip()] = value
    return variables
