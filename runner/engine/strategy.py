"""How jobs are started: the seam between the one scheduler and the two execution modes.

``ClientStart`` (``runner.engine.client_start``) triggers each job itself;
``SequentialStart`` (``runner.engine.sequential``) hands the chain to Datameer's
sequential trigger and watches the plan's steps.  The scheduler is given a factory
that builds one from the run's parts, as httpx is given a transport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runner.engine.context import RunContext
from runner.engine.outcome import JobOutcome
from runner.engine.ready import ReadyQueue
from runner.engine.slots import Slot
from runner.engine.stopper import Stopper
from runner.engine.verdicts import Verdicts


@dataclass(frozen=True)
class EngineParts:
    """The parts of a running scheduler a start strategy works with."""

    ctx: RunContext
    ready: ReadyQueue
    verdicts: Verdicts
    stopper: Stopper
    # Stop everything and skip the rest: the run must end (outcome, reason).
    halt: Callable[[JobOutcome, str], None]


class StartStrategy(Protocol):
    """Starts jobs for the scheduler."""

    def begin(self) -> None:
        """Work before the first tick (the sequential trigger of the chain heads)."""

    def start(self, slot: Slot) -> None:
        """Start an attempt of a ready job (its outcome becomes RUNNING or final)."""

    def harvest(self) -> bool:
        """Apply the starts that landed since the last tick; True on a change."""

    def await_starts(self, deadline: float) -> None:
        """Let starts in flight land until ``deadline`` (the run is halting); harvest them."""

    def abandon(self, reason: str) -> None:
        """Starts still in flight when the run must end: their outcome is unknown."""

    def holds(self, slot: Slot, outcome: JobOutcome) -> bool:
        """Whether a failed attempt leaves its job pending instead (sequential chains)."""


StartFactory = Callable[[EngineParts], StartStrategy]
