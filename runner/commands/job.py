"""``dmpipe job ...``: call one Datameer REST endpoint and print its answer.

Thin by design: parse the arguments, make one ``DatameerClient`` call, print
the record (aligned text, or ``--json``).  Failures are ``runner.errors``
raised by the client; ``main()`` prints them and picks the exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.commands.arguments import (
    RefusePassword,
    add_variables,
    datameer_version,
    server_url,
    variables,
)
from runner.commands.arguments import server_settings as flag_settings
from runner.errors import EXIT_OK, UsageError
from runner.reference import MAX_FILE_ID

if TYPE_CHECKING:
    from runner.datameer.client import DatameerClient


def register(subparsers: Any) -> None:
    """Add ``dmpipe job`` and its subcommands to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "job",
        help="call one Datameer API endpoint (status, trigger, stop ...)",
        description="Call one Datameer REST API endpoint and print the answer.",
    )
    _add_connection(parser, top=True)
    commands = parser.add_subparsers(dest="job_command", metavar="ACTION", required=True)
    for name, help_text, arguments, action in _ACTIONS:
        sub = commands.add_parser(
            name, help=help_text, description=help_text[0].upper() + help_text[1:] + "."
        )
        arguments(sub)
        _add_connection(sub, top=False)
        sub.set_defaults(func=lambda args, action=action: _run(args, action))


def _add_connection(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The connection options, on ``job`` and again after the action (``top`` False):
    there they default to SUPPRESS so they never undo a value given before the action."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group(
        "connection",
        "the password comes from DATAMEER_PASSWORD, DATAMEER_PASSWORD_FILE or ~/.netrc",
    )
    group.add_argument(
        "--server", metavar="URL", type=server_url, default=default(None), help="$DATAMEER_URL"
    )
    group.add_argument("--user", metavar="NAME", default=default(None), help="$DATAMEER_USER")
    group.add_argument(
        "--insecure",
        action="store_true",
        default=default(False),
        help="do not verify the TLS certificate (not recommended)",
    )
    group.add_argument(
        "--ca-bundle", metavar="FILE", default=default(None), help="trust the CAs in this PEM file"
    )
    group.add_argument(
        "--profile", metavar="NAME", default=default(None), help="a server profile; $DMPIPE_PROFILE"
    )
    group.add_argument(
        "--datameer-version",
        metavar="X.Y.Z",
        type=datameer_version,
        default=default(None),
        help="the server's Datameer version, instead of asking it (/rest/license-details)",
    )
    group.add_argument(
        "--path-encoding",
        choices=("plus", "segment"),
        default=default(None),
        help="how a path REF is written in the URL: plus (Folder/My+Workbook.wbk) or segment "
        "(%%2FFolder%%2FMy%%20Workbook.wbk) (default: the profile's, else detected)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=default(None),
        help="wait at most this long for each answer (default 30); a whole call, retries "
        "included, ends after 60 s or this plus 5 s, whichever is longer",
    )
    group.add_argument(
        "--retries",
        metavar="N",
        type=_count("--retries"),
        default=default(None),
        help="retries of a read on connection errors and 5xx (default 3; never for a trigger)",
    )
    group.add_argument(
        "--json", action="store_true", default=default(False), help="print the answer as JSON"
    )
    group.add_argument("--password", nargs="?", action=RefusePassword, help=argparse.SUPPRESS)


# -- argument types --------------------------------------------------------------------


def _count(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        digits = text.strip()
        if not digits.isdigit() or not digits.isascii():
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {shown!r}")
        if len(digits.lstrip("0")) > 19 or int(digits) > MAX_FILE_ID:
            raise argparse.ArgumentTypeError(f"expected at most 19 digits, got {len(digits)}")
        return int(digits)

    parse.__name__ = name
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _reference(text: str) -> Any:
    from runner.reference import JobRef

    try:
        return JobRef.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _id_argument(parser: argparse.ArgumentParser, name: str, **kw: Any) -> None:
    parser.add_argument(name.lower(), metavar=name, type=_count(name), **kw)


# -- the actions: arguments, then the call ---------------------------------------------


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="file id, uuid or path (with --v1: CONFIG_ID)")
    parser.add_argument(
        "--v1", action="store_true", help="use the v1 call: REF is a job-configuration-id"
    )


def _status(client: DatameerClient, args: argparse.Namespace) -> object:
    if args.v1:
        return client.job_status(_count("CONFIG_ID")(args.ref))
    return client.execution_status(_reference(args.ref))


def _history_arguments(parser: argparse.ArgumentParser) -> None:
    _id_argument(parser, "CONFIG_ID")
    parser.add_argument("--start", type=_count("--start"), default=0, help="skip this many")
    parser.add_argument("--length", type=_count("--length"), default=10, help="at most this many")


def _history(client: DatameerClient, args: argparse.Namespace) -> object:
    return client.job_history(args.config_id, args.start, args.length)


