"""The typed emulator scenario: what ``load_scenario`` returns and the simulation serves.

Every record is frozen.  Durations are emulated seconds.  The keys of the YAML
file, their defaults and their meaning are ``schemas/scenario.schema.json`` (and
``docs/emulator.md``); ``runner.emulator.loading`` turns a mapping into these records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("import_job", "workbook", "export_job")
OUTCOMES = ("COMPLETED", "COMPLETED_WITH_WARNINGS", "ERROR", "CANCELED")
# Final statuses a careless server may end a run with, none of them in the reference;
# "null" is served as JSON null.
UNKNOWN_OUTCOMES = ("KILLED", "FAILED", "ABORTED", "null")
SUCCESSES = ("COMPLETED", "COMPLETED_WITH_WARNINGS")
LIST_RUNNING_ANSWERS = ("html", "garbage", "huge", "429")
# The versions the emulator is known to model: 6.4 has no /api/... at all, X 11 is served
# like 7.5.2 (its documentation adds no job endpoint); any X.Y.Z works.
SUPPORTED_VERSIONS = ("6.4", "7.2.5", "7.4", "7.5.2", "11.1")
PATH_MODES = ("lenient", "strict")
PATH_ENCODINGS = ("plus", "segment")


def version_tuple(version: str) -> tuple[int, ...]:
    """``"7.5.2"`` → ``(7, 5, 2)``, for comparing server versions."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass(frozen=True)
class User:
    """A user of the emulated server; ``can`` is None when the user may use every artifact."""

    name: str
    password: str = field(repr=False)
    # File ids, uuids and path globs ("/Analytics/*") the user may see and run.
    can: tuple[int | str, ...] | None = None


@dataclass(frozen=True)
class HistoryRun:
    """An execution that existed before the emulator started (``history:`` of an artifact)."""

    status: str
    started_ago: float
    duration: float
    execution_id: int | None = None
    # For a RUNNING or QUEUED entry: the status it ends with.
    outcome: str = "COMPLETED"
    counters: Mapping[str, int] | None = None
    user: str = "admin"


@dataclass(frozen=True)
class Artifact:
    """One Datameer artifact (import job, workbook, export job) and how its runs behave."""

    file_id: int
    configuration_id: int
    uuid: str
    path: str
    name: str
    kind: str = "workbook"
    # (min, max) emulated seconds; equal bounds for a fixed duration.
    duration: tuple[float, float] = (10.0, 10.0)
    queue_time: float = 1.0
    # Outcome of run 1, 2, ...; the last one repeats.
    outcomes: tuple[str, ...] = ("COMPLETED",)
    # Counters of every successful run; None means "the kind's defaults".
    counters: Mapping[str, int] | None = None
    # Counters of run 1, 2, ... whatever its outcome (the last repeats); wins over ``counters``.
    run_counters: tuple[Mapping[str, int], ...] = ()
    downstream: tuple[int, ...] = ()
    data_driven: bool = True
    data_id: int | None = None
    data_state: str = "present"
    history: tuple[HistoryRun, ...] = ()
    # list-running quirks of the reference: entries without these keys.
    list_execution_id: bool = True
    list_estimate: bool = True

    def outcome_of_run(self, run: int) -> str:
        """The outcome of the ``run``-th triggered execution (1-based)."""
        return self.outcomes[min(run, len(self.outcomes)) - 1]

    def counters_of_run(self, run: int, outcome: str) -> Mapping[str, int]:
        """The counters job-details shows for run ``run`` that ended with ``outcome``."""
        if self.run_counters:
            return self.run_counters[min(run, len(self.run_counters)) - 1]
        if self.counters is not None and outcome in SUCCESSES:
            return self.counters
        return default_counters(self.kind, self.file_id, outcome)


def default_counters(kind: str, file_id: int, outcome: str) -> dict[str, int]:
    """Plausible counters of a run; a failed or cancelled run carries none of the usual keys."""
    if outcome not in SUCCESSES:
        return {}
    records = 1000 + 37 * file_id
    if kind == "import_job":
        return {
            "IMPORT_RECORDS": records,
            "IMPORT_BYTES": records * 48,
            "IMPORT_DROPPED_RECORDS": 0,
            "IMPORT_PREVIEW_RECORDS": min(records, 5000),
            "IMPORT_OUTPUT_BYTES": records * 50,
            "IMPORT_DROPPED_SPLITS": 0,
            "IMPORT_OUTPUT_PARTITIONS": 0,
        }
    if kind == "export_job":
        return {
            "EXPORT_RECORDS": records,
            "EXPORT_DROPPED_RECORDS": 0,
            "EXPORT_BYTES": records * 52,
        }
    return {
        "WORKBOOK_RECORDS": records,
        "WORKBOOK_DROPPED_RECORDS": 0,
        "WORKBOOK_OUTPUT_BYTES": records * 64,
    }


