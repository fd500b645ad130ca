"""Benchmark 10, calls in flight together: a call's CPU on threads, as a run makes them,
against one asyncio event loop.

    python bench/bench_loop.py [--calls 800] [--rounds 3] [--in-flight 8] [--json-out FILE]

A call costs dmpipe about 500 µs of CPU alone (benchmark 7) but up to 900 µs inside a
2,000-job run (benchmark 3), where many are in flight at once on the run's worker
threads: each thread that gets its answer must take the interpreter lock back, often from
a thread on the other CPU.  This benchmark measures that without a run.  The emulator
serves in a child process; this process makes the same GET (``list-running``, answer
decoded as JSON) ``calls`` times in each way below, one at a time, then ``in_flight`` at
a time, and measures its own user + system CPU (``getrusage``) per call.  Each round runs
every way once, in turn, so that a busy moment of the machine falls on all of them.

- ``dmpipe client``: ``DatameerClient.list_running()``; in flight together, from a pool of
  ``in_flight`` threads, as the run's workers make their calls.
- ``urllib3``: the same GET through a ``urllib3.PoolManager`` (benchmark 7's way), from
  the same kind of pool.
- ``aiohttp``: the same GET on one asyncio event loop in this thread, ``in_flight`` at a
  time (a semaphore).
- ``h11 on asyncio``: the same GET spoken through h11 (a sans-IO HTTP/1.1 parser, light to
  import) over asyncio streams, ``in_flight`` kept-alive connections, a timeout on each
  call: what a transport of dmpipe's own on one loop would spend at the least.

aiohttp and h11 are not dependencies of dmpipe: ``pip install aiohttp h11`` to measure
them; without one, its lines are missing and the figures say so.

What the lines say: how much of a call's CPU goes to running calls on threads rather than
to the HTTP work itself, and what one thread making every call would cost instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from emulator_process import EmulatorProcess
from figures import machine, measure_and_show, print_table
from plain_calls import login_headers, urllib3_getter
from workload import PASSWORD, USER, layered, scenario

from runner.datameer.client import DatameerClient
from runner.reference import JobRef

try:
    import aiohttp
except ImportError:  # not a dependency of dmpipe: its lines are left out
    aiohttp = None
try:
    import h11
except ImportError:  # not a dependency of dmpipe: its lines are left out
    h11 = None

PATH = "/rest/jobs/list-running"
# The emulator's executions running while the calls are made: the answer lists them.
RUNNING = 10


def usage() -> tuple[float, int]:
    """This process's user + system CPU seconds so far, and its voluntary context
    switches (a thread waiting: for an answer, a lock, the interpreter lock), every thread."""
    now = resource.getrusage(resource.RUSAGE_SELF)
    return now.ru_utime + now.ru_stime, now.ru_nvcsw


def per_call(started: tuple[float, int], calls: int) -> tuple[float, float]:
    """CPU µs and voluntary context switches per call since ``started``."""
    cpu, switches = usage()
    return (cpu - started[0]) * 1e6 / calls, (switches - started[1]) / calls


def on_threads(
    call: Callable[[], object], calls: int, pool: ThreadPoolExecutor | None
) -> tuple[float, float]:
    """Per call, ``calls`` of them one at a time (no pool) or from ``pool``: CPU µs and
    voluntary context switches."""
    started = usage()
    if pool is None:
        for _ in range(calls):
            call()
    else:
        for future in [pool.submit(call) for _ in range(calls)]:
            future.result()
    return per_call(started, calls)


def on_one_loop(
    url: str, headers: dict[str, str], calls: int, in_flight: int
) -> tuple[float, float]:
    """Per call on one event loop, ``in_flight`` at a time (aiohttp): CPU µs and
    voluntary context switches."""
    assert aiohttp is not None

    async def measure() -> tuple[float, float]:
        timeout = aiohttp.ClientTimeout(total=60, connect=5, sock_read=30)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            gate = asyncio.Semaphore(in_flight)

            async def one() -> None:
                async with gate, session.get(url + PATH, allow_redirects=False) as answer:
                    json.loads(await answer.read())

            await asyncio.gather(*(one() for _ in range(in_flight)))  # connections opened
            started = usage()
            await asyncio.gather(*(one() for _ in range(calls)))
            return per_call(started, calls)

    return asyncio.run(measure())


class _H11Connection:
    """One kept-alive connection, spoken through h11 on asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.state = h11.Connection(h11.CLIENT)

    async def get(self, host: str, headers: dict[str, str]) -> bytes:
        """GET ``PATH``; the answer's body."""
        state = self.state
        fields = [("Host", host), *headers.items()]
        request = h11.Request(method="GET", target=PATH, headers=fields)
        self.writer.write(state.send(request) + state.send(h11.EndOfMessage()))
        body = []
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                state.receive_data(await self.reader.read(64 * 1024))
            elif isinstance(event, h11.Data):
                body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                state.start_next_cycle()
                return b"".join(body)


