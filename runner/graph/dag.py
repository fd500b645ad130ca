"""The networkx DiGraph of a pipeline (edge: needed job → dependant) and its levels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from runner.errors import FileProblem, PipelineFileError
from runner.model import Pipeline

if TYPE_CHECKING:
    import networkx as nx  # type: ignore[import-untyped]


def build_graph(pipeline: Pipeline) -> nx.DiGraph:
    """The pipeline's DAG; nodes are job names in file order, each carrying its ``job``.

    Raises PipelineFileError for a need on an unknown job or a cycle: the loader
    rejects both, so this only fires on a Pipeline built by hand.
    """
    import networkx as nx  # here, not at the top: a run never needs it (slow to import)

    graph = nx.DiGraph()
    for name, job in pipeline.jobs.items():
        graph.add_node(name, job=job)
    for name, job in pipeline.jobs.items():
        for need in job.needs:
            if need not in pipeline.jobs:
                raise _problem(pipeline, name, f"job '{name}' needs unknown job '{need}'")
            graph.add_edge(need, name)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [edge[0] for edge in nx.find_cycle(graph)]
        text = " -> ".join([*cycle, cycle[0]])
        raise _problem(pipeline, cycle[0], f"the jobs form a cycle: {text}")
    return graph


def levels(graph: nx.DiGraph) -> list[list[str]]:
    """Topological generations: level 0 needs nothing, level n needs something of level n-1.

    Jobs inside a level keep the file's order, so the output is stable.
    """
    return generations({name: graph.predecessors(name) for name in graph.nodes})


def generations(needs: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The topological generations of ``needs`` (each job, in file order, → the jobs it
    needs, all of them keys): level 0 needs nothing, level n needs something of level n-1;
    file order within a level.

    Peeled level by level with the standard library's ``graphlib``, not networkx: the
    reports written at the end of every run lay their jobs out with it, and networkx takes
    a third of a second to import.  ValueError (``graphlib.CycleError``) for a cycle.
    """
    import graphlib

    position = {name: index for index, name in enumerate(needs)}
    sorter = graphlib.TopologicalSorter(needs)
    sorter.prepare()
    result: list[list[str]] = []
    while sorter.is_active():
        level = sorted(sorter.get_ready(), key=position.__getitem__)
        sorter.done(*level)
        result.append(level)
    return result


def topological_order(graph: nx.DiGraph) -> list[str]:
    """Every job after all the jobs it needs, level by level, file order within a level."""
    return [name for generation in levels(graph) for name in generation]


def _problem(pipeline: Pipeline, job: str, message: str) -> PipelineFileError:
    location = pipeline.jobs[job].location
    if location is None:
        return PipelineFileError([FileProblem(pipeline.path, 1, 1, message)])
    return PipelineFileError([FileProblem(location.file, location.line, location.col, message)])
