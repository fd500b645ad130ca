"""Injected faults, decided per request from one seeded ``random.Random``.

Each request whose path matches ``Faults.paths`` draws exactly three numbers, in
arrival order (latency, error-or-drop, lost answer), whatever the outcome: the
same seed and the same request order give the same faults.
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


class FaultInjector:
    """Thread-safe source of ``FaultDecision`` for the current ``Faults``."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._random = random.Random(faults.seed)

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._faults

    def replace(self, faults: Faults) -> None:
        """Switch to other faults and restart their random sequence from their seed."""
        with self._lock:
            self._faults = faults
            self._random = random.Random(faults.seed)

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
