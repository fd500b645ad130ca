"""Sequential trigger: the nightly ETL's chain started by one call with workbook variables.

Datameer runs the data-driven chain behind the two imports; the task watches every
execution of the returned plan and fails unless all of them succeed.

    dmpipe emulator --scenario examples/emulator/nightly-etl.yaml --port 8088 &
    export AIRFLOW_CONN_DATAMEER_DEFAULT='datameer://etl:etl@127.0.0.1:8088/http'
    airflow dags test datameer_sequence
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from runner.airflow import DatameerSequenceOperator

PIPELINES = Path(__file__).resolve().parent.parent

with DAG(
    dag_id="datameer_sequence",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["datameer", "dmpipe"],
) as dag:
    DatameerSequenceOperator(
        task_id="nightly_etl",
        pipeline=str(PIPELINES / "nightly-etl.yaml"),
        variables={"run_date": "{{ ds }}", "region": "EMEA"},
        execution_timeout=timedelta(hours=6),
    )
