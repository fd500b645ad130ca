"""``dmpipe run`` as a library call: load, select, connect, choose the mode, run, report.

``run_file`` is the supported entry point for programs that embed dmpipe (see
``docs/library.md``).  It reads nothing from the process: the environment it consults
(``DATAMEER_*`` settings, ``${env.NAME}`` in the pipeline, ``GITHUB_STEP_SUMMARY``) is
``RunOptions.environ``, which is empty unless the caller passes one; ``dmpipe run``
passes ``os.environ``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.cancel import relayed
from runner.datameer.protocol import JobApi
from runner.engine.events import EventKind, EventSink, RunEvent
from runner.engine.identity import (
    RunIdentity,
    artifact_changes,
    artifact_reference,
    differences,
    normal_server,
    pipeline_sha256,
    server_difference,
)
from runner.engine.journal import (
    JOURNAL_NAME,
    matching_artifacts,
    read_journal,
    record_kind,
    resume_jobs,
    run_started_records,
)
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from runner.engine.preflight import Call, start_preflight
from runner.errors import EXIT_OK, UsageError
from runner.model import Mode, Pipeline, ServerSettings
from runner.reference import JobRef
from runner.rundir import (
    LOCK_NAME,
    RUNS_FOLDER,
    archive_run,
    create_run_dir,
    describe_run,
    holds_run,
    latest_names,
    locked,
    new_run_id,
    point_latest,
    refuse_reuse,
    resolve_run_dir,
)

if TYPE_CHECKING:
    from runner.clock import Clock
    from runner.engine.driver import RunOutcome, RunRequest
    from runner.plan.mode import ModeChoice
    from runner.report.writer import RunFacts

log = logging.getLogger("runner")


@dataclass(frozen=True)
class RunOptions:
    """What a caller (the command line, a scheduler, a test) can change about a run."""

    mode: Mode | None = None
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    report_dir: Path | None = None
    resume_dir: Path | None = None
    # A fresh run: archive an earlier run found in report_dir.  A resume: accept a changed
    # pipeline (only jobs whose artifact is unchanged keep their executions).
    force: bool = False
    server: ServerSettings = field(default_factory=ServerSettings)
    emulator: bool = False
    engine: EngineOptions = field(default_factory=EngineOptions)
    # The environment the run reads: DATAMEER_URL/USER/PASSWORD/CA_BUNDLE/INSECURE,
    # ${env.NAME} in the pipeline file, GITHUB_STEP_SUMMARY.  Nothing is read from the
    # process itself; the command line passes os.environ.
    environ: Mapping[str, str] = field(default_factory=dict)
    # Where a run without ``report_dir`` gets its own directory ``<runs_dir>/<run id>``.
    runs_dir: Path = RUNS_FOLDER
    # Before the first trigger, learn each job's usual duration from the server's history
    # (GETs only, a few per job): the live view's ETA and the report's "slower than usual".
    learn_durations: bool = False
    # The time the run waits on and stamps its events with; None: real time
    # (runner.clock.SystemClock).  A VirtualClock runs a test's poll intervals and retry
    # delays without waiting for them.
    clock: Clock | None = None


def _ignore(event: RunEvent) -> None:
    """The event sink of a caller that listens to none."""


def run_file(
    path: str | Path | None,
    options: RunOptions | None = None,
    events: EventSink | None = None,
    cancelled: threading.Event | None = None,
) -> RunOutcome:
    """Run the pipeline in ``path``, or continue the run a ``--resume`` directory holds.

    ``events`` hears every transition of the run (``RunEvent``); ``cancelled``, once set,
    stops the jobs the run started and still writes the report (exit code 130).  The run
    directory is locked for the whole run; a fresh run never writes into a directory
    holding another run, a resume only continues the run its directory holds.  Raises a
    ``DmpipeError`` (its ``exit_code`` says which) for what keeps the run from starting.
    """
    options = options or RunOptions()
    events = events or _ignore
    path = Path(path) if path is not None else None
    with relayed(cancelled) as stop:  # the caller may set ``cancelled`` from a signal handler
        if options.resume_dir is not None:
            return _resume(path, options, resolve_run_dir(options.resume_dir), events, stop)
        if path is None:
            raise UsageError("dmpipe run needs a pipeline FILE (or --resume DIR)")
        return _fresh(_load(path, options), events, stop)


def run_job(
    ref: JobRef | int | str,
    options: RunOptions | None = None,
    events: EventSink | None = None,
    cancelled: threading.Event | None = None,
    *,
    timeout: float | None = None,
) -> RunOutcome:
    """Trigger the artifact ``ref`` once and watch it to the end (``dmpipe job trigger
    --wait``): a one-job pipeline, made in memory, run in client mode under the whole run
    contract — one trigger per attempt, a lost answer looked for and never re-sent blindly,
    ``cancelled`` stops the execution it started — with a run directory like ``run_file``'s.
    ``timeout`` (seconds) stops the job and fails it when it runs longer.  ``ref`` may
    also be a file id, uuid or path as ``JobRef.parse`` reads it; one that names nothing
    is a ``UsageError``.
    """
    from runner.model import Job, RunPolicies
    from runner.plan.mode import ModeChoice

    if not isinstance(ref, JobRef):
        try:
            ref = JobRef.parse(ref)
        except ValueError as error:
            raise UsageError(f"run_job: {error}") from None
    options = replace(options or RunOptions(), mode=Mode.CLIENT, select=(), exclude=())
    name = _slug(ref.describe())
    job = Job(name=name, ref=ref, timeout=timeout)
    pipeline = Pipeline(
        name=f"trigger-{name}",
        path=f"dmpipe job trigger --wait {ref.value}",
        version=1,
        jobs={name: job},
        mode=Mode.CLIENT,
        variables=dict(options.variables),
        policies=RunPolicies(),
    )
    choice = ModeChoice(Mode.CLIENT, "dmpipe job trigger --wait triggers one job and watches it")
    with relayed(cancelled) as stop:  # the caller may set ``cancelled`` from a signal handler
        return _fresh(_Loaded(pipeline, pipeline, choice, options), events or _ignore, stop)


def _slug(text: str) -> str:
    """``file 48`` → ``file-48``: a name fit for a job and a run directory."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "job"


