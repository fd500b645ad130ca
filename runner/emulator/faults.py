"""Injected faults, decided per request from one seeded ``random.Random``.

Each request whose path matches ``Faults.paths`` draws exactly three numbers, in
arrival order (latency, error-or-drop, lost answer), whatever the outcome: the
same seed and the same request order give the same faults.

The hostile faults (answers without an id or with another execution's, executions
not visible yet, bad list-running answers) draw from a second sequence, seeded by
the same seed, only when they are on; ``hang_after`` counts the requests seen.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase

from runner.emulator.scenario import Faults


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request."""

    latency: float = 0.0  # real seconds to wait before answering
    kind: str | None = None  # None | "error" (5xx, action not done) | "drop" (no answer, not done)
    lose_answer: bool = False  # for triggers: act, then cut the connection


NO_FAULT = FaultDecision()


@dataclass(frozen=True)
class TriggerFault:
    """What a hostile server does to one trigger (the job starts in every case)."""

    without_id: bool = False  # answer 200 {"status": "success"} with no execution id
    reuse_id: bool = False  # answer the previous trigger's execution id instead
    hidden_for: float = 0.0  # emulated seconds the new execution stays out of sight
    phantom_id: bool = False  # answer an execution id that names no execution


NO_TRIGGER_FAULT = TriggerFault()


class FaultInjector:
    """Thread-safe source of ``FaultDecision`` for the current ``Faults``."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._hostile = random.Random(f"hostile:{faults.seed}")
        self._list_calls = 0
        self._requests = 0

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._faults

    def replace(self, faults: Faults) -> None:
        """Switch to other faults and restart their random sequence from their seed."""
        with self._lock:
            self._faults = faults
            self._random = random.Random(faults.seed)
            self._hostile = random.Random(f"hostile:{faults.seed}")
            self._list_calls = 0
            self._requests = 0

    def decide(self, path: str) -> FaultDecision:
        """The fault for a request to ``path`` (the URL path, without the query)."""
        with self._lock:
            faults = self._faults
            if not faults.active or not any(fnmatchcase(path, p) for p in faults.paths):
                return NO_FAULT
            low, high = faults.latency
            latency = self._random.uniform(low, high)
            draw = self._random.random()
            lose = self._random.random() < faults.lost_trigger_rate
        kind = None
        if draw < faults.error_rate:
            kind = "error"
        elif draw < faults.error_rate + faults.drop_rate:
            kind = "drop"
        return FaultDecision(latency=latency, kind=kind, lose_answer=lose)

    def decide_trigger(self, file_id: int) -> TriggerFault:
        """The hostile answer to a trigger of ``file_id`` (two draws when a rate is on)."""
        with self._lock:
            faults = self._faults
            if not faults.hits(file_id):
                return NO_TRIGGER_FAULT
            without_id = reuse_id = phantom_id = False
            if faults.trigger_without_id > 0:
                without_id = self._hostile.random() < faults.trigger_without_id
            if faults.reuse_execution_id > 0:
                reuse_id = self._hostile.random() < faults.reuse_execution_id
            if faults.phantom_execution_id > 0:
                phantom_id = self._hostile.random() < faults.phantom_execution_id
        reuse_id = reuse_id and not without_id
        phantom_id = phantom_id and not (without_id or reuse_id)
        return TriggerFault(without_id, reuse_id, faults.not_visible_for, phantom_id)

    def forbidden(self, file_id: int) -> bool:
        """Whether triggers and stops of ``file_id`` answer 403."""
        return file_id in self._faults.forbidden

    def decide_list_running(self) -> str | None:
        """The bad answer to this list-running call (``html``, ``garbage``...), or None."""
        with self._lock:
            fault = self._faults.list_running
            if fault is None:
                return None
            self._list_calls += 1
            call = self._list_calls
            in_window = call > fault.after and (
                fault.calls is None or call <= fault.after + fault.calls
            )
            hit = in_window and (fault.rate >= 1 or self._hostile.random() < fault.rate)
        return fault.answer if hit else None

    def note_request(self) -> bool:
        """Count one API request; True for the one after ``hang_after``: freeze from there."""
        with self._lock:
            self._requests += 1
            limit = self._faults.hang_after
            return limit is not None and self._requests == limit + 1
