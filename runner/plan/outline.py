"""The plan of a run as a typed record: mode, levels, per-job policies, critical path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runner.datameer.credentials import redact_url
from runner.graph import CriticalPath, Selection, build_graph, critical_path, levels, select
from runner.model import Job, Mode, Pipeline, When
from runner.plan.mode import ModeChoice, choose_mode


class StartedBy:
    """Who starts a job in the run (a plain string in the plan and its JSON)."""

    RUNNER = "dmpipe"  # a trigger call of its own
    SEQUENCE = "sequential trigger"  # named in the one sequential-trigger call
    CHAIN = "data-driven chain"  # started by Datameer after what it needs


@dataclass(frozen=True)
class PlannedJob:
    """One job as the run will treat it."""

    job: Job
    level: int  # 1-based: level 1 needs nothing (within the selection)
    started_by: str
    critical: bool
    assumed_done: tuple[str, ...] = ()  # needs the selection left out, counted as done


@dataclass(frozen=True)
class Plan:
    """What ``dmpipe run`` would do with a pipeline, without asking the server anything."""

    pipeline: Pipeline  # restricted to the selection
    mode: ModeChoice
    jobs: tuple[PlannedJob, ...]  # level by level, file order within a level
    level_count: int
    critical_path: CriticalPath
    selection: Selection
    server_url: str | None = None  # None when neither the file nor the environment says;
    # never with a user:password@ part, which the plan's text, JSON and curl lines would show

    @property
    def sequence_entries(self) -> tuple[PlannedJob, ...]:
        """The jobs named in the sequential trigger (none in client mode)."""
        return tuple(p for p in self.jobs if p.started_by == StartedBy.SEQUENCE)


def build_plan(
    pipeline: Pipeline,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    mode: Mode | None = None,
    server_version: str | None = None,
    default_url: str | None = None,
) -> Plan:
    """Plan a run of ``pipeline``: select, choose the mode, order, find the critical path.

    ``mode`` is ``--mode``; ``default_url`` is the server URL when the file sets none.
    Raises UsageError for a bad selection.
    """
    selection = select(pipeline, include, exclude)
    chosen = selection.pipeline
    choice = choose_mode(chosen, server_version, selection, override=mode)
    graph = build_graph(chosen)
    generations = levels(graph)
    path = critical_path(graph)
    on_path = set(path.jobs)
    jobs = tuple(
        PlannedJob(
            job=chosen.jobs[name],
            level=number,
            started_by=_started_by(chosen.jobs[name], choice.runs_as),
            critical=name in on_path,
            assumed_done=selection.assumed_done.get(name, ()),
        )
        for number, generation in enumerate(generations, start=1)
        for name in generation
    )
    url = redact_url(chosen.server.url or default_url)
    return Plan(chosen, choice, jobs, len(generations), path, selection, url)


def _started_by(job: Job, mode: Mode) -> str:
    """Mirrors the engine: in sequential mode, handlers and retries are dmpipe's own triggers."""
    if mode is not Mode.SEQUENTIAL or job.when is not When.ALL_SUCCESS:
        return StartedBy.RUNNER
    return StartedBy.CHAIN if job.needs else StartedBy.SEQUENCE
