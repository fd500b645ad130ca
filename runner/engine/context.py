"""What every part of a running engine shares: the pipeline, the API, the clock, the
job slots, the run's state, the worker threads, and the event sink."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

from runner.clock import Clock
from runner.datameer.protocol import JobApi
from runner.engine.baseline import Listing, Newest
from runner.engine.events import EventKind, EventSink, RunEvent
from runner.engine.options import EngineOptions
from runner.engine.slots import RunState, Slot
from runner.engine.trigger import StartControl
from runner.engine.workers import Workers
from runner.model import Pipeline
from runner.spec.durations import format_elapsed


@dataclass
class RunContext:
    """The shared state of one scheduler run (no behaviour beyond small look-ups)."""

    pipeline: Pipeline
    api: JobApi
    sink: EventSink
    clock: Clock
    options: EngineOptions
    cancelled: threading.Event
    slots: dict[str, Slot]
    run: RunState
    workers: Workers
    control: StartControl
    rng: random.Random
    # Stops in flight, with the job they are for (None: a plan step no job matched).
    stops: list[tuple[Slot | None, Future[None]]] = field(default_factory=list)
    owned: frozenset[int] | None = None  # own_executions' answer during one start pass
    # What lets a trigger go out without a status look first (engine.baseline).
    listing: Listing | None = None  # the latest list-running answer
    newest: Newest | None = None  # the newest execution this run created
    # Job -> the execution whose list-running entry gave its configuration id: unchecked
    # (the list names no file), so forgotten if that execution proves another artifact's.
    configuration_from: dict[str, int] = field(default_factory=dict)
    # The open jobs something happened to, in file order (the scheduler's ready queue
    # keeps them); without it, every slot.
    live: Callable[[], Iterable[Slot]] | None = None
    # own_executions' answer kept up to date as jobs go (the ready queue's); without
    # it, every attempt of every job is looked at.
    own: Callable[[], frozenset[int]] | None = None

    def live_slots(self) -> Iterable[Slot]:
        """Every slot that may be RUNNING, WAITING, starting or waiting for a retry, in
        file order (the open jobs something happened to; every slot without ``live``)."""
        return self.slots.values() if self.live is None else self.live()

    def emit(
        self, kind: EventKind, slot: Slot | None = None, message: str = "", **data: object
    ) -> None:
        """Tell the listeners about a transition."""
        attempt = slot.state.current if slot else None
        self.sink(
            RunEvent(
                at=self.clock.now(),
                kind=kind,
                job=slot.job.name if slot else "",
                attempt=attempt.number if attempt else 0,
                message=message,
                data=data,  # the call's own keyword dict: nobody else holds it
            )
        )

    def own_executions(self) -> frozenset[int]:
        """The executions this run triggered.  Asked once per start; the ids only change
        when triggers are harvested, so one scan serves a whole start pass (reset
        ``owned`` to None to scan again)."""
        if self.owned is None:
            self.owned = self.own() if self.own is not None else self._own_scanned()
        return self.owned

    def _own_scanned(self) -> frozenset[int]:
        return frozenset(
            attempt.execution_id
            for slot in self.slots.values()
            for attempt in slot.state.attempts
            if attempt.execution_id is not None and not attempt.attached
        )

    def own_executions_now(self) -> set[int]:
        """``own_executions`` scanned afresh."""
        self.owned = None
        own = set(self.own_executions())
        self.owned = None
        return own

    def note_reachability(self, transient: str | None) -> None:
        """Keep track of how long the server has not been answering."""
        now = self.clock.monotonic()
        if transient is not None and self.run.unreachable_since is None:
            self.run.unreachable_since = now
            self.emit(
                EventKind.SERVER_UNREACHABLE,
                message=f"server not answering, will keep trying: {transient}",
            )
        elif transient is None and self.run.unreachable_since is not None:
            down = now - self.run.unreachable_since
            self.run.unreachable_since = None
            self.emit(
                EventKind.SERVER_BACK,
                message=f"server answering again after {format_elapsed(down)}",
            )

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the run's clock, waking early for an interrupt."""
        self.clock.wait(seconds, self.cancelled)
