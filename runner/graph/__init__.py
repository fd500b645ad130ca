"""The pipeline as a DAG: levels, the critical path, dbt-style selection, diagrams.

Edges run from a needed job to the job that needs it.  Everything here is pure:
it reads a ``runner.model.Pipeline`` and returns new records, never a server call.
"""

from __future__ import annotations

from runner.graph.critical import CriticalPath, critical_path
from runner.graph.dag import build_graph, levels, topological_order
from runner.graph.selection import Selection, select, select_jobs

__all__ = [
    "CriticalPath",
    "Selection",
    "build_graph",
    "critical_path",
    "levels",
    "select",
    "select_jobs",
    "topological_order",
]
