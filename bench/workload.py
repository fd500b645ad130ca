"""The generated pipelines the benchmarks run: jobs, durations, pipeline YAML, emulator scenario.

A ``Workload`` is the single source of both files a benchmark needs: the pipeline
the runner reads and the scenario the emulator serves, so each job's artifact lasts
exactly the duration the critical-path lower bound is computed from.  Durations are
emulated seconds; every generator is seeded, so a run is reproducible.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER = PASSWORD = "admin"  # the emulator's well-known login, never a real secret


@dataclass(frozen=True)
class WorkJob:
    """One job: its name, the artifact (file id) it triggers, how long it runs, what it needs."""

    name: str
    file_id: int
    duration: float
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    """A pipeline's jobs in dependency order (every job after the jobs it needs)."""

    name: str
    jobs: tuple[WorkJob, ...]

    def by_name(self) -> dict[str, WorkJob]:
        """The jobs keyed by name."""
        return {job.name: job for job in self.jobs}


def layered(
    levels: int,
    width: int,
    *,
    durations: tuple[float, float] = (1.0, 3.0),
    fan_in: tuple[int, int] = (1, 3),
    seed: int = 7,
) -> Workload:
    """``levels`` levels of ``width`` jobs, each needing ``fan_in`` jobs of the level before."""
    rng = random.Random(seed)
    jobs: list[WorkJob] = []
    for level in range(levels):
        for index in range(width):
            needs: tuple[str, ...] = ()
            if level:
                count = min(width, rng.randint(*fan_in))
                needs = tuple(_name(level - 1, i) for i in sorted(rng.sample(range(width), count)))
            duration = round(rng.uniform(*durations), 3)
            jobs.append(WorkJob(_name(level, index), level * width + index + 1, duration, needs))
    return Workload(f"layered-{levels}x{width}", tuple(jobs))


def chain(length: int, *, durations: tuple[float, float] = (1.0, 3.0), seed: int = 7) -> Workload:
    """``length`` jobs, each needing the one before."""
    steps = layered(length, 1, durations=durations, fan_in=(1, 1), seed=seed)
    return Workload(f"chain-{length}", steps.jobs)


def independent(count: int, duration: float) -> Workload:
    """``count`` jobs with no needs, all lasting ``duration``."""
    jobs = tuple(WorkJob(_name(0, i), i + 1, duration) for i in range(count))
    return Workload(f"independent-{count}", jobs)


def _name(level: int, index: int) -> str:
    return f"job_{level:03d}_{index:03d}"


def critical_path(workload: Workload) -> tuple[float, tuple[str, ...]]:
    """The longest chain by summed duration (the makespan's lower bound) and its jobs."""
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    for job in workload.jobs:  # dependency order: every need is already done
        latest = max(job.needs, key=lambda need: finish[need], default=None)
        finish[job.name] = job.duration + (finish[latest] if latest else 0.0)
        before[job.name] = latest
    if not finish:
        return 0.0, ()
    last: str | None = max(finish, key=lambda name: finish[name])
    total = finish[last] if last else 0.0
    path: list[str] = []
    while last is not None:
        path.append(last)
        last = before[last]
    return total, tuple(reversed(path))


def write_pipeline(
    workload: Workload, folder: Path, args: argparse.Namespace, mode: str = "client"
) -> Path:
    """Write ``folder/pipeline.yaml``; ``args`` give the poll intervals in emulated seconds,
    turned into real ones by ``args.time_scale`` (the emulator's clock runs that much faster)."""
    path = folder / "pipeline.yaml"
    text = pipeline_yaml(
        workload,
        poll_interval=args.poll_interval / args.time_scale,
        max_poll_interval=args.max_poll_interval / args.time_scale,
        mode=mode,
    )
    path.write_text(text, encoding="utf-8")
    return path


def pipeline_yaml(
    workload: Workload,
    *,
    poll_interval: float,
    max_poll_interval: float,
    mode: str = "client",
) -> str:
    """The pipeline file of ``workload`` (intervals in real seconds, no server: pass it)."""
    lines = [
        "version: 1",
        f"name: {workload.name}",
        f"mode: {mode}",
        "defaults: {retry: {retries: 0}}",
        f"policies: {{poll_interval: {poll_interval!r}, max_poll_interval: {max_poll_interval!r}}}",
        "jobs:",
    ]
    for job in workload.jobs:
        needs = f", needs: [{', '.join(job.needs)}]" if job.needs else ""
        lines.append(f"  {job.name}: {{file_id: {job.file_id}{needs}}}")
    return "\n".join(lines) + "\n"


def scenario(workload: Workload, *, time_scale: float, downstream: bool = False) -> dict[str, Any]:
    """The emulator scenario serving ``workload``: one artifact per job, no queue time.

    ``downstream`` links each artifact to the jobs that need it, so that Datameer's
    sequential trigger runs the chain (sequential mode).
    """
    dependants: dict[str, list[int]] = {job.name: [] for job in workload.jobs}
    for job in workload.jobs:
        for need in job.needs:
            dependants[need].append(job.file_id)
    artifacts = []
    for job in workload.jobs:
        artifact: dict[str, Any] = {
            "file_id": job.file_id,
            "duration": job.duration,
            "queue_time": 0,
        }
        if downstream and dependants[job.name]:
            artifact["downstream"] = dependants[job.name]
        artifacts.append(artifact)
    return {
        "description": f"benchmark: {workload.name}",
        "version": "7.5.2",
        "clock": "real",
        "time_scale": time_scale,
        "users": {USER: {"password": PASSWORD}},
        "artifacts": artifacts,
    }


def scenario_text(mapping: Mapping[str, Any]) -> str:
    """A scenario as file text (JSON is YAML, and much faster to write for 2,000 artifacts)."""
    return json.dumps(mapping, indent=1) + "\n"
