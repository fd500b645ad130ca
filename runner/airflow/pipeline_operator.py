"""``DatameerPipelineOperator``: a whole pipeline file in one Airflow task.

The task runs ``runner.run_file`` — dmpipe's own engine, with batched polling and no
scheduler hop between jobs — against the server of an Airflow connection.  Each try
writes to the same run directory ``<runs_dir>/<dag_id>/<run_id>/<task_id>``, so a retry
(or a task whose worker died) *resumes* the run: executions still running are
re-attached, only what failed or never ran is triggered again.  A kill or the task's
``execution_timeout`` cancels the run: every execution it started is stopped and the
report written.  XCom: ``report_dir``, ``report`` (report.json) and ``return_value``;
the HTML report is the task's extra link "dmpipe report".
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink

import runner
from runner.airflow.datameer_hook import DEFAULT_CONN_ID, DatameerHook
from runner.engine.driver import RunOutcome
from runner.engine.events import RunEvent
from runner.engine.journal import JOURNAL_NAME
from runner.model import Mode
from runner.report import HTML_NAME

log = logging.getLogger("runner.airflow")

XCOM_REPORT_DIR = "report_dir"
XCOM_REPORT = "report"
XCOM_REPORT_HTML = "report_html"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class DatameerReportLink(BaseOperatorLink):
    """The run's HTML report: ``report_url`` + the run directory when the operator has one
    (a web server publishing ``runs_dir``), else the file on the worker."""

    name = "dmpipe report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The report's address for one task instance; empty before the task ran."""
        from airflow.sdk.execution_time.xcom import XCom

        html = XCom.get_value(ti_key=ti_key, key=XCOM_REPORT_HTML)
        if not html:
            return ""
        base = getattr(operator, "report_url", None)
        runs_dir = Path(getattr(operator, "runs_dir", "") or "")
        if base and Path(html).is_relative_to(runs_dir):
            return str(base).rstrip("/") + "/" + Path(html).relative_to(runs_dir).as_posix()
        return Path(html).as_uri()


def default_runs_dir() -> Path:
    """``$AIRFLOW_HOME/dmpipe-runs`` (``~/airflow/dmpipe-runs`` without AIRFLOW_HOME)."""
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home) / "dmpipe-runs"


