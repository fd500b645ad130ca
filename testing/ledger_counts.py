"""Counting what an emulator's ledger saw a run do."""

from __future__ import annotations

from collections import Counter

from runner.emulator import EmulatorServer


def effective_triggers(server: EmulatorServer) -> Counter[int]:
    """How many executions the emulator started per file id."""
    return Counter(
        e.file_id for e in server.ledger.triggers() if e.effective and e.file_id is not None
    )


def triggered_executions(server: EmulatorServer) -> list[int]:
    """The execution ids the emulator's triggers created, in order."""
    return [
        e.execution_id
        for e in server.ledger.triggers()
        if e.effective and e.execution_id is not None
    ]
