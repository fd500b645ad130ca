"""dmpipe on Apache Airflow 3: the ``datameer`` connection, ``DatameerHook``, the deferrable
``DatameerJobOperator``, ``DatameerSequenceOperator``, ``DatameerPipelineOperator``, and
pipeline files rendered as DAGs (``pipeline_dag``, ``DmpipeTaskGroup``).

Needs the ``airflow`` extra (``pip install 'dmpipe[airflow]'``); the rest of dmpipe never
imports this package.  See ``docs/airflow.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.lazy import lazy_names

_EXPORTS: dict[str, str] = {
    "DatameerHook": "runner.airflow.datameer_hook",
    "DatameerExecutionTrigger": "runner.airflow.execution_trigger",
    "DatameerJobOperator": "runner.airflow.job_operator",
    "DatameerSequenceOperator": "runner.airflow.sequence_operator",
    "DatameerPipelineOperator": "runner.airflow.pipeline_operator",
    "DatameerReportLink": "runner.airflow.pipeline_operator",
    "DmpipeTaskGroup": "runner.airflow.dag_render",
    "pipeline_dag": "runner.airflow.dag_render",
}

__all__ = [
    "DatameerExecutionTrigger",
    "DatameerHook",
    "DatameerJobOperator",
    "DatameerPipelineOperator",
    "DatameerReportLink",
    "DatameerSequenceOperator",
    "DmpipeTaskGroup",
    "pipeline_dag",
]

if TYPE_CHECKING:
    from runner.airflow.dag_render import DmpipeTaskGroup, pipeline_dag
    from runner.airflow.datameer_hook import DatameerHook
    from runner.airflow.execution_trigger import DatameerExecutionTrigger
    from runner.airflow.job_operator import DatameerJobOperator
    from runner.airflow.pipeline_operator import DatameerPipelineOperator, DatameerReportLink
    from runner.airflow.sequence_operator import DatameerSequenceOperator


__getattr__ = lazy_names("runner.airflow", _EXPORTS, globals())


def __dir__() -> list[str]:
    """The public names."""
    return list(__all__)
