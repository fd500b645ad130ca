"""``dmpipe plan FILE``: what a run would do, worked out without calling the server."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from runner.commands import arguments as common


def register(subparsers: Any) -> None:
    """Add ``dmpipe plan`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="show what a run would do (no server call)",
        description="A dry run: the mode chosen and why, the jobs by level with their "
        "policies, the critical path by estimate; --curl prints the HTTP calls instead.",
    )
    parser.add_argument("file", type=Path, help="the pipeline file")
    common.add_selection(parser)
    common.add_variables(parser)
    parser.add_argument(
        "--mode", choices=["auto", "client", "sequential"], help="override the file's mode"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--curl",
        action="store_true",
        help="print the run's HTTP calls as curl commands (password as $DATAMEER_PASSWORD)",
    )
    output.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument(
        "--check-server",
        action="store_true",
        help="also ask the server (GETs only) whether every artifact and endpoint exists",
    )
    parser.add_argument(
        "--from-server",
        action="store_true",
        help="ask the server (GETs only) how long each job took lately: the median of its "
        "last successful runs, the critical path by them and the expected finish",
    )
    common.add_server(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, plan and print; exit 0, or 2 for an invalid file or selection."""
    from runner.model import Mode
    from runner.plan import build_plan
    from runner.profiles import server_settings
    from runner.spec import load_pipeline

    pipeline = load_pipeline(args.file, variables=common.variables(args))
    # The server the run would use: flags, then a profile, then the file's server: block.
    flags = common.server_settings(args)
    server = server_settings(pipeline.server, flags, os.environ, with_password=False)
    pipeline = dataclasses.replace(pipeline, server=server)
    plan = build_plan(
        pipeline,
        include=args.select,
        exclude=args.exclude,
        mode=Mode(args.mode) if args.mode else None,
        server_version=server.version,
        default_url=os.environ.get("DATAMEER_URL") or None,
    )
    if args.json:
        from runner.plan.plan_json import plan_document

        text = json.dumps(plan_document(plan, _known_passwords()), indent=2) + "\n"
    elif args.curl:
        from runner.plan.curl import render_curl

        text = render_curl(plan, _known_passwords())
    else:
        from runner.plan.endpoints import endpoint_lines, planned_capabilities
        from runner.plan.text import render_text

        text = render_text(plan, _known_passwords())
        if not args.check_server:
            lines = endpoint_lines(planned_capabilities(plan.pipeline), plan.pipeline)
            text += "\nendpoints:\n" + "\n".join(lines) + "\n"
    sys.stdout.write(text)
    code = _check_server(pipeline, args) if args.check_server else 0
    if args.from_server:
        _from_server(plan.pipeline, args)
    return code


def _known_passwords() -> list[str | None]:
    """The password of the environment, so that a variable holding it is masked."""
    from runner.datameer.credentials import environment_password
    from runner.errors import UsageError

    try:
        return [environment_password(os.environ)]
    except UsageError:  # an unreadable password file: nothing to mask with it
        return []


def _with_password(server: Any, args: argparse.Namespace) -> Any:
    """The plan's server settings, now with the profile's password (if it names one)."""
    from runner.profiles import load_profile

    if server.profile is None or server.password is not None:
        return server
    password = load_profile(server.profile, os.environ).password
    return dataclasses.replace(server, password=password)


def _check_server(pipeline: Any, args: argparse.Namespace) -> int:
    """Print what the server says about the pipeline's references; 2 when any is missing."""
    from runner.datameer.client import DatameerClient
    from runner.datameer.credentials import resolve_server
    from runner.launch import configurations_of
    from runner.plan.endpoints import endpoint_lines
    from runner.plan.server_check import check_server

    settings = resolve_server(settings=_with_password(pipeline.server, args))
    if not settings.verify_tls:
        print("dmpipe: warning: TLS certificate verification is off", file=sys.stderr)
    configurations = configurations_of(pipeline)
    with DatameerClient.from_settings(
        settings, detect_version=True, configurations=configurations
    ) as client:
        result = check_server(pipeline, client)
        known = client.capabilities()
    print(f"\nserver check ({client.base_url}):")
    print("\n".join(result.lines()))
    print("\nendpoints:")
    print("\n".join(endpoint_lines(known, pipeline)))
    return 0 if result.ok else 2


def _from_server(pipeline: Any, args: argparse.Namespace) -> None:
    """Print each job's median duration from the server's history, the critical path by
    them and the expected finish of a run started now."""
    from datetime import datetime

    from runner.datameer.client import DatameerClient
    from runner.datameer.credentials import resolve_server
    from runner.launch import configurations_of
    from runner.plan.learned import expected_finish, learn_durations, learned_critical_path
    from runner.spec.durations import format_duration, format_elapsed

    settings = resolve_server(settings=_with_password(pipeline.server, args))
    with DatameerClient.from_settings(
        settings, detect_version=True, configurations=configurations_of(pipeline)
    ) as client:
        learned = learn_durations(client, pipeline)
    print(f"\ndurations from the server's history ({client.base_url}):")
    for name, job in pipeline.jobs.items():
        found = learned[name]
        if found.median is not None:
            runs = len(found.samples)
            said = f"{format_elapsed(found.median)} (median of {runs} run{'s' * (runs > 1)})"
        elif job.estimate is not None:
            said = f"{found.note}; estimate {format_duration(job.estimate)}"
        else:
            said = found.note
        print(f"  {name:<24} {said}")
    path = learned_critical_path(pipeline, learned)
    chain = " → ".join(path.jobs)
    print(f"critical path: {format_elapsed(path.total)}: {chain}")
    finish = expected_finish(datetime.now().astimezone(), path)
    print(f"a run started now ends about {finish:%Y-%m-%d %H:%M %Z}")
