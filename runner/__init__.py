"""dmpipe: run Datameer job pipelines declared in YAML.

The package is a library first; ``dmpipe`` (``runner.commands``) is a thin command
line on top of it.  The supported names are the ones in ``__all__``::

    import runner

    outcome = runner.run_file("pipeline.yaml", runner.RunOptions(emulator=True))
    outcome.exit_code      # 0: every job this run watched succeeded
    outcome.report_path    # the run's report.json

They are imported on first use, so ``import runner`` stays cheap.  Everything else
(``runner.engine``, ``runner.spec``, ...) may change between releases; see
``docs/library.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.lazy import lazy_names

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    # Running a pipeline
    "run_file": "runner.launch",
    "run_job": "runner.launch",
    "RunOptions": "runner.launch",
    "RunOutcome": "runner.engine.driver",
    "EngineOptions": "runner.engine.options",
    "RunEvent": "runner.engine.events",
    "EventSink": "runner.engine.events",
    "JobOutcome": "runner.engine.outcome",
    "JobState": "runner.engine.outcome",
    # The pipeline file
    "load_pipeline": "runner.spec",
    "load_pipeline_text": "runner.spec",
    "Pipeline": "runner.model",
    "Job": "runner.model",
    "Mode": "runner.model",
    "ServerSettings": "runner.model",
    "JobRef": "runner.reference",
    # The Datameer server, real or emulated
    "DatameerClient": "runner.datameer.client",
    "JobStatus": "runner.datameer.status",
    "EmulatorServer": "runner.emulator",
    "load_scenario": "runner.emulator",
    # Errors: every one dmpipe raises is a DmpipeError with a user-facing message
    "DmpipeError": "runner.errors",
    "UsageError": "runner.errors",
    "PipelineFileError": "runner.errors",
    "ScenarioError": "runner.errors",
    "ApiError": "runner.errors",
    "AuthenticationError": "runner.errors",
    "NotFoundError": "runner.errors",
    "OutcomeUnknownError": "runner.errors",
    "RunError": "runner.errors",
}

__all__ = [
    "ApiError",
    "AuthenticationError",
    "DatameerClient",
    "DmpipeError",
    "EmulatorServer",
    "EngineOptions",
    "EventSink",
    "Job",
    "JobOutcome",
    "JobRef",
    "JobState",
    "JobStatus",
    "Mode",
    "NotFoundError",
    "OutcomeUnknownError",
    "Pipeline",
    "PipelineFileError",
    "RunError",
    "RunEvent",
    "RunOptions",
    "RunOutcome",
    "ScenarioError",
    "ServerSettings",
    "UsageError",
    "__version__",
    "load_pipeline",
    "load_pipeline_text",
    "load_scenario",
    "run_file",
    "run_job",
]

if TYPE_CHECKING:
    from runner.datameer.client import DatameerClient
    from runner.datameer.status import JobStatus
    from runner.emulator import EmulatorServer, load_scenario
    from runner.engine.driver import RunOutcome
    from runner.engine.events import EventSink, RunEvent
    from runner.engine.options import EngineOptions
    from runner.engine.outcome import JobOutcome, JobState
    from runner.errors import (
        ApiError,
        AuthenticationError,
        DmpipeError,
        NotFoundError,
        OutcomeUnknownError,
        PipelineFileError,
        RunError,
        ScenarioError,
        UsageError,
    )
    from runner.launch import RunOptions, run_file, run_job
    from runner.model import Job, Mode, Pipeline, ServerSettings
    from runner.reference import JobRef
    from runner.spec import load_pipeline, load_pipeline_text


__getattr__ = lazy_names("runner", _EXPORTS, globals())


def __dir__() -> list[str]:
    """The public names (``dir(runner)``), not the package's internals."""
    return list(__all__)
