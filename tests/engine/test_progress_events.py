"""PROGRESS events on the emulator (virtual clock): a job's progress is told when it
changes, at most once per ``PROGRESS_EVERY`` seconds, and a change held back is told at
the first look past the interval; the job's attempt always keeps the latest figures."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from runner.emulator import EmulatorServer
from runner.engine.events import EventKind
from runner.engine.observer import PROGRESS_EVERY
from runner.engine.outcome import JobOutcome
from testing.engine_runs import artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
DURATION = 400.0  # emulated seconds: 4 s on the run's virtual clock, dozens of looks


def test_progress_is_told_at_most_once_a_second_and_never_left_behind(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(scenario(artifact(1, duration=DURATION), artifact(2, duration=50)))
    pipe = pipeline(job("long", 1), job("short", 2))
    result = run(server, pipe, tmp_path)

    assert result.outcome.exit_code == 0
    assert result.outcome_of("long") is JobOutcome.SUCCEEDED
    told = [e for e in result.events if e.kind is EventKind.PROGRESS and e.job == "long"]
    looks = server.stats().get("GET /rest/jobs/list-running", 0)
    ran = [e.at for e in result.events if e.job == "long" and e.kind is not EventKind.PROGRESS]
    seconds = (ran[-1] - ran[0]).total_seconds()
    # Progress changes at nearly every look; the events go out once a second, but they do.
    assert looks > 4 * seconds / PROGRESS_EVERY
    assert 3 <= len(told) <= seconds / PROGRESS_EVERY + 1
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(told)]
    assert min(gaps) >= PROGRESS_EVERY - 1e-6
    # Held back, never dropped: the next look past the interval tells it.
    assert max(gaps) <= PROGRESS_EVERY + pipe.policies.max_poll_interval + 0.05
    progress = [e.data["progress"] for e in told]
    assert progress == sorted(progress)
    assert progress[0] < progress[-1]
    # A short job is told too: its first progress goes out at once.
    assert any(e.kind is EventKind.PROGRESS and e.job == "short" for e in result.events)
