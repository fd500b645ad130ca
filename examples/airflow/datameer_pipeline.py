"""One-task pipeline: the quick start's pipeline file run by dmpipe's engine in one task.

The fastest way (no scheduler hop between jobs); Airflow sees one task, the run's HTML
report is its extra link "dmpipe report".  A retry resumes the run.

    dmpipe emulator --scenario examples/emulator/quickstart.yaml --port 8088 &
    export AIRFLOW_CONN_DATAMEER_DEFAULT='datameer://analyst:analyst@127.0.0.1:8088/http'
    airflow dags test datameer_pipeline
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from runner.airflow import DatameerPipelineOperator

# The pipeline files sit beside the DAG files (examples/ in this repository).
PIPELINES = Path(__file__).resolve().parent.parent

with DAG(
    dag_id="datameer_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["datameer", "dmpipe"],
) as dag:
    DatameerPipelineOperator(
        task_id="quickstart",
        pipeline=str(PIPELINES / "quickstart.yaml"),
        retries=1,
        retry_delay=timedelta(seconds=1),
        execution_timeout=timedelta(hours=1),
    )