def _details_arguments(parser: argparse.ArgumentParser) -> None:
    _id_argument(parser, "EXECUTION_ID")


def _details(client: DatameerClient, args: argparse.Namespace) -> object:
    return client.job_details(args.execution_id)


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _running(client: DatameerClient, args: argparse.Namespace) -> object:
    return client.list_running()


def _trigger_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ref", metavar="REF", help="file id, uuid or path (with --legacy: CONFIG_ID)"
    )
    parser.add_argument(
        "--legacy",
        action="store_true",
        help="use the pre-7.2.5 call: REF is a job-configuration-id",
    )
    wait = parser.add_argument_group(
        "--wait", "watch the execution to its end, as `dmpipe run` watches a job"
    )
    wait.add_argument(
        "--wait",
        action="store_true",
        help="trigger once and watch the execution until it ends; exit 0 succeeded, 1 failed, "
        "3 server unreachable, 130 interrupted (Ctrl-C stops the execution)",
    )
    wait.add_argument(
        "--wait-timeout",
        metavar="SECONDS",
        type=_positive_float,
        help="stop the execution and fail when it runs longer than this",
    )
    wait.add_argument(
        "--report-dir",
        type=Path,
        help="where to write the report and journal (default: a new dmpipe-runs/ directory)",
    )
    wait.add_argument(
        "--progress",
        choices=["auto", "live", "plain", "none"],
        default="auto",
        help="auto (default): a live table on a terminal, timestamped lines otherwise",
    )


def _trigger(client: DatameerClient, args: argparse.Namespace) -> object:
    if args.legacy:
        return client.trigger_legacy(_count("CONFIG_ID")(args.ref))
    return client.trigger(_reference(args.ref))


def _sequence_arguments(parser: argparse.ArgumentParser) -> None:
    _id_argument(parser, "FILE_ID", nargs="+")
    add_variables(parser)


def _sequence(client: DatameerClient, args: argparse.Namespace) -> object:
    return client.trigger_sequence(args.file_id, variables(args))


def _stop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ref", metavar="REF", help="file id, uuid or path (with --legacy: EXECUTION_ID)"
    )
    parser.add_argument(
        "--legacy", action="store_true", help="use the pre-7.2.5 call: REF is an execution id"
    )


def _stop(client: DatameerClient, args: argparse.Namespace) -> object:
    if args.legacy:
        execution_id = _count("EXECUTION_ID")(args.ref)
        client.stop_legacy(execution_id)
        return _Stopped(f"execution {execution_id}")
    ref = _reference(args.ref)
    client.stop(ref)
    return _Stopped(ref.describe())


def _delete_arguments(parser: argparse.ArgumentParser) -> None:
    _id_argument(parser, "DATA_ID")


def _delete(client: DatameerClient, args: argparse.Namespace) -> object:
    return client.delete_data(args.data_id)


_Action = Callable[["DatameerClient", argparse.Namespace], object]

_ACTIONS: Sequence[tuple[str, str, Callable[[argparse.ArgumentParser], None], _Action]] = (
    ("status", "show the status of a job's latest execution", _status_arguments, _status),
    (
        "history",
        "list a job configuration's executions, newest first",
        _history_arguments,
        _history,
    ),
    ("details", "show the counters and times of one execution", _details_arguments, _details),
    ("running", "list the queued and running executions", _no_arguments, _running),
    ("trigger", "start a job", _trigger_arguments, _trigger),
    (
        "trigger-sequence",
        "start jobs and their data-driven downstream chain",
        _sequence_arguments,
        _sequence,
    ),
    ("stop", "stop a job's running execution", _stop_arguments, _stop),
    ("delete", "mark a job's data for deletion", _delete_arguments, _delete),
)


@dataclasses.dataclass(frozen=True)
class _Stopped:
    """What ``job stop`` reports: the server answers a stop with no body."""

    stop_requested_for: str


# -- running one action ------------------------------------------------------------------


def _run(args: argparse.Namespace, action: _Action) -> int:
    """Check the arguments, connect, call, print; returns the exit code."""
    from runner.datameer.client import DatameerClient, Timeout
    from runner.datameer.credentials import resolve_server
    from runner.model import ServerSettings
    from runner.profiles import server_settings

    _check_references(args)
    if getattr(args, "wait", False):
        return _trigger_and_wait(args)
    _refuse_wait_options(args)
    flags = flag_settings(args)
    settings = resolve_server(settings=server_settings(ServerSettings(), flags, os.environ))
    if not settings.verify_tls:
        print("dmpipe: warning: TLS certificate verification is off", file=sys.stderr)
    timeout = Timeout()
    if args.timeout is not None:
        # The whole call gets at least the default limit, and room for one full read.
        whole = max(timeout.total, args.timeout + min(5.0, args.timeout))
        timeout = Timeout(min(5.0, args.timeout), args.timeout, whole)
    retries = 3 if args.retries is None else args.retries
    with DatameerClient.from_settings(settings, timeout=timeout, retries=retries) as client:
        result = action(client, args)
    print(_as_json(result) if args.json else _as_text(result))
    return EXIT_OK


