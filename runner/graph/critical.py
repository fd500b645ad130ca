"""The critical path: the chain of jobs whose estimates add up to the longest run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.graph.dag import topological_order
from runner.model import Job

if TYPE_CHECKING:
    import networkx as nx  # type: ignore[import-untyped]  # annotations only: slow to import


@dataclass(frozen=True)
class CriticalPath:
    """The longest chain by ``estimate``; ``unestimated`` lists its jobs that had none."""

    jobs: tuple[str, ...]
    total: float
    unestimated: tuple[str, ...] = ()


def critical_path(graph: nx.DiGraph, default: float = 0.0) -> CriticalPath:
    """The longest weighted path of ``graph`` (from ``build_graph``), node weight = estimate.

    A job without an estimate weighs ``default`` seconds.  Between chains of equal
    weight the longer one wins (so without any estimate the path is the deepest
    chain), then the first in order (needs as written, jobs level by level).
    """
    # rank[name] = (seconds until name ends, jobs in its chain); compared as a tuple.
    rank: dict[str, tuple[float, int]] = {}
    before: dict[str, str | None] = {}
    for name in topological_order(graph):
        job: Job = graph.nodes[name]["job"]
        weight = default if job.estimate is None else job.estimate
        # max() keeps the first of equal candidates.
        best = max(graph.predecessors(name), key=rank.__getitem__, default=None)
        seconds, depth = rank[best] if best is not None else (0.0, 0)
        before[name] = best
        rank[name] = (seconds + weight, depth + 1)
    if not rank:
        return CriticalPath((), 0.0)
    end: str | None = max(rank, key=rank.__getitem__)
    total = rank[end][0] if end is not None else 0.0
    chain: list[str] = []
    while end is not None:
        chain.append(end)
        end = before[end]
    chain.reverse()
    unestimated = tuple(n for n in chain if graph.nodes[n]["job"].estimate is None)
    return CriticalPath(tuple(chain), total, unestimated)