def _fresh(loaded: _Loaded, events: EventSink, cancelled: threading.Event | None) -> RunOutcome:
    """A new run of ``loaded`` in its own (locked) run directory."""
    options = loaded.options
    report_dir = options.report_dir or create_run_dir(loaded.pipeline.name, options.runs_dir)
    with locked(report_dir, loaded.pipeline.name):
        _claim(report_dir, force=options.force)
        if options.report_dir is None:
            _point_latest(loaded.pipeline.name, report_dir)
        with connect(loaded.pipeline, options) as server:
            # The first call goes out now and, once it is answered (a refused login is then
            # still one request), the client's version look: the engine loads (request()
            # below) while the server answers both.
            preflight = start_preflight(server.api.list_running, then=server.version_look)
            # A default directory is named after its run; any other gets a run id of its own.
            run_id = report_dir.name if options.report_dir is None else None
            identity = loaded.identity(run_id or new_run_id(loaded.pipeline.name), server.url)
            request = loaded.request(report_dir, server, identity, resume=False)
            pipeline = loaded.pipeline
            if options.learn_durations:
                pipeline = _with_usual_durations(pipeline, server.api, cancelled)
            return _run(pipeline, server.api, request, events, cancelled, options, preflight)


def _with_usual_durations(
    pipeline: Pipeline, api: JobApi, cancelled: threading.Event | None
) -> Pipeline:
    """``pipeline`` with each job's estimate the median of its last successful runs, where
    the server's history has some (``--learn-durations``)."""
    from runner.datameer.client import DatameerClient
    from runner.plan.learned import learn_durations, with_learned_estimates

    if not isinstance(api, DatameerClient):  # a test double has no history to read
        return pipeline
    learned = learn_durations(api, pipeline, cancelled=cancelled)
    for found in learned.values():
        if found.note:
            log.info("%s: no usual duration: %s", found.job, found.note)
    return with_learned_estimates(pipeline, learned)


def _point_latest(pipeline_name: str, run_dir: Path) -> None:
    """Point ``latest`` and ``<pipeline>-latest`` at the new run; a failure is only a warning."""
    for name in latest_names(pipeline_name):
        try:
            point_latest(run_dir.parent, name, run_dir)
        except OSError as error:
            log.warning("could not point %s at %s: %s", run_dir.parent / name, run_dir, error)


