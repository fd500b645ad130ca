"""Pipeline files as native Airflow tasks: ``pipeline_dag`` and ``DmpipeTaskGroup``.

One ``DatameerJobOperator`` per job of the file, so each job is a task of its own in
Airflow's UI, with its own retries and logs:

=====================  ====================================================================
pipeline file          Airflow
=====================  ====================================================================
``needs``              task dependencies
``when``               trigger rule: all_success → all_success, all_done → all_done,
                       any_failed → one_failed
``retry``              ``retries`` (one more, for Airflow's own failures: it re-attaches),
                       ``retry_delay``, ``retry_exponential_backoff``, ``max_retry_delay``;
                       ``retry_on`` and the job's own retries are kept by the operator
``timeout``            ``execution_timeout`` (the running execution is stopped)
``policies.timeout``   the DAG's ``dagrun_timeout`` (``pipeline_dag`` only)
``max_parallel``       the ``pool`` given (make it with ``include_deferred`` so waiting jobs
                       count), else the DAG's ``max_active_tasks``
``on_failure``         cancel: a job failing for good stops the executions of the others and
                       jobs not started yet skip; finish_running: jobs not started skip;
                       continue: nothing
``expect``/warnings    operator parameters, judged by the engine's rules
sequential mode        one ``DatameerSequenceOperator`` running the whole chain
=====================  ====================================================================

The file is loaded (and validated) when the DAG file is parsed: a mistake shows in
Airflow as an import error listing ``file:line:col: message`` for each problem.
The same file still runs with ``dmpipe run``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, TaskGroup

from runner.airflow.datameer_hook import DEFAULT_CONN_ID
from runner.airflow.job_operator import DatameerJobOperator
from runner.airflow.sequence_operator import DatameerSequenceOperator
from runner.model import Job, Mode, OnFailure, Pipeline, When
from runner.plan.mode import choose_mode
from runner.spec import load_pipeline

TRIGGER_RULES = {
    When.ALL_SUCCESS: "all_success",
    When.ALL_DONE: "all_done",
    When.ANY_FAILED: "one_failed",
}


def load_for_airflow(path: str | os.PathLike[str], env: Mapping[str, str] | None) -> Pipeline:
    """The pipeline file, validated (``PipelineFileError`` with file:line:col lines);
    ``${NAME}`` references read ``env`` (default: the DAG processor's environment)."""
    return load_pipeline(Path(path), env=dict(os.environ if env is None else env))


def job_arguments(job: Job) -> dict[str, Any]:
    """The BaseOperator arguments a job's policies become."""
    retry = job.retry
    arguments: dict[str, Any] = {
        "trigger_rule": TRIGGER_RULES[job.when],
        # One retry more than the file's: Airflow's own failures (a lost worker, the
        # defer race of apache/airflow#67287) re-attach to the execution; the operator
        # fails without a retry once the job's own retries are spent.
        "retries": retry.retries + 1,
        "retry_delay": timedelta(seconds=retry.delay),
        "retry_exponential_backoff": retry.backoff if retry.backoff > 1 else 0,
        "max_retry_delay": timedelta(seconds=retry.max_delay),
    }
    if job.timeout is not None:
        arguments["execution_timeout"] = timedelta(seconds=job.timeout)
    return arguments


class DmpipeTaskGroup(TaskGroup):
    """A pipeline file rendered as a task group of Datameer tasks, inside any DAG.

    :param pipeline: the pipeline file; relative to the current directory unless absolute.
    :param group_id: the group's id (default: the pipeline's name).
    :param datameer_conn_id: the Airflow connection every task uses.
    :param pool: the pool that caps the pipeline's parallel jobs (``max_parallel``).
    :param env: the values of ``${NAME}`` in the file (default: the process environment).
    :param deferrable: wait in the triggerer (the default) or in the worker.
    """

    def __init__(
        self,
        pipeline: str | os.PathLike[str],
        *,
        group_id: str | None = None,
        datameer_conn_id: str = DEFAULT_CONN_ID,
        pool: str | None = None,
        env: Mapping[str, str] | None = None,
        deferrable: bool = True,
        poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        loaded = load_for_airflow(pipeline, env)
        super().__init__(group_id=group_id or _safe_id(loaded.name), **kwargs)
        self.pipeline = loaded
        with self:
            self.job_tasks = render_jobs(
                loaded,
                datameer_conn_id=datameer_conn_id,
                pool=pool,
                deferrable=deferrable,
                poll_interval=poll_interval,
                pipeline_path=str(pipeline),
            )


def render_jobs(
    pipeline: Pipeline,
    *,
    datameer_conn_id: str = DEFAULT_CONN_ID,
    pool: str | None = None,
    deferrable: bool = True,
    poll_interval: float | None = None,
    pipeline_path: str | None = None,
) -> dict[str, Any]:
    """The pipeline's tasks, created in the current DAG / task group; job name → task."""
    choice = choose_mode(pipeline)
    interval = poll_interval if poll_interval is not None else pipeline.policies.poll_interval
    if choice.runs_as is Mode.SEQUENTIAL:
        task = DatameerSequenceOperator(
            task_id=_safe_id(pipeline.name),
            pipeline=str(Path(pipeline_path or pipeline.path).resolve()),
            datameer_conn_id=datameer_conn_id,
            mode=choice.mode.value,
            doc_md=f"Sequential mode: {choice.reason}",
            **_pool(pool),
        )
        return dict.fromkeys(pipeline.jobs, task)
    on_failure = pipeline.policies.on_failure
    tasks: dict[str, Any] = {}
    for name, job in pipeline.jobs.items():
        tasks[name] = DatameerJobOperator(
            task_id=name,
            job=job,
            datameer_conn_id=datameer_conn_id,
            deferrable=deferrable,
            poll_interval=interval,
            max_poll_interval=pipeline.policies.max_poll_interval,
            on_failure=on_failure.value,
            **job_arguments(job),
            **_pool(pool),
        )
    if on_failure is not OnFailure.CONTINUE:
        # What a failure may stop or keep from starting: the jobs that are no failure
        # handlers, by their task ids (in a task group: "group.job").
        siblings = {
            tasks[n].task_id: job.ref
            for n, job in pipeline.jobs.items()
            if job.when is When.ALL_SUCCESS
        }
        for task in tasks.values():
            task.on_failure_cancel = {t: r for t, r in siblings.items() if t != task.task_id}
    for name, job in pipeline.jobs.items():
        for need in job.needs:
            tasks[need] >> tasks[name]
    return tasks


def pipeline_dag(
    pipeline: str | os.PathLike[str],
    *,
    dag_id: str | None = None,
    schedule: Any = None,
    datameer_conn_id: str = DEFAULT_CONN_ID,
    pool: str | None = None,
    env: Mapping[str, str] | None = None,
    deferrable: bool = True,
    **dag_kwargs: Any,
) -> DAG:
    """A DAG whose tasks are the pipeline file's jobs.

    ``dag_kwargs`` go to ``DAG`` (``start_date``, ``catchup``, ``tags``, ...); the
    pipeline's ``max_parallel`` becomes ``max_active_tasks`` unless a ``pool`` is given,
    its run ``timeout`` the ``dagrun_timeout``.
    """
    loaded = load_for_airflow(pipeline, env)
    policies = loaded.policies
    if policies.max_parallel and not pool:
        dag_kwargs.setdefault("max_active_tasks", policies.max_parallel)
    if policies.timeout is not None:
        dag_kwargs.setdefault("dagrun_timeout", timedelta(seconds=policies.timeout))
    dag_kwargs.setdefault("tags", ["datameer", "dmpipe"])
    dag_kwargs.setdefault("doc_md", f"Rendered from the pipeline file `{loaded.path}`.")
    with DAG(dag_id=dag_id or _safe_id(loaded.name), schedule=schedule, **dag_kwargs) as dag:
        render_jobs(
            loaded,
            datameer_conn_id=datameer_conn_id,
            pool=pool,
            deferrable=deferrable,
            pipeline_path=str(pipeline),
        )
    return dag


def _pool(pool: str | None) -> dict[str, Any]:
    """The ``pool`` argument, only when one is named (Airflow's default pool otherwise)."""
    return {"pool": pool} if pool else {}


def _safe_id(name: str) -> str:
    """A pipeline name as an Airflow id (letters, digits, ``-``, ``_``, ``.``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