@dataclass(frozen=True)
class ListRunningFault:
    """Bad answers to ``GET /rest/jobs/list-running``: at ``rate``, or calls ``after``+1 ..
    ``after``+``calls`` (1-based), or both (a bad call must match every bound given)."""

    answer: str  # html | garbage | huge | 429 (without Retry-After)
    rate: float = 1.0
    after: int = 0
    calls: int | None = None


@dataclass(frozen=True)
class Faults:
    """Injected faults; every decision comes from ``random.Random(seed)`` in request order."""

    seed: int = 0
    latency: tuple[float, float] = (0.0, 0.0)  # real seconds
    error_rate: float = 0.0
    error_status: int = 500
    retry_after: float | None = None
    drop_rate: float = 0.0
    lost_trigger_rate: float = 0.0
    paths: tuple[str, ...] = ("/api/*", "/rest/*")
    # Hostile-server faults: decided from their own random sequence (seeded by ``seed``),
    # so that the three draws per request above stay the same with or without them.
    trigger_without_id: float = 0.0  # rate: 200 {"status": "success"}, no id; the job started
    reuse_execution_id: float = 0.0  # rate: the answer names the previous trigger's execution
    phantom_execution_id: float = 0.0  # rate: the answer names an execution that does not exist
    not_visible_for: float = 0.0  # emulated seconds a new execution stays out of sight
    file_ids: tuple[int, ...] = ()  # the four above only for these artifacts (empty: all)
    forbidden: tuple[int, ...] = ()  # triggers and stops of these artifacts answer 403
    list_running: ListRunningFault | None = None
    hang_after: int | None = None  # after this many API requests, stop answering

    def hits(self, file_id: int) -> bool:
        """Whether the trigger faults apply to this artifact."""
        return not self.file_ids or file_id in self.file_ids

    @property
    def active(self) -> bool:
        """True when at least one fault can happen."""
        return (
            self.latency[1] > 0
            or self.error_rate > 0
            or self.drop_rate > 0
            or self.lost_trigger_rate > 0
        )


@dataclass(frozen=True)
class Scenario:
    """A whole emulated Datameer server: version, clock, users, artifacts and faults."""

    version: str = "7.5.2"
    # Emulated seconds per real second; None when the clock only moves on ``advance``.
    time_scale: float | None = 1.0
    max_concurrent: int = 0
    status_lag: float = 0.0
    api_v2: bool = True
    # "strict": a path reference is accepted only in ``path_encoding``'s exact form.
    paths: str = "lenient"
    path_encoding: str = "plus"
    seed: int = 0
    first_execution_id: int | None = None
    users: tuple[User, ...] = (User("admin", "admin"),)
    artifacts: tuple[Artifact, ...] = ()
    faults: Faults = field(default_factory=Faults)
    source: str = "<inline>"
    # The mapping this scenario was read from, so that overrides can be re-validated.
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def first_user(self) -> tuple[str, str]:
        """Name and password of the first user the scenario lists."""
        user = self.users[0]
        return user.name, user.password

    def artifact(self, file_id: int) -> Artifact | None:
        """The artifact with this file id, if any."""
        return next((a for a in self.artifacts if a.file_id == file_id), None)

    def has(self, feature: str) -> bool:
        """Whether the emulated version offers ``feature`` (see ``FEATURES``)."""
        if feature == "api_v2" and not self.api_v2:
            return False
        version = version_tuple(self.version)
        if feature in REMOVED and version >= version_tuple(REMOVED[feature]):
            return False
        return version >= version_tuple(FEATURES.get(feature, "0"))


# The first Datameer version offering each versioned endpoint or shape.
FEATURES = {
    "api_v2": "7.2.5",  # /api/job-execution/<ref>/status|trigger|stop
    "details_7_4": "7.4",  # job-details with jobConfigurationId and file {id, uuid}
    "sequence": "7.5.2",  # POST /rest/job-execution?sequence=...
}
# The first version without an endpoint: "Read Workbook" (GET /rest/workbook/<cfg>) was
# "deprecated as of Datameer v7.0 and scheduled to be removed before v8.0"; X 10/11 document
# only /api/workbooks/<file-id>.
REMOVED = {
    "workbook_read": "8.0",
}