@dataclass(frozen=True)
class _Loaded:
    """A pipeline file loaded and restricted to the selection, with its mode chosen."""

    full: Pipeline
    pipeline: Pipeline
    choice: ModeChoice
    options: RunOptions

    def identity(self, run_id: str, server_url: str | None) -> RunIdentity:
        """What this run runs, for the journal and for a resume to compare."""
        return RunIdentity(
            run_id=run_id,
            pipeline=self.full.name,
            file=str(Path(self.full.path).resolve()),
            sha256=pipeline_sha256(self.full),
            artifacts={name: artifact_reference(job) for name, job in self.pipeline.jobs.items()},
            select=self.options.select,
            exclude=self.options.exclude,
            mode=self.choice.mode.value,
            mode_override=self.options.mode.value if self.options.mode else None,
            server=normal_server(server_url),
            variables=tuple(sorted(self.options.variables)),
        )

    def request(
        self, report_dir: Path, server: Connection, identity: RunIdentity, *, resume: bool
    ) -> RunRequest:
        """The engine's request for this run."""
        from runner.engine.driver import RunRequest  # after connect(): see there

        return RunRequest(
            mode=self.choice.mode,
            mode_reason=self.choice.reason,
            report_dir=report_dir,
            server_url=server.url,
            resume=resume,
            options=self.options.engine,
            identity=identity.to_data(),
            facts=self.facts(server),
        )

    def facts(self, server: Connection) -> RunFacts:
        """The run's context for its report; secret-looking variables masked."""
        from runner.plan.masking import masked_variables
        from runner.report.writer import RunFacts

        options = self.options
        return RunFacts(
            server_user=server.user,
            os_user=os_user(),
            profile=server.profile,
            emulator=options.emulator,
            mode_requested=(options.mode or self.full.mode).value,
            select=options.select,
            exclude=options.exclude,
            variables=masked_variables(self.pipeline.variables, [server.password]),
            warnings=self.choice.warnings,
        )


def _load(path: Path, options: RunOptions) -> _Loaded:
    from runner.graph import select
    from runner.plan import choose_mode
    from runner.spec import load_pipeline

    full = load_pipeline(
        path, env=options.environ, variables=options.variables, emulator=options.emulator
    )
    selection = select(full, options.select, options.exclude)
    choice = choose_mode(selection.pipeline, selection=selection, override=options.mode)
    for warning in choice.warnings:
        log.warning("%s", warning)
    return _Loaded(full, selection.pipeline, choice, options)


def _run(
    pipeline: Pipeline,
    api: JobApi,
    request: RunRequest,
    events: EventSink,
    cancelled: threading.Event | None,
    options: RunOptions,
    preflight: Call | None = None,
) -> RunOutcome:
    from runner.engine.driver import run_pipeline

    try:
        return run_pipeline(
            pipeline,
            api,
            request,
            events,
            clock=options.clock,
            cancelled=cancelled,
            preflight=preflight,
        )
    finally:  # also when the run failed: the report it wrote is what users open then
        _publish(request.report_dir, options.environ)


def _claim(report_dir: Path, *, force: bool) -> None:
    """Make ``report_dir`` the fresh run's own: refuse one an earlier run used, or with
    ``--force`` move that run's files aside."""
    if not force:
        refuse_reuse(report_dir)
        return
    what = describe_run(report_dir) if holds_run(report_dir) else "files"
    archive = archive_run(report_dir)
    if archive is not None:
        log.warning("--force: moved the %s found in %s to %s", what, report_dir, archive)


def _resume(
    path: Path | None,
    options: RunOptions,
    run_dir: Path,
    events: EventSink,
    cancelled: threading.Event | None,
) -> RunOutcome:
    """Continue the run recorded in ``run_dir``, holding its lock throughout."""
    if (run_dir / LOCK_NAME).is_file() and not (run_dir / JOURNAL_NAME).exists():
        raise UsageError(
            f"--resume: {run_dir} has no journal: the run there ended before it triggered "
            "anything, so there is nothing to resume; run the pipeline again"
        )
    # Before taking the lock: is it a run directory?
    if len(read_journal(run_dir / JOURNAL_NAME)) == 1 and path is None:
        # Only the journal's header: the run was killed before it recorded its start, and
        # every trigger is recorded before it is sent.
        raise UsageError(
            f"--resume: {run_dir}: the run there ended before it triggered anything (its "
            "journal records no run), so there is nothing to resume; run the pipeline again"
        )
    if options.emulator:
        raise UsageError(
            "--resume with --emulator: the in-process emulator, and every execution on it, "
            "ended with the run it served; start a new run instead"
        )
    with locked(run_dir, _recorded_name(run_dir)):
        records = read_journal(run_dir / JOURNAL_NAME)  # now final: nobody else writes it
        recorded = _recorded_identity(records)
        file = path or _recorded_file(records, run_dir)
        options = _with_recorded_choices(options, recorded)
        loaded = _load(file, options)
        with connect(loaded.pipeline, options) as server:
            run_id = recorded.run_id if recorded else new_run_id(loaded.pipeline.name)
            current = loaded.identity(run_id, server.url)
            _check_identity(run_dir, recorded, current, force=options.force)
            _warn_left_behind(records, recorded, current)
            # Records written before a run_started naming the same artifact are not used:
            # with --force, a job whose artifact changed (or was never recorded) runs afresh.
            request = loaded.request(run_dir, server, current, resume=True)
            done = _already_done(loaded, records, recorded, current, request)
            if done is not None:
                events(done[1])
                return done[0]
            return _run(loaded.pipeline, server.api, request, events, cancelled, options)


