"""The ledger: every trigger, stop and delete the emulator acted on, in order.

Tests use it to assert "no job was triggered twice" and "every started job was
stopped".  A request cut by an injected 5xx or dropped connection never reached
the action, so it is not in the ledger (``EmulatorServer.stats`` counts it); a
trigger whose answer was lost after the job started is, with ``response_lost``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

TRIGGER_ACTIONS = ("trigger", "sequence", "legacy_trigger")
STOP_ACTIONS = ("stop", "legacy_stop")


@dataclass(frozen=True)
class LedgerEntry:
    """One action the emulator took (or refused) for a client."""

    seq: int
    action: str  # trigger | sequence | stop | delete | legacy_trigger | legacy_stop
    file_id: int | None
    configuration_id: int | None
    execution_id: int | None  # the execution created or stopped
    user: str
    at: float  # emulated clock
    response_lost: bool = False  # a fault cut the answer after the action happened
    effective: bool = True  # the trigger started / the stop stopped / the delete deleted
    variables: Mapping[str, str] = field(default_factory=dict)
    data_id: int | None = None
    # Stops: every execution this call cancelled (a per-artifact stop may cancel several).
    stopped: tuple[int, ...] = ()
    # Triggers: what a hostile fault made the answer say instead of ``execution_id``:
    # "without_id" (no id at all) or "reused_id" (``answered_id``, another execution's).
    answer_fault: str | None = None
    answered_id: int | None = None
    # "api" for a client's call, "control" for one made through /__emulator__/ or Python.
    via: str = "api"

    def to_json(self) -> dict[str, Any]:
        """The entry as served by ``GET /__emulator__/ledger``."""
        return {**asdict(self), "variables": dict(self.variables), "stopped": list(self.stopped)}


class Ledger:
    """An append-only, thread-safe list of ``LedgerEntry``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []

    def record(self, action: str, user: str, at: float, **fields: Any) -> LedgerEntry:
        """Append an entry; ``seq`` numbers entries from 1 in the order they happened."""
        with self._lock:
            entry = LedgerEntry(
                seq=len(self._entries) + 1,
                action=action,
                user=user,
                at=at,
                file_id=fields.pop("file_id", None),
                configuration_id=fields.pop("configuration_id", None),
                execution_id=fields.pop("execution_id", None),
                **fields,
            )
            self._entries.append(entry)
            return entry

    def entries(self) -> list[LedgerEntry]:
        """A snapshot of every entry, oldest first."""
        with self._lock:
            return list(self._entries)

    def triggers(self, file_id: int | None = None) -> list[LedgerEntry]:
        """Trigger, sequence and legacy-trigger entries (of one artifact when given)."""
        return self._select(TRIGGER_ACTIONS, file_id)

    def stops(self, file_id: int | None = None) -> list[LedgerEntry]:
        """Stop and legacy-stop (job-kill) entries (of one artifact when given)."""
        return self._select(STOP_ACTIONS, file_id)

    def deletes(self) -> list[LedgerEntry]:
        """Delete entries."""
        return self._select(("delete",), None)

    def _select(self, actions: tuple[str, ...], file_id: int | None) -> list[LedgerEntry]:
        return [
            e
            for e in self.entries()
            if e.action in actions and (file_id is None or e.file_id == file_id)
        ]

    def to_json(self) -> list[dict[str, Any]]:
        """Every entry as JSON-ready dicts."""
        return [entry.to_json() for entry in self.entries()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> LedgerEntry:
        with self._lock:
            return self._entries[index]
