"""Fixtures shared by every test: emulated Datameer servers on loopback.

``emulator``: the reference scenario (examples/emulator/reference.yaml) on a MANUAL
clock, so a test decides when time passes (``emulator.clock.advance(12)``) and
never waits.  ``make_emulator(source, **overrides)``: a started server from a
``Scenario``, a scenario mapping or a file path; keyword overrides replace
top-level scenario keys (``time_scale=500``, ``version="7.4"``, ``faults={...}``).
Every server is stopped at teardown.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.emulator import EmulatorServer, Scenario, load_scenario, scenario_from_dict
from runner.emulator.loading import merge_overrides, with_overrides
from testing.scenarios import REFERENCE

MakeEmulator = Callable[..., EmulatorServer]


def build_scenario(source: Scenario | Mapping[str, Any] | str | Path, **overrides: Any) -> Scenario:
    """A ``Scenario`` from any of the accepted sources, with top-level overrides."""
    if isinstance(source, Scenario):
        return with_overrides(source, **overrides)
    if isinstance(source, Mapping):
        return scenario_from_dict(merge_overrides(source, overrides), source="<test>")
    path = Path(source).resolve()
    return with_overrides(_load(path, path.stat().st_mtime_ns), **overrides)


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int) -> Scenario:
    # Scenarios are immutable: a file read once serves every test (until it changes).
    del mtime_ns
    return load_scenario(path)


@pytest.fixture
def make_emulator() -> Iterator[MakeEmulator]:
    """A factory of started emulators, all stopped at teardown."""
    servers: list[EmulatorServer] = []

    def make(
        source: Scenario | Mapping[str, Any] | str | Path = REFERENCE, **overrides: Any
    ) -> EmulatorServer:
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
