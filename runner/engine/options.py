"""The engine's tunables: what a run may be told that is not part of the pipeline file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineOptions:
    """Tunables of a run that are not part of the pipeline file."""

    # One list-running call per tick answers for every running job; off = one call per job.
    batch_polling: bool = True
    http_workers: int = 8
    # How long a trigger whose answer was lost is looked for before it is sent again.
    trigger_resolve_timeout: float = 30.0
    # How long stopped executions are watched for their CANCELED status.
    stop_confirm_timeout: float = 30.0
    # How long the server may stay unreachable before the run gives up (exit 3).
    unreachable_timeout: float = 300.0
    # After an interrupt: how long a trigger in flight or a lost answer is still waited for,
    # and stops watched for their confirmation (Ctrl-C is honoured within about twice this).
    interrupt_grace: float = 4.0
    # How long a new execution may stay invisible (job-details 404) before it counts as
    # lost: it is then stopped, and never triggered again for the same attempt.
    unseen_grace: float = 120.0
    strict_plan: bool = False
    seed: int | None = None
