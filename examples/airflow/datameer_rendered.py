"""A pipeline file rendered as native Airflow tasks: one deferrable task per job.

``needs`` become dependencies, ``when: any_failed`` a one_failed trigger rule, retries and
timeouts the tasks' own; the same file still runs with ``dmpipe run``.  A mistake in the
file shows as an import error with its file:line:col.

    dmpipe emulator --scenario examples/emulator/fan-out-fan-in.yaml --port 8088 &
    export AIRFLOW_CONN_DATAMEER_DEFAULT='datameer://etl:etl@127.0.0.1:8088/http'
    airflow dags test customer_360
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from runner.airflow import DmpipeTaskGroup, pipeline_dag

PIPELINES = Path(__file__).resolve().parent.parent

# The whole file as a DAG of its own.
customer_360 = pipeline_dag(
    PIPELINES / "fan-out-fan-in.yaml",
    dag_id="customer_360",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
)

# Or as a task group inside a DAG that does more.
from airflow.sdk import DAG  # noqa: E402

with DAG(
    dag_id="quickstart_group",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["datameer", "dmpipe"],
) as quickstart_group:
    DmpipeTaskGroup(PIPELINES / "quickstart.yaml", group_id="quickstart")
