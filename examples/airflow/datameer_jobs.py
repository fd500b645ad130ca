"""Per-job operators: the quick start's three Datameer jobs as three deferrable Airflow tasks.

The server and its credentials come from the Airflow connection ``datameer_default``
(type ``datameer``), never from this file.  Try it on the emulator:

    dmpipe emulator --scenario examples/emulator/quickstart.yaml --port 8088 &
    export AIRFLOW_CONN_DATAMEER_DEFAULT='datameer://analyst:analyst@127.0.0.1:8088/http'
    airflow dags test datameer_jobs
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from runner.airflow import DatameerJobOperator

with DAG(
    dag_id="datameer_jobs",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
    tags=["datameer", "dmpipe"],
) as dag:
    import_logs = DatameerJobOperator(
        task_id="import_logs",
        artifact=48,
        expect={"IMPORT_DROPPED_RECORDS": 0},  # the dropped-records gate of the pipeline file
        execution_timeout=timedelta(minutes=30),
    )
    categorize = DatameerJobOperator(
        task_id="categorize",
        artifact="/Analytics/Sales categorization.wbk",
        warnings="failure",
    )
    export_categories = DatameerJobOperator(
        task_id="export_categories",
        artifact=50,
        expect={"EXPORT_RECORDS": "> 0"},
    )
    import_logs >> categorize >> export_categories
