"""``DatameerJobOperator``: trigger one Datameer artifact and wait for *its* execution.

The run contract of dmpipe holds inside Airflow:

- one trigger per attempt: the execution id (or, before the POST, the artifact's newest
  execution) is saved in the task state store and pushed as XCom ``execution_id`` before
  the task defers; a retry or a task whose worker died re-attaches to a live execution
  instead of triggering again, and an unanswered trigger is looked for, never re-sent;
- nothing left behind: ``on_kill``, the task's ``execution_timeout`` (also while deferred)
  and a kill of the deferred task stop exactly that execution (by execution id);
- no false success: the task succeeds only for its own execution, finished COMPLETED (or
  with warnings, unless ``warnings="failure"``) and meeting every ``expect`` gate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from runner.airflow.datameer_hook import DEFAULT_CONN_ID, DatameerHook
from runner.airflow.execution_trigger import ERROR, FINAL, LOST, TIMEOUT, DatameerExecutionTrigger
from runner.airflow.watch import (
    RECORD_KEY,
    Record,
    Settings,
    Start,
    begin,
    details_from_data,
    details_to_data,
    job_from_parameters,
    result_payload,
    stop_execution,
    verdict,
)
from runner.datameer.client import DatameerClient
from runner.datameer.records import JobDetails
from runner.engine.outcome import JobOutcome
from runner.engine.policy import retry_kind
from runner.engine.poller import Watch, poll
from runner.model import Job, OnFailure, When
from runner.reference import JobRef

log = logging.getLogger("runner.airflow")

XCOM_EXECUTION_ID = "execution_id"
XCOM_DETAILS = "details"
_FAIL_METHOD = "__fail__"  # Airflow's next_method for a deferral that timed out or broke


class DatameerJobOperator(BaseOperator):
    """Trigger one artifact (file id, uuid or path) and wait until its execution is final.

    :param artifact: the file id (int or digits), uuid or path of the artifact (templated).
    :param datameer_conn_id: the Airflow connection of the server (type ``datameer``).
    :param expect: counter gates, as in a pipeline file: ``{"IMPORT_DROPPED_RECORDS": 0}``
        or ``{"IMPORT_RECORDS": ">= 1000"}``; a gate not met fails the task.
    :param warnings: ``success`` or ``failure``: how COMPLETED_WITH_WARNINGS counts.
    :param already_running: ``wait``, ``attach`` or ``fail`` when someone else's execution
        of the artifact is running at the first try.
    :param deferrable: wait in the triggerer (no worker slot held); False polls in the task.
    :param poll_interval: first delay between polls, in seconds; it backs off to
        ``max_poll_interval`` while nothing changes.
    :param on_failure_cancel: sibling Datameer tasks of the DAG, task id → their artifact:
        with ``on_failure="cancel"`` this task stops their running executions when it
        fails for good, and skips instead of starting when one of them failed; with
        ``"finish_running"`` it only skips (the ``on_failure`` policy of a pipeline file).
    :param job: a ``runner.model.Job`` to run instead of the parameters above (rendered
        pipelines pass the loaded job, with its retry policy).

    Returns (XCom ``return_value``) the job details: execution id, status, counters,
    success/failure counts, the outcome and the gates.
    """

    template_fields: Sequence[str] = ("artifact",)
    ui_color = "#dceefb"

    def __init__(
        self,
        *,
        artifact: int | str | JobRef | None = None,
        datameer_conn_id: str = DEFAULT_CONN_ID,
        expect: Mapping[str, float | str] | None = None,
        warnings: str = "success",
        already_running: str = "wait",
        deferrable: bool = True,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_failure_cancel: Mapping[str, int | str | JobRef] | None = None,
        on_failure: str = "cancel",
        job: Job | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if job is None and artifact is None:
            raise AirflowException(f"task {self.task_id}: give the artifact to run")
        self.artifact = job.ref if job is not None else artifact
        self.datameer_conn_id = datameer_conn_id
        self.expect = dict(expect or {})
        self.warnings = warnings
        self.already_running = already_running
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.on_failure_cancel = {
            task: ref if isinstance(ref, JobRef) else JobRef.parse(ref)
            for task, ref in (on_failure_cancel or {}).items()
        }
        self.on_failure = OnFailure(on_failure)
        self.job = job
        # A rendered job's own retries (the file's retry.retries): its task gets one Airflow
        # retry more, spent only on Airflow's own failures (a lost worker, a defer race),
        # which re-attach instead of triggering.
        self.retry_budget = job.retry.retries if job is not None else None
        self._execution_id: int | None = None
        if job is None and not _templated(artifact):
            self._job()  # a bad parameter fails when the DAG is parsed, not when it runs

    # -- what the task runs ------------------------------------------------------------------

    def _job(self) -> Job:
        if self.job is not None:
            return self.job
        assert self.artifact is not None
        return job_from_parameters(
            self.task_id,
            self.artifact,
            expect=self.expect,
            warnings=self.warnings,
            already_running=self.already_running,
        )

    def _client(self) -> DatameerClient:
        return DatameerHook(self.datameer_conn_id).get_conn()

    def execute(self, context: Any) -> Any:
        """Start (or re-attach), then wait in the triggerer or here."""
        job = self._job()
        self._skip_if_a_sibling_failed(context, job)
        ti = context["ti"]
        store = _Store(context)
        with self._client() as api:
            start = begin(
                api,
                job,
                store.load(),
                store.save,
                retrying=ti.try_number > 1,
                settings=Settings(poll_interval=self.poll_interval),
            )
            if start.finished is not None:
                return self._finish(context, job, start.finished)
            if start.error is not None:
                raise AirflowFailException(f"{job.name}: {start.error}")
            return self._wait(context, job, api, start)

    def _wait(self, context: Any, job: Job, api: DatameerClient, start: Start) -> Any:
        if start.waiting_on is not None:
            log.info(
                "%s: execution %s of another run is in the way; waiting for it",
                job.name,
                start.waiting_on,
            )
            execution_id, method = start.waiting_on, "execute_after_wait"
        else:
            assert start.execution_id is not None
            execution_id, method = start.execution_id, "execute_complete"
            verb = "re-attached to" if start.attached else "triggered"
            log.info("%s: %s execution %s of %s", job.name, verb, execution_id, job.ref.describe())
            context["ti"].xcom_push(key=XCOM_EXECUTION_ID, value=execution_id)
            self._execution_id = execution_id
        deadline = self._deadline(context)
        if self.deferrable:
            self.defer(
                trigger=DatameerExecutionTrigger(
                    conn_id=self.datameer_conn_id,
                    execution_id=execution_id,
                    poll_interval=self.poll_interval,
                    max_poll_interval=self.max_poll_interval,
                    deadline=deadline,
                    job=job.name,
                    ref_kind=job.ref.kind.value if method == "execute_complete" else "",
                    ref_value=job.ref.value,
                ),
                method_name=method,
                # Airflow's own deferral timeout is a safety net behind the trigger's deadline.
                timeout=None
                if deadline is None
                else timedelta(seconds=max(deadline - time.time(), 0) + 60),
            )
        event = self._poll_here(api, execution_id, deadline)
        return getattr(self, method)(context, event)

    def _poll_here(self, api: DatameerClient, execution_id: int, deadline: float | None) -> Any:
        """The non-deferrable wait: the same polls as the trigger, in this worker."""
        interval = self.poll_interval
        with ThreadPoolExecutor(max_workers=1) as pool:
            while True:
                tick = poll(api, [Watch(execution_id)], pool)
                if tick.refused is not None:
                    return {
                        "event": ERROR,
                        "execution_id": execution_id,
                        "message": str(tick.refused),
                    }
                seen = tick.observations.get(execution_id)
                if (
                    seen is not None
                    and seen.details is not None
                    and seen.details.status.is_terminal
                ):
                    return {
                        "event": FINAL,
                        "execution_id": execution_id,
                        "details": details_to_data(seen.details),
                    }
                if deadline is not None and time.time() >= deadline:
                    return {"event": TIMEOUT, "execution_id": execution_id}
                time.sleep(interval)
                interval = min(interval * 1.5, self.max_poll_interval)

    def _deadline(self, context: Any) -> float | None:
        if self.execution_timeout is None:
            return None
        started = context["ti"].start_date
        begun = float(started.timestamp()) if started is not None else time.time()
        return begun + float(self.execution_timeout.total_seconds())

    # -- resumed from the triggerer ------------------------------------------------------------

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> Any:
        """The trigger fired: judge the finished execution, or stop it on a timeout."""
        job = self._job()
        kind = event.get("event")
        execution_id = int(event["execution_id"]) if "execution_id" in event else None
        if kind == FINAL:
            return self._finish(context, job, details_from_data(event["details"]))
        execution_id = execution_id or _Store(context).execution_id()
        if kind == TIMEOUT:
            said = self._stop(job, execution_id)
            message = (
                f"{job.name}: timed out after {self.execution_timeout} "
                f"waiting for execution {execution_id}; {said}"
            )
            self._fail(context, job, message, retry_kind(JobOutcome.TIMED_OUT, None))
        message = event.get("message") or "no answer"
        if kind == LOST:
            said = self._stop(job, execution_id)
            raise AirflowException(
                f"{job.name}: the server does not know execution {execution_id} ({message}); {said}"
            )
        raise AirflowException(f"{job.name}: could not watch execution {execution_id}: {message}")

    def execute_after_wait(self, context: Any, event: Mapping[str, Any]) -> Any:
        """Another's execution that was in the way ended: start this task's own."""
        log.info(
            "%s: execution %s ended (%s); starting",
            self.task_id,
            event.get("execution_id"),
            event.get("event"),
        )
        if event.get("event") == TIMEOUT:
            raise AirflowFailException(
                f"{self.task_id}: timed out while another execution of the artifact ran"
            )
        return self.execute(context)

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any
    ) -> Any:
        """Airflow failed the deferral (its timeout, a broken trigger): stop the execution
        before failing."""
        if next_method == _FAIL_METHOD:
            execution_id = _Store(context).execution_id()
            if execution_id is not None:
                log.warning("%s: %s", self.task_id, self._stop(self._job(), execution_id))
        return super().resume_execution(next_method, next_kwargs, context)

    def on_kill(self) -> None:
        """The task is killed (or timed out) while running here: stop its execution."""
        if self._execution_id is not None:
            log.warning("%s: %s", self.task_id, self._stop(self._job(), self._execution_id))

    # -- endings -------------------------------------------------------------------------------

    def _finish(self, context: Any, job: Job, details: JobDetails) -> Any:
        judged = verdict(job, details)
        payload = result_payload(job, details, judged)
        if not judged.succeeded:
            context["ti"].xcom_push(key=XCOM_DETAILS, value=payload)
            message = f"{job.name}: execution {details.execution_id} failed: {judged.reason}"
            self._fail(context, job, message, retry_kind(judged.outcome, details.status))
        return payload

    def _fail(self, context: Any, job: Job, message: str, kind: str | None) -> NoReturn:
        """Fail the task: retried only when ``retry_on`` names the failure and the job's own
        retries are not spent; a failure for good cancels the siblings first."""
        ti = context["ti"]
        why = None
        if kind not in job.retry.retry_on:
            why = f"retry_on is {', '.join(sorted(job.retry.retry_on)) or 'empty'}"
        elif self.retry_budget is not None and ti.try_number > self.retry_budget:
            why = f"its {self.retry_budget} retries are spent"
        elif ti.try_number > getattr(ti, "max_tries", self.retries):
            why = "no Airflow retry left"
        if why is None:
            raise AirflowException(message)
        self._cancel_siblings(context, job)
        raise AirflowFailException(f"{message} (not retried: {why})")

    def _stop(self, job: Job, execution_id: int | None) -> str:
        if execution_id is None:
            return "no execution to stop"
        with self._client() as api:
            return stop_execution(api, job, execution_id)

    def _skip_if_a_sibling_failed(self, context: Any, job: Job) -> None:
        # As in the engine: after a failure only failure handlers (when: any_failed or
        # all_done) still start.
        if (
            not self.on_failure_cancel
            or self.on_failure is OnFailure.CONTINUE
            or job.when is not When.ALL_SUCCESS
        ):
            return
        ti = context["ti"]
        states = type(ti).get_task_states(
            dag_id=ti.dag_id, task_ids=list(self.on_failure_cancel), run_ids=[ti.run_id]
        )
        failed = sorted(
            task for task, state in states.get(ti.run_id, {}).items() if state == "failed"
        )
        if failed:
            raise AirflowSkipException(
                f"{job.name}: not started: {', '.join(failed)} failed (on_failure: cancel)"
            )

    def _cancel_siblings(self, context: Any, job: Job) -> None:
        """``on_failure: cancel``: stop the executions sibling tasks are watching."""
        if not self.on_failure_cancel or self.on_failure is not OnFailure.CANCEL:
            return
        ti = context["ti"]
        for task_id, ref in self.on_failure_cancel.items():
            execution_id = ti.xcom_pull(task_ids=task_id, key=XCOM_EXECUTION_ID)
            if execution_id is None:
                continue
            with self._client() as api:
                details = api.job_details(int(execution_id))
                if details.status.is_terminal:
                    continue
                sibling = Job(name=task_id, ref=ref)
                log.warning(
                    "%s failed (on_failure: cancel): %s: %s",
                    job.name,
                    task_id,
                    stop_execution(api, sibling, int(execution_id)),
                )


class _Store:
    """The task's Record: in the task state store (Airflow 3.3+, kept across tries)."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.store = context.get("task_state_store")

    def load(self) -> Record | None:
        if self.store is None:
            return None
        return Record.from_data(self.store.get(RECORD_KEY))

    def save(self, record: Record) -> None:
        if self.store is not None:
            self.store.set(RECORD_KEY, record.to_data())

    def execution_id(self) -> int | None:
        record = self.load()
        if record is not None and record.execution_id is not None:
            return record.execution_id
        pushed = self.context["ti"].xcom_pull(
            task_ids=self.context["ti"].task_id, key=XCOM_EXECUTION_ID
        )
        return None if pushed is None else int(pushed)


def _templated(value: object) -> bool:
    return isinstance(value, str) and "{{" in value