def _trigger_and_wait(args: argparse.Namespace) -> int:
    """``job trigger --wait``: the engine runs a one-job pipeline (``runner.launch.run_job``)."""
    from runner.commands.run import run_shown
    from runner.launch import RunOptions, run_job
    from runner.report.display import choose_display

    if args.legacy:
        raise UsageError(
            "dmpipe job trigger: --wait watches an artifact (file id, uuid or path), "
            "not a --legacy job-configuration-id"
        )
    for option in ("timeout", "retries"):
        if getattr(args, option) is not None:
            # The watch makes many calls with dmpipe run's limits; a per-call option would
            # be silently ignored there.
            raise UsageError(
                f"dmpipe job trigger: --{option} sets one call's limits and means nothing with "
                "--wait, which watches with the limits dmpipe run uses; bound the execution "
                "with --wait-timeout"
            )
    options = RunOptions(
        server=flag_settings(args),
        report_dir=args.report_dir,
        environ=os.environ,
    )
    display = choose_display(
        "none" if args.json else args.progress,
        quiet=False,
        log_format="text",
        is_terminal=sys.stderr.isatty(),
        environ=os.environ,
    )
    ref = _reference(args.ref)
    outcome = run_shown(
        lambda events, cancelled: run_job(
            ref, options, events, cancelled, timeout=args.wait_timeout
        ),
        display,
        colors=not args.no_color,
    )
    if args.json:
        [state] = outcome.states.values()
        last = state.current
        document = {
            "version": 1,
            "exit_code": outcome.exit_code,
            "outcome": state.outcome.value,
            "execution_id": last.execution_id if last else None,
            "status": last.status.value if last and last.status else None,
            "reason": state.reason,
            "report": str(outcome.report_path),
        }
        print(json.dumps(document, indent=2))
    return outcome.exit_code


def _refuse_wait_options(args: argparse.Namespace) -> None:
    """The --wait options mean nothing without --wait: say so rather than ignore them."""
    for option in ("wait_timeout", "report_dir"):
        if getattr(args, option, None) is not None:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"dmpipe job {args.job_command}: {flag} needs --wait")


def _check_references(args: argparse.Namespace) -> None:
    """Refuse a malformed REF before anything is resolved or sent."""
    if not hasattr(args, "ref"):
        return
    if getattr(args, "v1", False):
        name, parse = "CONFIG_ID", _count("CONFIG_ID")
    elif getattr(args, "legacy", False):
        name = "CONFIG_ID" if args.job_command == "trigger" else "EXECUTION_ID"
        parse = _count(name)
    else:
        name, parse = "REF", _reference
    try:
        parse(args.ref)
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"dmpipe job {args.job_command}: argument {name}: {error}") from None


# -- output ---------------------------------------------------------------------------


def _as_json(result: object) -> str:
    return json.dumps(_jsonable(result), indent=2)


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


def _as_text(result: object) -> str:
    from runner.datameer.records import ExecutionPlan

    if isinstance(result, _Stopped):
        return f"stop requested for {result.stop_requested_for}"
    if isinstance(result, ExecutionPlan):
        return _table(
            result.steps, ("configuration_id", "configuration_name", "triggered", "execution_id")
        )
    if isinstance(result, list):
        if not result:
            return "(none)"
        return _table(
            result, tuple(f.name for f in dataclasses.fields(result[0]) if f.name != "raw_status")
        )
    return "\n".join(_aligned(_record_lines(result)))


def _record_lines(record: object) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for field in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, field.name)
        if field.name == "raw_status" or value is None or value == {}:
            continue
        if field.name == "counters":
            lines.append(("counters", ""))
            lines.extend((f"  {name}", f"{count:,}") for name, count in sorted(value.items()))
            continue
        lines.append((_label(field.name), _show(field.name, value, record)))
    return lines


def _table(rows: Sequence[object], columns: tuple[str, ...]) -> str:
    header = [_label(column).upper() for column in columns]
    cells = [[_show(column, getattr(row, column), row) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *cells]
    )


def _aligned(lines: list[tuple[str, str]]) -> list[str]:
    width = max((len(label) for label, _ in lines), default=0) + 1
    return [f"{label + ':':<{width}} {value}".rstrip() for label, value in lines]


def _label(name: str) -> str:
    return name.removesuffix("_seconds").replace("_", " ")


def _show(name: str, value: object, record: object) -> str:
    """One value as text; a status the client did not recognise shows the server's spelling."""
    if value is None:
        return "-"
    if isinstance(value, enum.Enum):
        raw = getattr(record, "raw_status", "")
        if value.value == "UNKNOWN" and raw:
            return f"UNKNOWN ({raw!r})"
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "progress" and isinstance(value, float):
        return f"{value:g}%"
    if name == "estimate_seconds" and isinstance(value, float):
        return f"{value:g}s"
    return str(value)
