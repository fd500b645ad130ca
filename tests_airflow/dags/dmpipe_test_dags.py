"""DAGs of the provider's tests (tests_airflow/): the failure paths of the operators."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from runner.airflow import (
    DatameerJobOperator,
    DatameerPipelineOperator,
    DmpipeTaskGroup,
    pipeline_dag,
)

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"
START = datetime(2026, 1, 1)
FAST = {"poll_interval": 0.2, "max_poll_interval": 1.0}


class WorkerDiesAfterTrigger(DatameerJobOperator):
    """Dies (as a lost worker would) once its first try has triggered, before it defers."""

    def _wait(self, context: Any, job: Any, api: Any, start: Any) -> Any:
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated worker crash right after the trigger")
        return super()._wait(context, job, api, start)


with DAG("worker_dies_after_trigger", schedule=None, start_date=START, catchup=False):
    WorkerDiesAfterTrigger(task_id="load", artifact=6, retries=1, retry_delay=timedelta(0), **FAST)

with DAG("job_times_out", schedule=None, start_date=START, catchup=False):
    DatameerJobOperator(task_id="slow", artifact=3, execution_timeout=timedelta(seconds=2), **FAST)

with DAG("gate_fails", schedule=None, start_date=START, catchup=False):
    load = DatameerJobOperator(
        task_id="load", artifact=1, expect={"IMPORT_DROPPED_RECORDS": 0}, retries=2, **FAST
    )
    load >> DatameerJobOperator(task_id="report", artifact=4, **FAST)

with DAG("waits_in_the_worker", schedule=None, start_date=START, catchup=False):
    DatameerJobOperator(task_id="load", artifact=1, deferrable=False, **FAST)

# The same file as a task group: task ids are "cancel.<job>".
with DAG("cancel_on_failure", schedule=None, start_date=START, catchup=False):
    DmpipeTaskGroup(PIPELINES / "cancel.yaml", group_id="cancel")

sequential_rendered = pipeline_dag(
    PIPELINES.parent.parent / "examples" / "nightly-etl.yaml",
    dag_id="sequential_rendered",
    start_date=START,
    catchup=False,
)

with DAG("pipeline_resumes_on_retry", schedule=None, start_date=START, catchup=False):
    DatameerPipelineOperator(
        task_id="run",
        pipeline=str(PIPELINES / "resume.yaml"),
        retries=1,
        retry_delay=timedelta(0),
    )