def _recorded_name(run_dir: Path) -> str:
    for data in run_started_records(read_journal(run_dir / JOURNAL_NAME)):
        if data.get("pipeline"):
            return str(data["pipeline"])
    return run_dir.name


def _recorded_identity(records: list[dict[str, Any]]) -> RunIdentity | None:
    """The identity of the journal's latest run or resume (None: an older dmpipe wrote it)."""
    started = run_started_records(records)
    return RunIdentity.from_data(started[-1]) if started else None


def _recorded_file(records: list[dict[str, Any]], run_dir: Path) -> Path:
    for data in reversed(run_started_records(records)):
        if data.get("file"):
            return Path(str(data["file"]))
    raise UsageError(f"--resume: {run_dir} does not say which pipeline file it ran; pass FILE")


def _with_recorded_choices(options: RunOptions, recorded: RunIdentity | None) -> RunOptions:
    """The run's --select, --exclude and --mode, where the resume's command line gives none."""
    if recorded is None:
        return options
    if not options.select and not options.exclude:
        options = replace(options, select=recorded.select, exclude=recorded.exclude)
    if options.mode is None and recorded.mode_override:
        options = replace(options, mode=Mode(recorded.mode_override))
    return options


def _check_identity(
    run_dir: Path, recorded: RunIdentity | None, current: RunIdentity, *, force: bool
) -> None:
    """Refuse to resume with anything but what the directory's run ran (``--force``: accept
    a changed pipeline; only jobs whose artifact is unchanged keep their executions)."""
    if recorded is None:
        if force:
            log.warning("--force: %s records no pipeline identity; every job runs afresh", run_dir)
            return
        raise UsageError(
            f"--resume: {run_dir} was written by an older dmpipe and does not record what it "
            "ran; use --resume --force to run every job of it afresh, or a new --report-dir"
        )
    server = server_difference(recorded, current)
    if server is not None:
        raise UsageError(
            f"--resume: {run_dir} cannot be resumed here: {server}; its executions are on that "
            "server (start a new run with another --report-dir)"
        )
    found = differences(recorded, current)
    if not found:
        return
    if not force:
        raise UsageError(
            f"--resume: {run_dir} holds another run: {'; '.join(found)}; "
            "use --resume --force to continue it with this pipeline, or a new --report-dir"
        )
    changed = artifact_changes(recorded.artifacts, current.artifacts)
    log.warning(
        "--force: resuming %s despite: %s%s",
        run_dir,
        "; ".join(found),
        "; jobs whose artifact changed run afresh" if changed else "",
    )


def _warn_left_behind(
    records: list[dict[str, Any]], recorded: RunIdentity | None, current: RunIdentity
) -> None:
    """Name the executions still in flight for an artifact a job no longer refers to: the
    resumed run does not watch them (they are not what the pipeline asks for any more)."""
    if recorded is None or recorded.artifacts == current.artifacts:
        return
    changed = [job for job, ref in recorded.artifacts.items() if current.artifacts.get(job) != ref]
    for name, job in resume_jobs(records, changed).items():
        if job.in_flight is not None:
            what = f"execution {job.in_flight} of job {name}"
            hint = f"stop it with `dmpipe job stop --legacy {job.in_flight}`"
        elif job.unresolved_trigger:
            what = f"a trigger of job {name} whose answer was lost"
            hint = "check with `dmpipe job running`"
        else:
            continue
        log.warning(
            "--force: %s (%s) may still be running and is no longer watched; %s if it must "
            "not finish",
            what,
            recorded.artifacts.get(name),
            hint,
        )


