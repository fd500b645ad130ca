"""The networkx DiGraph of a pipeline (edge: needed job → dependant) and its levels."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

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
    import networkx as nx

    position = {name: index for index, name in enumerate(graph.nodes)}
    generations = cast("list[list[str]]", [list(g) for g in nx.topological_generations(graph)])
    return [sorted(generation, key=position.__getitem__) for generation in generations]


def topological_order(graph: nx.DiGraph) -> list[str]:
    """Every job after all the jobs it needs, level by level, file order within a level."""
    return [name for generation in levels(graph) for name in generation]


def _problem(pipeline: Pipeline, job: str, message: str) -> PipelineFileError:
    location = pipeline.jobs[job].location
    if location is None:
        return PipelineFileError([FileProblem(pipeline.path, 1, 1, message)])
    return PipelineFileError([FileProblem(location.file, location.line, location.col, message)])
