"""Running a pipeline without a server: the in-process emulator ``dmpipe run --emulator`` uses.

The scenario is the pipeline's own ``emulator:`` (inline, or a file next to it);
without one, ``runner.emulator.derive`` makes one up from the jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from runner.model import Pipeline

if TYPE_CHECKING:
    from runner.emulator import EmulatorServer


@contextmanager
def pipeline_emulator(pipeline: Pipeline) -> Iterator[tuple[EmulatorServer, str, str]]:
    """Start the pipeline's emulator; yields the server, a user name and its password."""
    from runner.emulator import EmulatorServer, load_scenario, scenario_from_dict
    from runner.emulator.derive import derive_scenario
    from runner.emulator.loading import scenario_in_pipeline

    source = pipeline.emulator_scenario
    if isinstance(source, str):
        scenario = load_scenario(source)
    elif source is not None:
        scenario = scenario_in_pipeline(dict(source), pipeline.path)
    else:
        scenario = scenario_from_dict(derive_scenario(pipeline), source="derived from the jobs")
    user, password = scenario.first_user()
    with EmulatorServer(scenario) as server:
        yield server, user, password
