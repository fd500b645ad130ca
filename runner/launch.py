"""``dmpipe run`` as a library call: load, select, connect, choose the mode, run, report."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from runner.engine.api import EngineOptions, JobApi
from runner.engine.events import EventSink
from runner.engine.journal import JOURNAL_NAME, read_journal
from runner.engine.run import RunOutcome, RunRequest, run_pipeline
from runner.errors import UsageError
from runner.model import Mode, Pipeline, ServerSettings

log = logging.getLogger("runner")


@dataclass(frozen=True)
class RunOptions:
    """What the command line can change about a run."""

    mode: Mode | None = None
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    report_dir: Path | None = None
    resume_dir: Path | None = None
    server: ServerSettings = field(default_factory=ServerSettings)
    emulator: bool = False
    engine: EngineOptions = field(default_factory=EngineOptions)


def run_file(
    path: Path | None,
    options: RunOptions,
    events: EventSink,
    cancelled: threading.Event | None = None,
) -> RunOutcome:
    """Run the pipeline in ``path`` (or the one a ``--resume`` directory ran)."""
    from runner.graph import select
    from runner.plan import choose_mode
    from runner.report.publish import publish_reports
    from runner.spec import load_pipeline

    path = path or _resumed_file(options.resume_dir)
    selection = select(
        load_pipeline(path, variables=options.variables), options.select, options.exclude
    )
    pipeline = selection.pipeline
    choice = choose_mode(pipeline, selection=selection, override=options.mode)
    for warning in choice.warnings:
        log.warning("%s", warning)
    report_dir = options.resume_dir or options.report_dir or default_report_dir(pipeline)
    with connect(pipeline, options) as (api, url):
        request = RunRequest(
            mode=choice.mode,
            mode_reason=choice.reason,
            report_dir=report_dir,
            server_url=url,
            resume=options.resume_dir is not None,
            options=options.engine,
        )
        try:
            return run_pipeline(pipeline, api, request, events, cancelled=cancelled)
        finally:  # also when the run failed: the report it wrote is what users open then
            publish_reports(report_dir, os.environ)


def default_report_dir(pipeline: Pipeline) -> Path:
    """``./dmpipe-runs/<pipeline>-<timestamp>/``."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    return Path("dmpipe-runs") / f"{pipeline.name}-{stamp}"


def _resumed_file(resume_dir: Path | None) -> Path:
    if resume_dir is None:
        raise UsageError("dmpipe run needs a pipeline FILE (or --resume DIR)")
    for record in read_journal(resume_dir / JOURNAL_NAME):
        file = (record.get("data") or {}).get("file")
        if record.get("kind") == "run_started" and file:
            return Path(str(file))
    raise UsageError(f"--resume: {resume_dir} does not say which pipeline file it ran; pass FILE")


@contextmanager
def connect(pipeline: Pipeline, options: RunOptions) -> Iterator[tuple[JobApi, str]]:
    """The API client for the run: the real server, or an in-process emulator."""
    from runner.client import DatameerClient
    from runner.credentials import resolve_server
    from runner.offline import pipeline_emulator

    if options.emulator:
        with pipeline_emulator(pipeline) as (server, user, password):
            client = DatameerClient(server.url, user=user, password=password)
            with client:
                yield client, server.url
        return
    settings = resolve_server(
        options.server.url,
        options.server.user,
        settings=pipeline.server.overridden_by(options.server),
    )
    if not settings.verify_tls:
        log.warning("TLS certificate verification is off: the server's identity is not checked")
    with DatameerClient.from_settings(settings) as client:
        yield client, client.base_url
