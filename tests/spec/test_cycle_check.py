"""The loader's cycle check: the stdlib's topological sort says whether there is a cycle,
networkx (imported only then) words each one.  On random graphs the verdict and the
number of problems must match networkx's own view of the graph."""

from __future__ import annotations

import itertools
import random

import networkx as nx  # type: ignore[import-untyped]
import pytest

from runner.errors import PipelineFileError
from runner.spec import load_pipeline_text


def _random_needs(seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    names = [f"j{i}" for i in range(rng.randint(2, 12))]
    edges = rng.uniform(0.05, 0.3)
    return {
        name: [other for other in names if other != name and rng.random() < edges] for name in names
    }


def _text(needs: dict[str, list[str]]) -> str:
    lines = ["version: 1", "name: cycles", "mode: client", "jobs:"]
    for index, (name, wanted) in enumerate(needs.items(), start=1):
        written = f", needs: [{', '.join(wanted)}]" if wanted else ""
        lines.append(f"  {name}: {{file_id: {index}{written}}}")
    return "\n".join(lines) + "\n"


def _cycle_problems(text: str) -> list[str]:
    try:
        load_pipeline_text(text, filename="p.yaml")
    except PipelineFileError as error:
        return [p.message for p in error.problems if "form a cycle" in p.message]
    return []


@pytest.mark.parametrize("seed", range(120))
def test_one_problem_per_cycle_group_as_networkx_sees_them(seed: int) -> None:
    needs = _random_needs(seed)
    graph = nx.DiGraph([(need, name) for name, wanted in needs.items() for need in wanted])
    graph.add_nodes_from(needs)
    groups = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    problems = _cycle_problems(_text(needs))
    assert len(problems) == len(groups)
    for problem in problems:  # "the jobs form a cycle: a -> b -> a", each step a real need
        cycle = problem.removeprefix("the jobs form a cycle: ").split(" -> ")
        assert cycle[0] == cycle[-1]
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(cycle))