def _already_done(
    loaded: _Loaded,
    records: list[dict[str, Any]],
    recorded: RunIdentity | None,
    current: RunIdentity,
    request: RunRequest,
) -> tuple[RunOutcome, RunEvent] | None:
    """The outcome of a resume with nothing left to do (every job succeeded), or None.

    Nothing is sent to the server; the report is written again only when the run died
    before writing its own.
    """
    from runner.engine.driver import RunOutcome
    from runner.report.writer import REPORT_NAME, RunSummary, build_report, write_report

    pipeline = loaded.pipeline
    kept = matching_artifacts(records, request.identity.get("artifacts"))
    states = {name: job.state for name, job in resume_jobs(kept, list(pipeline.jobs)).items()}
    succeeded = all(s.outcome is JobOutcome.SUCCEEDED for s in states.values())
    if not succeeded and not (recorded == current and _finished_ok(records)):
        return None
    now = datetime.now().astimezone()
    summary = RunSummary(
        EXIT_OK, False, False, loaded.choice.runs_as.value, "nothing left to resume", now, now
    )
    report = request.report_dir / REPORT_NAME
    if _report_exit_code(report) != EXIT_OK:
        document = build_report(
            pipeline, states, summary, server_url=request.server_url, facts=request.facts
        )
        write_report(request.report_dir, document)
        _publish(request.report_dir, loaded.options.environ)
    message = (
        f"{request.report_dir}: run {current.run_id} already succeeded "
        f"({len(states)} job(s)); nothing to resume — report {report}"
    )
    event = RunEvent(now, EventKind.RUN_FINISHED, message=message, data={"exit_code": EXIT_OK})
    return RunOutcome(EXIT_OK, states, report, summary), event


def _finished_ok(records: list[dict[str, Any]]) -> bool:
    """True when the journal's last run or resume finished with exit code 0."""
    for record in reversed(records):
        kind = record_kind(record)
        if kind is EventKind.RUN_STARTED:
            return False
        if kind is EventKind.RUN_FINISHED:
            return (record.get("data") or {}).get("exit_code") == EXIT_OK
    return False


def _report_exit_code(report: Path) -> object:
    try:
        return json.loads(report.read_text(encoding="utf-8")).get("exit_code")
    except (OSError, ValueError, AttributeError):
        return None


def _publish(report_dir: Path, environ: Mapping[str, str]) -> None:
    """Render the derived reports of ``report_dir`` (never raises; see publish_reports)."""
    from runner.report.publish import publish_reports

    publish_reports(report_dir, environ)


@dataclass(frozen=True)
class Connection:
    """The API client of a run and who it connects as (the password only masks variables).

    ``version_look`` asks the server's version ahead of the first call that needs it
    (``DatameerClient.look_up_version_ahead``): a fresh run calls it once its first call
    is answered."""

    api: JobApi
    url: str
    user: str | None = None
    profile: str | None = None
    password: str | None = field(default=None, repr=False)
    version_look: Callable[[], object] | None = None


def os_user() -> str | None:
    """The account running dmpipe, from the operating system (not the environment)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):  # no pwd module (Windows), or no entry
        return None


@contextmanager
def connect(pipeline: Pipeline, options: RunOptions) -> Iterator[Connection]:
    """The API client for the run: the real server, or an in-process emulator.

    Called before the engine is imported (``runner.engine.driver`` is imported on first
    use): a fresh run's first calls go out while the rest of the start-up runs."""
    from runner.datameer.client import DatameerClient
    from runner.datameer.credentials import resolve_server

    if options.emulator:
        from runner.emulator.embedded import pipeline_emulator  # only for --emulator

        wanted = pipeline.server.overridden_by(options.server)
        with pipeline_emulator(pipeline) as (server, user, password):
            client = DatameerClient(
                server.url,
                user=user,
                password=password,
                detect_version=True,
                version=wanted.version,
                path_encoding=wanted.path_encoding,
                configurations=configurations_of(pipeline),
            )
            with client:
                yield Connection(
                    client, server.url, user, None, password, client.look_up_version_ahead
                )
        return
    from runner.profiles import server_settings

    chosen = server_settings(pipeline.server, options.server, options.environ)
    settings = resolve_server(env=options.environ, settings=chosen)
    if not settings.verify_tls:
        log.warning("TLS certificate verification is off: the server's identity is not checked")
    with DatameerClient.from_settings(
        settings, detect_version=True, configurations=configurations_of(pipeline)
    ) as client:
        yield Connection(
            client,
            client.base_url,
            settings.user,
            chosen.profile,
            settings.password,
            client.look_up_version_ahead,
        )


def configurations_of(pipeline: Pipeline) -> dict[JobRef, int]:
    """The job-configuration id of every job that names one (for the legacy calls)."""
    return {
        job.ref: job.configuration_id
        for job in pipeline.jobs.values()
        if job.configuration_id is not None
    }
