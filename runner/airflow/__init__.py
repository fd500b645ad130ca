"""dmpipe on Apache Airflow 3: the ``datameer`` connection, ``DatameerHook``, the deferrable
``DatameerJobOperator``, ``DatameerSequenceOperator``, ``DatameerPipelineOperator``, and
pipeline files rendered as DAGs (``pipeline_dag``, ``DmpipeTaskGroup``).

Needs the ``airflow`` extra (``pip install 'dmpipe[airflow]'``); the rest of dmpipe never
imports this package.  See ``docs/airflow.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """Import a name from its module on first use (Airflow loads the modules it needs)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runner.airflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names."""
    return list(__all__)
