"""One execution of an artifact: the simulation's mutable record and its frozen snapshot.

An execution goes WAITING_FOR_OTHER_JOB (behind the artifact's previous execution
or an upstream of its sequence) → QUEUED (``queue_time``, then a free slot under
``max_concurrent``) → RUNNING (``duration``) → its outcome.  Only the simulation
mutates ``Execution``, under its lock; everything else sees ``ExecutionView``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.datameer.status import JobStatus, parse_status
from runner.emulator.scenario import Artifact


class Phase(enum.Enum):
    """Where an execution is in its life."""

    WAITING = "WAITING_FOR_OTHER_JOB"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"


@dataclass(eq=False)
class Execution:
    """The simulation's live record of one execution."""

    execution_id: int
    artifact: Artifact
    run: int  # 1, 2, ... for triggered runs; 0 for history
    user: str
    trigger: str  # RESTAPI | SEQUENCE | LEGACY | HISTORY
    created_at: float
    duration: float
    outcome: str
    variables: Mapping[str, str] = field(default_factory=dict)
    sequence: int | None = None
    phase: Phase = Phase.WAITING
    status: str = Phase.WAITING.value
    # execution id → True when this one may only run if that one succeeds (sequence upstream)
    waiting_for: dict[int, bool] = field(default_factory=dict)
    dependents: list[Execution] = field(default_factory=list)
    queued_at: float | None = None
    start_time: float | None = None
    stop_time: float | None = None
    counters: Mapping[str, int] = field(default_factory=dict)
    # Emulated time before which the server does not show it yet (None: at once).
    visible_at: float | None = None

    def view(self, now: float) -> ExecutionView:
        """A frozen snapshot at emulated time ``now``."""
        progress, remaining = 0, None
        if self.phase is Phase.RUNNING and self.start_time is not None:
            elapsed = now - self.start_time
            remaining = max(0.0, self.duration - elapsed)
            ratio = elapsed / self.duration if self.duration > 0 else 1.0
            progress = max(0, min(99, int(100 * ratio)))
        elif self.phase is Phase.DONE and self.status in ("COMPLETED", "COMPLETED_WITH_WARNINGS"):
            progress = 100
        return ExecutionView(
            execution_id=self.execution_id,
            file_id=self.artifact.file_id,
            configuration_id=self.artifact.configuration_id,
            status=self.status,
            run=self.run,
            user=self.user,
            trigger=self.trigger,
            created_at=self.created_at,
            start_time=self.start_time,
            stop_time=self.stop_time,
            duration=self.duration,
            progress=progress,
            remaining=remaining,
            variables=dict(self.variables),
            counters=dict(self.counters),
            sequence=self.sequence,
            waiting_for=tuple(sorted(self.waiting_for)),
            visible_at=self.visible_at,
        )


@dataclass(frozen=True)
class ExecutionView:
    """One execution as the emulator would report it at one moment (emulated seconds)."""

    execution_id: int
    file_id: int
    configuration_id: int
    status: str  # v2 spelling: QUEUED, RUNNING, COMPLETED_WITH_WARNINGS ...
    run: int
    user: str
    trigger: str
    created_at: float
    start_time: float | None
    stop_time: float | None
    duration: float
    progress: int
    remaining: float | None
    variables: Mapping[str, str]
    counters: Mapping[str, int]
    sequence: int | None
    waiting_for: tuple[int, ...]
    visible_at: float | None = None

    def visible(self, now: float) -> bool:
        """Whether the server shows this execution at emulated time ``now``."""
        return self.visible_at is None or self.visible_at <= now

    @property
    def job_status(self) -> JobStatus:
        """The status as dmpipe's ``JobStatus``."""
        return parse_status(self.status)

    @property
    def is_active(self) -> bool:
        """True while waiting, queued or running."""
        return self.job_status.is_active

    def to_json(self) -> dict[str, Any]:
        """The snapshot as served by ``GET /__emulator__/state``."""
        return {
            "execution_id": self.execution_id,
            "file_id": self.file_id,
            "configuration_id": self.configuration_id,
            "status": self.status,
            "run": self.run,
            "user": self.user,
            "trigger": self.trigger,
            "created_at": self.created_at,
            "start_time": self.start_time,
            "stop_time": self.stop_time,
            "progress": self.progress,
            "variables": dict(self.variables),
            "counters": dict(self.counters),
            "sequence": self.sequence,
            "waiting_for": list(self.waiting_for),
            "visible_at": self.visible_at,
        }