def on_h11_loop(
    url: str, headers: dict[str, str], calls: int, in_flight: int
) -> tuple[float, float]:
    """Per call through h11 on one event loop, ``in_flight`` connections: CPU µs and
    voluntary context switches."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port

    async def measure() -> tuple[float, float]:
        idle: asyncio.Queue[_H11Connection] = asyncio.Queue()
        for _ in range(in_flight):
            idle.put_nowait(_H11Connection(*await asyncio.open_connection(host, port)))

        async def one() -> None:
            connection = await idle.get()
            try:
                json.loads(await asyncio.wait_for(connection.get(parts.netloc, headers), 30))
            finally:
                idle.put_nowait(connection)

        await asyncio.gather(*(one() for _ in range(in_flight)))
        started = usage()
        await asyncio.gather(*(one() for _ in range(calls)))
        figures = per_call(started, calls)
        while not idle.empty():
            idle.get_nowait().writer.close()
        return figures

    return asyncio.run(measure())


Way = Callable[[int, ThreadPoolExecutor], tuple[float, float]]


def ways(url: str, in_flight: int) -> dict[str, Way]:
    """Each way of making the calls, by name: ``way(calls, pool)`` → per call, CPU µs and
    voluntary context switches."""
    client = DatameerClient(url, user=USER, password=PASSWORD)
    with_urllib3 = urllib3_getter(urllib3.PoolManager(maxsize=max(16, in_flight)), url + PATH)
    headers = login_headers()

    found: dict[str, Way] = {
        "dmpipe client, 1 at a time": lambda n, _: on_threads(client.list_running, n, None),
        f"dmpipe client, {in_flight} threads": lambda n, pool: on_threads(
            client.list_running, n, pool
        ),
        "urllib3, 1 at a time": lambda n, _: on_threads(with_urllib3, n, None),
        f"urllib3, {in_flight} threads": lambda n, pool: on_threads(with_urllib3, n, pool),
    }
    if aiohttp is not None:
        found["aiohttp, 1 in flight"] = lambda n, _: on_one_loop(url, headers, n, 1)
        found[f"aiohttp, {in_flight} in flight, one loop"] = lambda n, _: on_one_loop(
            url, headers, n, in_flight
        )
    if h11 is not None:
        found["h11 on asyncio, 1 in flight"] = lambda n, _: on_h11_loop(url, headers, n, 1)
        found[f"h11 on asyncio, {in_flight} in flight, one loop"] = lambda n, _: on_h11_loop(
            url, headers, n, in_flight
        )
    return found


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Every way, ``rounds`` times in turn; CPU µs per call of each round."""
    workload = layered(1, RUNNING, durations=(3600.0, 3600.0), seed=7)
    with EmulatorProcess(scenario(workload, time_scale=1), folder) as emulator:
        setup = DatameerClient(emulator.url, user=USER, password=PASSWORD)
        for job in workload.jobs:  # executions for list-running to list
            setup.trigger(JobRef.parse(job.file_id))
        found = ways(emulator.url, args.in_flight)
        rounds: dict[str, list[float]] = {name: [] for name in found}
        switches: dict[str, list[float]] = {name: [] for name in found}
        with ThreadPoolExecutor(args.in_flight, thread_name_prefix="bench") as pool:
            for way in found.values():  # connections opened, threads started, code warm
                way(args.in_flight * 2, pool)
            for _ in range(args.rounds):
                for name, way in found.items():
                    cpu, switched = way(args.calls, pool)
                    rounds[name].append(cpu)
                    switches[name].append(switched)
    return {
        "calls": args.calls,
        "rounds": args.rounds,
        "in_flight": args.in_flight,
        "running": RUNNING,
        "missing": [name for name, module in (("aiohttp", aiohttp), ("h11", h11)) if not module],
        "cpu_us_per_call": rounds,
        "switches_per_call": switches,
        "machine": machine(),
    }


def print_figures(result: dict[str, Any]) -> None:
    """Lowest and median round of each way, and its context switches."""
    switches = result["switches_per_call"]
    rows = [
        (name, min(values), statistics.median(values), statistics.median(switches[name]))
        for name, values in result["cpu_us_per_call"].items()
    ]
    print_table(
        f"CPU µs per call (list-running of {result['running']} executions), "
        f"{result['calls']} calls a round, {result['rounds']} rounds",
        ["way of calling", "lowest", "median", "waits a call"],
        rows,
    )
    print("\nwaits a call: the process's voluntary context switches per call, median round")
    for name in result["missing"]:
        print(f"\n{name} is not installed: pip install {name} to measure it on one event loop")


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write JSON with ``--json-out``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=8, help="calls in flight at once")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    measure_and_show("loop", args, measure, print_figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
