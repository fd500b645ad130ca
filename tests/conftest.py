"""Fixtures shared by every test: emulated Datameer servers on loopback.

``emulator``: the reference scenario (examples/emulator/reference.yaml) on a MANUAL
clock, so a test decides when time passes (``emulator.clock.advance(12)``) and
never waits.  ``make_emulator(source, **overrides)``: a started server from a
``Scenario``, a scenario mapping or a file path (default: the reference); keyword
overrides replace top-level scenario keys (``time_scale=500``, ``version="7.4"``,
``faults={...}``).  Every server is stopped at teardown.  ``connect(url, **kw)``: a
``DatameerClient`` for it.  ``virtual_time``: the test's in-process runs (``main``,
``run_file``) and the emulators it starts share a virtual clock, so they never wait.

Tests marked ``slow`` (child processes, signals, crashes, real clocks, a browser) or
``bench`` (the benchmarks' smoke runs) are skipped unless ``--run-slow`` is given: plain
``pytest`` is the quick check while working, ``pytest -n auto --run-slow`` the full run (CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runner.clock import VirtualClock
from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from testing.emulators import MakeEmulator, ScenarioSource, build_scenario
from testing.engine_runs import on_virtual_time
from testing.scenarios import PASSWORD, REFERENCE, USER

OPT_IN_MARKERS = ("slow", "bench")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow or bench (the full suite, as CI runs it)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    for item in items:
        marked = [name for name in OPT_IN_MARKERS if item.get_closest_marker(name)]
        if marked:
            reason = f"{marked[0]} test: run it with --run-slow (CI runs them all)"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def make_emulator() -> Iterator[MakeEmulator]:
    """A factory of started emulators, all stopped at teardown."""
    servers: list[EmulatorServer] = []

    def make(source: ScenarioSource = REFERENCE, **overrides: Any) -> EmulatorServer:
        server = EmulatorServer(build_scenario(source, **overrides)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(make_emulator: MakeEmulator) -> EmulatorServer:
    """The reference scenario on a manual clock."""
    return make_emulator(REFERENCE, clock="manual")


@pytest.fixture
def virtual_time(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """One virtual clock for every run the test starts in-process and every emulator it
    starts (``--emulator``'s too): waits take no real time (``on_virtual_time``)."""
    return on_virtual_time(monkeypatch)


@pytest.fixture
def connect() -> Iterator[Callable[..., DatameerClient]]:
    """A factory of clients (admin/admin, no retry backoff by default), all closed at teardown."""
    clients: list[DatameerClient] = []

    def make(url: str, **kw: Any) -> DatameerClient:
        kw.setdefault("user", USER)
        kw.setdefault("password", PASSWORD)
        kw.setdefault("backoff_factor", 0.0)
        made = DatameerClient(url, **kw)
        clients.append(made)
        return made

    yield make
    for made in clients:
        made.close()
