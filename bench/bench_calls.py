"""Benchmark 7, calls: the CPU one REST call costs dmpipe, against the HTTP stack under it.

    python bench/bench_calls.py [--calls 800] [--rounds 4] [--json-out FILE]

The emulator serves in a child process; this process makes the calls, one after the other
on one kept-alive connection, and measures its own user + system CPU (``getrusage``) per
call.  Each round runs every way of calling once, in turn, so that a busy moment of the
machine falls on all of them; the table gives the lowest and the median round.

- ``dmpipe client``: ``DatameerClient.list_running()`` / ``job_details(id)``, as a run
  calls them (deadline, capped read, JSON decoding, records).
- ``urllib3``: the same GET through a ``urllib3.PoolManager`` as the client's transport
  calls it (no redirects, streamed read), and the body decoded as JSON.
- ``http.client``: the same GET on one ``http.client.HTTPConnection``, body decoded.

What the difference between the lines says: the client's own work per call, and what
the transport's library adds over the standard library's HTTP.  A run of
``bench_scale.py`` makes about 2.2 calls per job, so each 100 µs here is 0.22 ms of its
CPU per job.
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import statistics
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3
from emulator_process import EmulatorProcess
from figures import machine, measure_and_show, print_table
from plain_calls import login_headers, urllib3_getter
from workload import PASSWORD, USER, layered, scenario

from runner.datameer.client import DatameerClient
from runner.reference import JobRef


def cpu_seconds() -> float:
    """This process's user + system CPU seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_call_us(call: Callable[[], object], calls: int) -> float:
    """The CPU microseconds one ``call`` costs, over ``calls`` calls."""
    started = cpu_seconds()
    for _ in range(calls):
        call()
    return (cpu_seconds() - started) * 1e6 / calls


def callers(url: str, execution_id: int) -> dict[str, Callable[[], object]]:
    """Each way of making the two GETs a run makes most, by name."""
    client = DatameerClient(url, user=USER, password=PASSWORD)
    manager = urllib3.PoolManager()
    headers = login_headers()
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    paths = {
        "list-running": "/rest/jobs/list-running",
        "job-details": f"/rest/job-execution/job-details/{execution_id}",
    }
    base = url.rstrip("/")
    with_urllib3 = {name: urllib3_getter(manager, base + path) for name, path in paths.items()}

    def with_http_client(path: str) -> object:
        connection.request("GET", path, headers=headers)
        return json.loads(connection.getresponse().read())

    return {
        "dmpipe client, list-running": client.list_running,
        "dmpipe client, job-details": lambda: client.job_details(execution_id),
        "urllib3, list-running": with_urllib3["list-running"],
        "urllib3, job-details": with_urllib3["job-details"],
        "http.client, list-running": lambda: with_http_client(paths["list-running"]),
        "http.client, job-details": lambda: with_http_client(paths["job-details"]),
    }


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Every way of calling, ``rounds`` times in turn; CPU µs per call of each round."""
    workload = layered(2, 10, durations=(1.0, 3.0), seed=7)
    with EmulatorProcess(scenario(workload, time_scale=1), folder) as emulator:
        setup = DatameerClient(emulator.url, user=USER, password=PASSWORD)
        execution_id = setup.trigger(JobRef.parse(workload.jobs[0].file_id)).execution_id
        assert execution_id is not None, "the emulator answered the trigger without an id"
        ways = callers(emulator.url, execution_id)
        for call in ways.values():  # connections opened, code paths warm
            call()
        rounds: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, call in ways.items():
                rounds[name].append(per_call_us(call, args.calls))
    return {
        "calls": args.calls,
        "rounds": args.rounds,
        "cpu_us_per_call": rounds,
        "machine": machine(),
    }


def print_figures(result: dict[str, Any]) -> None:
    """Lowest and median round of each way of calling."""
    rows = [
        (name, min(values), statistics.median(values))
        for name, values in result["cpu_us_per_call"].items()
    ]
    print_table(
        f"CPU µs per call, {result['calls']} calls a round, {result['rounds']} rounds",
        ["way of calling", "lowest", "median"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write JSON with ``--json-out``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    measure_and_show("calls", args, measure, print_figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
