"""Runs on the emulator shared by the report tests (each runs once per session)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from runner.emulator import EmulatorServer
from runner.model import OnFailure
from runner.reference import JobRef
from runner.report.publish import publish_reports
from testing.emulators import build_scenario
from testing.engine_runs import artifact, job, pipeline, run, scenario
from testing.reports import MARKUP_PATH, MixedRun


def run_mixed(directory: Path) -> MixedRun:
    """Run a pipeline where a job is retried then succeeds, one fails twice (retried),
    a long one is cancelled by it, a dependant is skipped and an independent one succeeds.
    """
    server = EmulatorServer(
        build_scenario(
            scenario(
                artifact(1, duration=20, outcomes=["ERROR", "COMPLETED"]),
                artifact(2, duration=30),
                artifact(3, duration=30, outcomes=["ERROR"]),
                artifact(4, duration=100_000),
                artifact(5),
                artifact(6, duration=20),
            )
        )
    ).start()
    try:
        pipe = pipeline(
            job("extract", 1, retries=1),
            job("transform", 2, "extract"),
            job("load_bad", 3, "extract", retries=1),
            job("long_running", 4, "extract"),
            job("publish", 5, "transform", "load_bad"),
            job("other", 6),
            on_failure=OnFailure.CANCEL,
        )
        result = run(server, pipe, directory)
    finally:
        server.stop()
    return MixedRun(directory, tuple(result.events))


def run_markup(directory: Path) -> MixedRun:
    """A run whose only job names an artifact by a path full of markup; it fails."""
    server = EmulatorServer(build_scenario(scenario(artifact(1)))).start()
    try:
        ghost = dataclasses.replace(job("ghost", 1), ref=JobRef.parse(MARKUP_PATH))
        result = run(server, pipeline(ghost), directory)
    finally:
        server.stop()
    return MixedRun(directory, tuple(result.events))


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """The mixed run, with junit.xml, summary.md and report.html published next to it."""
    result = run_mixed(tmp_path_factory.mktemp("mixed"))
    publish_reports(result.directory, {})
    return result


@pytest.fixture(scope="session")
def markup_run(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """A failed run whose server-side failure message quotes markup."""
    result = run_markup(tmp_path_factory.mktemp("markup"))
    publish_reports(result.directory, {})
    return result
