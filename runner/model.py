"""The typed pipeline: what the loader returns and the planner and engine consume.

Every record is frozen.  Durations are seconds (float).  Per-job policies have
the pipeline's ``defaults`` already merged in, so the engine reads one place.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.reference import JobRef


class Mode(enum.Enum):
    """How a run drives its jobs (see DESIGN.md, "Execution modes")."""

    AUTO = "auto"
    SEQUENTIAL = "sequential"
    CLIENT = "client"


class When(enum.Enum):
    """When a job runs, given the outcome of the jobs it needs."""

    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    ANY_FAILED = "any_failed"


class WarningsAs(enum.Enum):
    """How ``COMPLETED_WITH_WARNINGS`` counts for a job."""

    SUCCESS = "success"
    FAILURE = "failure"


class AlreadyRunning(enum.Enum):
    """What to do when the artifact is already running, started by someone else."""

    WAIT = "wait"
    ATTACH = "attach"
    FAIL = "fail"


class OnFailure(enum.Enum):
    """What the run does when a job fails for good."""

    CANCEL = "cancel"
    FINISH_RUNNING = "finish_running"
    CONTINUE = "continue"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed job is triggered again."""

    retries: int = 0
    delay: float = 30.0
    backoff: float = 2.0
    max_delay: float = 600.0
    jitter: bool = True
    # Final outcomes that earn a retry: "ERROR", "CANCELED", "TIMEOUT".
    retry_on: frozenset[str] = frozenset({"ERROR"})


@dataclass(frozen=True)
class CounterExpectation:
    """A gate on one job-details counter, e.g. ``IMPORT_DROPPED_RECORDS == 0``."""

    counter: str
    operator: str  # one of == != > >= < <=
    value: float

    def __str__(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.counter} {self.operator} {number}"


@dataclass(frozen=True)
class Location:
    """Where something was written in the pipeline file (1-based)."""

    file: str
    line: int
    col: int


@dataclass(frozen=True)
class Job:
    """One job of a pipeline, with its policies resolved."""

    name: str
    ref: JobRef
    needs: tuple[str, ...] = ()
    when: When = When.ALL_SUCCESS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    warnings: WarningsAs = WarningsAs.SUCCESS
    already_running: AlreadyRunning = AlreadyRunning.WAIT
    expect: tuple[CounterExpectation, ...] = ()
    estimate: float | None = None
    # "file": the job's estimate: key; "history": the median of its last successful runs.
    estimate_from: str = "file"
    location: Location | None = None
    # The job configuration id, for servers without REST v2 (legacy trigger and status).
    configuration_id: int | None = None


@dataclass(frozen=True)
class ServerSettings:
    """Where the Datameer server is; the password is never printed."""

    url: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    verify_tls: bool = True
    profile: str | None = None  # the server profile these settings come from (runner.profiles)
    version: str | None = None  # the Datameer version, instead of asking the server
    path_encoding: str | None = None  # "plus" or "segment"; None: detected

    def overridden_by(self, flags: ServerSettings) -> ServerSettings:
        """These settings with every value ``flags`` gives replacing this one's (the command
        line over the file, a pipeline's ``server:`` block over the profile it names)."""
        return ServerSettings(
            url=flags.url or self.url,
            user=flags.user or self.user,
            password=flags.password or self.password,
            ca_bundle=flags.ca_bundle or self.ca_bundle,
            verify_tls=flags.verify_tls and self.verify_tls,
            profile=flags.profile or self.profile,
            version=flags.version or self.version,
            path_encoding=flags.path_encoding or self.path_encoding,
        )


@dataclass(frozen=True)
class RunPolicies:
    """Run-wide policies."""

    on_failure: OnFailure = OnFailure.CANCEL
    max_parallel: int | None = None
    timeout: float | None = None
    poll_interval: float = 2.0
    max_poll_interval: float = 30.0


@dataclass(frozen=True)
class Pipeline:
    """A whole pipeline file, validated and typed; ``jobs`` keeps the file's order."""

    name: str
    path: str
    version: int
    jobs: Mapping[str, Job]
    mode: Mode = Mode.AUTO
    server: ServerSettings = field(default_factory=ServerSettings)
    variables: Mapping[str, str] = field(default_factory=dict)
    policies: RunPolicies = field(default_factory=RunPolicies)
    # The optional ``emulator:`` scenario: an inline mapping handed as-is to
    # runner.emulator, or the absolute path of a scenario file.
    emulator_scenario: Mapping[str, Any] | str | None = None