class DatameerPipelineOperator(BaseOperator):
    """Run a pipeline file with dmpipe's engine in one task.

    :param pipeline: the pipeline file (templated); relative paths are taken from the
        DAG file's folder.
    :param datameer_conn_id: the Airflow connection of the server; it overrides the file's
        ``server:`` block (credentials never come from the DAG or the pipeline file).
    :param variables: workbook variables (``--var``), templated.
    :param select: / ``exclude``: as ``dmpipe run --select/--exclude``.
    :param mode: ``auto``, ``client`` or ``sequential`` (default: the file's).
    :param environ: the environment the run reads for ``${NAME}`` in the file; nothing
        is read from the worker's own environment.
    :param runs_dir: where run directories go (default ``$AIRFLOW_HOME/dmpipe-runs``).
    :param report_url: a URL under which ``runs_dir`` is served, for the extra link.
    """

    template_fields: Sequence[str] = ("pipeline", "variables", "select", "exclude")
    operator_extra_links = (DatameerReportLink(),)
    ui_color = "#c9e7d7"

    def __init__(
        self,
        *,
        pipeline: str | os.PathLike[str],
        datameer_conn_id: str = DEFAULT_CONN_ID,
        variables: Mapping[str, str] | None = None,
        select: Sequence[str] = (),
        exclude: Sequence[str] = (),
        mode: str | None = None,
        environ: Mapping[str, str] | None = None,
        runs_dir: str | os.PathLike[str] | None = None,
        report_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline = str(pipeline)
        self.datameer_conn_id = datameer_conn_id
        self.variables = dict(variables or {})
        self.select = list(select)
        self.exclude = list(exclude)
        self.mode = Mode(mode) if mode else None
        self.environ = dict(environ or {})
        self.runs_dir = str(runs_dir) if runs_dir else None
        self.report_url = report_url
        self._cancelled = threading.Event()

    def _pipeline_path(self) -> Path:
        path = Path(self.pipeline)
        if not path.is_absolute() and self.dag is not None and self.dag.fileloc:
            path = Path(self.dag.fileloc).parent / path
        return path

    def _report_dir(self, context: Any) -> Path:
        ti = context["ti"]
        runs = Path(self.runs_dir) if self.runs_dir else default_runs_dir()
        parts = [ti.dag_id, ti.run_id, ti.task_id]
        if getattr(ti, "map_index", -1) >= 0:
            parts.append(str(ti.map_index))
        return runs.joinpath(*(_UNSAFE.sub("_", part) for part in parts))

    def execute(self, context: Any) -> Any:
        """Run (or, on a retry, resume) the pipeline; fail unless every job succeeded."""
        report_dir = self._report_dir(context)
        resume = (report_dir / JOURNAL_NAME).is_file()
        settings = DatameerHook(self.datameer_conn_id).settings()
        environ = dict(self.environ)
        if settings.password is not None:
            # RunOptions.server drops its password when merged over the file's server block
            # (ServerSettings.overridden_by): hand it over the way DATAMEER_PASSWORD would.
            environ["DATAMEER_PASSWORD"] = settings.password
        options = runner.RunOptions(
            mode=self.mode,
            select=tuple(self.select),
            exclude=tuple(self.exclude),
            variables=dict(self.variables),
            server=settings,
            environ=environ,
            report_dir=None if resume else report_dir,
            resume_dir=report_dir if resume else None,
        )
        log.info(
            "%s the pipeline %s in %s",
            "resuming" if resume else "running",
            self._pipeline_path(),
            report_dir,
        )
        outcome = self._run(options)
        return self._publish(context, report_dir, outcome)

    def _run(self, options: runner.RunOptions) -> RunOutcome:
        """``run_file`` in a thread of its own: a timeout or kill raised in this thread
        cancels the run, which stops its executions and writes the report before the
        exception goes on."""
        self._cancelled.clear()
        done: dict[str, Any] = {}

        def run() -> None:
            try:
                done["outcome"] = runner.run_file(
                    self._pipeline_path(), options, _log_event, self._cancelled
                )
            except BaseException as error:  # handed to the task's thread below
                done["error"] = error

        worker = threading.Thread(target=run, name="dmpipe-run", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.5)
        except BaseException:
            self._cancelled.set()
            worker.join(60)
            raise
        if "error" in done:
            raise done["error"]
        outcome: RunOutcome = done["outcome"]
        return outcome

    def _publish(self, context: Any, report_dir: Path, outcome: RunOutcome) -> Any:
        ti = context["ti"]
        report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
        html = report_dir / HTML_NAME
        ti.xcom_push(key=XCOM_REPORT_DIR, value=str(report_dir))
        ti.xcom_push(key=XCOM_REPORT, value=report)
        if html.is_file():
            ti.xcom_push(key=XCOM_REPORT_HTML, value=str(html))
        states = {name: state.outcome.value for name, state in outcome.states.items()}
        if outcome.exit_code != 0:
            bad = sorted(n for n, s in outcome.states.items() if s.outcome.is_failure)
            from airflow.sdk.exceptions import AirflowException

            raise AirflowException(
                f"pipeline {report.get('pipeline', self.pipeline)}: exit code {outcome.exit_code}"
                + (f", failed: {', '.join(bad)}" if bad else "")
                + f" (report: {outcome.report_path})"
            )
        return {"exit_code": outcome.exit_code, "report_dir": str(report_dir), "jobs": states}

    def on_kill(self) -> None:
        """Cancel the run: it stops the executions it started and writes its report."""
        self._cancelled.set()


def _log_event(event: RunEvent) -> None:
    said = event.message or _kind(event)
    if event.job:
        log.info("%s: %s", event.job, said)
    else:
        log.info("%s", said)


def _kind(event: RunEvent) -> str:
    return str(getattr(event.kind, "value", event.kind))
