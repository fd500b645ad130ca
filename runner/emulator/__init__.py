"""A Datameer server double: the whole job REST API over real HTTP, from a scenario.

::

    from runner.emulator import EmulatorServer, load_scenario

    with EmulatorServer(load_scenario("examples/emulator/reference.yaml")) as server:
        server.url          # http://127.0.0.1:<port>
        server.ledger       # every trigger / stop / delete it acted on
        server.clock        # emulated seconds; advance() on a manual clock
        server.state        # the simulation: execution(id), executions_of(file_id) ...

The scenario format is documented in ``docs/emulator.md``.
"""

from __future__ import annotations

from runner.emulator.emulated_clock import Clock
from runner.emulator.execution import ExecutionView
from runner.emulator.ledger import Ledger, LedgerEntry
from runner.emulator.loading import load_scenario, scenario_from_dict
from runner.emulator.scenario import Artifact, Faults, HistoryRun, Scenario, User
from runner.emulator.server import EmulatorServer
from runner.emulator.simulation import Simulation

__all__ = [
    "Artifact",
    "Clock",
    "EmulatorServer",
    "ExecutionView",
    "Faults",
    "HistoryRun",
    "Ledger",
    "LedgerEntry",
    "Scenario",
    "Simulation",
    "User",
    "load_scenario",
    "scenario_from_dict",
]
