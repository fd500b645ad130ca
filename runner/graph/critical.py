"""The critical path: the chain of jobs whose estimates add up to the longest run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.graph.dag import generations

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
    nodes = graph.nodes
    return longest_chain(
        {name: list(graph.predecessors(name)) for name in nodes},
        {name: nodes[name]["job"].estimate for name in nodes},
        default,
    )


def longest_chain(
    needs: Mapping[str, Sequence[str]],
    estimates: Mapping[str, float | None],
    default: float = 0.0,
) -> CriticalPath:
    """``critical_path`` over ``needs`` (each job, in file order, → the jobs it needs, as
    written, all of them keys) weighted by ``estimates``: what the reports use, with no
    graph to build."""
    # rank[name] = (seconds until name ends, jobs in its chain); compared as a tuple.
    rank: dict[str, tuple[float, int]] = {}
    before: dict[str, str | None] = {}
    for level in generations(needs):
        for name in level:
            estimate = estimates.get(name)
            weight = default if estimate is None else estimate
            # max() keeps the first of equal candidates.
            best = max(needs[name], key=rank.__getitem__, default=None)
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
    unestimated = tuple(name for name in chain if estimates.get(name) is None)
    return CriticalPath(tuple(chain), total, unestimated)
