"""dbt-style job selection: ``a``, ``a+`` (and downstream), ``+a`` (and upstream), ``+a+``.

Several selectors are a union; ``--exclude`` takes the same syntax and removes
its jobs after the selection.  A name may be a glob (``import_*``).  The result
keeps only the chosen jobs; a need on a job left out is dropped, i.e. an
unselected upstream job counts as already done successfully.
"""

from __future__ import annotations

import fnmatch
import graphlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from runner.errors import UsageError
from runner.graph.dag import build_graph
from runner.model import Pipeline, When

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Selector:
    """One parsed selector: a job name or glob, plus which relatives it brings along."""

    pattern: str
    upstream: bool = False
    downstream: bool = False

    @classmethod
    def parse(cls, text: str, option: str = "--select") -> Selector:
        """``+a+`` → Selector("a", upstream=True, downstream=True); UsageError when malformed."""
        upstream = text.startswith("+")
        downstream = text.endswith("+") and len(text) > 1
        pattern = text[1 if upstream else None : -1 if downstream else None]
        if not pattern or "+" in pattern:
            raise UsageError(f"{option}: {text!r} is not a selector; use a, a+, +a or +a+")
        return cls(pattern, upstream, downstream)


@dataclass(frozen=True)
class Selection:
    """What a selection picked: the restricted pipeline and what it left out around it."""

    pipeline: Pipeline  # only the chosen jobs, file order, needs on unchosen jobs dropped
    # Per chosen job, the needs dropped because they were not chosen: counted as done.
    assumed_done: Mapping[str, tuple[str, ...]]
    # Jobs not chosen that depend on a chosen one (a sequential trigger would start them).
    downstream_left_out: tuple[str, ...]
    # Those of them Datameer's data-driven chain would start: reached through all_success
    # jobs only (failure handlers are dmpipe's own triggers, never part of the chain).
    chain_left_out: tuple[str, ...] = ()
    chain_cut_at: tuple[str, ...] = ()  # the chosen jobs those are downstream of

    @property
    def is_whole(self) -> bool:
        """True when nothing was left out."""
        return not self.assumed_done and not self.downstream_left_out


def select(
    pipeline: Pipeline, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Selection:
    """Restrict ``pipeline`` to the jobs ``include`` picks (all when empty) minus ``exclude``.

    Raises UsageError for a malformed selector, a name matching no job (with a
    "did you mean") or a selection that leaves no job.
    """
    if not include and not exclude:
        return Selection(pipeline, {}, ())
    graph = _Graph(pipeline)
    chosen = _resolve(graph, include, "--select") if include else set(graph.nodes)
    chosen -= _resolve(graph, exclude, "--exclude")
    if not chosen:
        raise UsageError("the selection leaves no job to run")
    return _restrict(pipeline, graph, chosen)


def select_jobs(
    pipeline: Pipeline, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Pipeline:
    """``select(...).pipeline``: the pipeline restricted to the selected jobs."""
    return select(pipeline, include, exclude).pipeline


class _Graph:
    """The jobs (file order) and their needs both ways: all a selection walks.  Plain
    lists, not ``build_graph``'s networkx graph, so that ``run --select`` does not pay
    for importing networkx; a graph with an unknown need or a cycle (a pipeline built by
    hand: the loader rejects both) gets ``build_graph``'s error."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.nodes = list(pipeline.jobs)
        self._successors: dict[str, list[str]] = {name: [] for name in self.nodes}
        self._predecessors: dict[str, list[str]] = {name: [] for name in self.nodes}
        for name, job in pipeline.jobs.items():
            for need in dict.fromkeys(job.needs):
                if need not in self._successors:
                    build_graph(pipeline)  # raises: job '...' needs unknown job '...'
                self._successors[need].append(name)
                self._predecessors[name].append(need)
        try:
            graphlib.TopologicalSorter(self._predecessors).prepare()
        except graphlib.CycleError:
            build_graph(pipeline)  # raises, naming the cycle as the loader does
            raise

    def __contains__(self, name: str) -> bool:
        return name in self._successors

    def successors(self, name: str) -> Iterator[str]:
        """The jobs needing ``name``, in file order."""
        return iter(self._successors[name])

    def predecessors(self, name: str) -> Iterator[str]:
        """The jobs ``name`` needs, as written."""
        return iter(self._predecessors[name])


def _resolve(graph: _Graph, texts: Iterable[str], option: str) -> set[str]:
    """Every job the selectors in ``texts`` name (each text may hold several, space-separated)."""
    names: set[str] = set()
    for text in texts:
        for word in text.split():
            selector = Selector.parse(word, option)
            matched = _match(graph, selector.pattern, option)
            names.update(matched)
            if selector.upstream:
                names.update(_reach(matched, graph.predecessors))
            if selector.downstream:
                names.update(_reach(matched, graph.successors))
    return names


def _match(graph: _Graph, pattern: str, option: str) -> list[str]:
    if _GLOB_CHARS.isdisjoint(pattern):
        if pattern in graph:
            return [pattern]
        import difflib  # only for a name matching no job

        hint = difflib.get_close_matches(pattern, list(graph.nodes), n=3)
        suggestion = f"; did you mean {_one_of(hint)}?" if hint else ""
        raise UsageError(f"{option}: no job named {pattern!r}{suggestion}")
    matched = [name for name in graph.nodes if fnmatch.fnmatchcase(name, pattern)]
    if not matched:
        raise UsageError(f"{option}: the pattern {pattern!r} matches no job")
    return matched


def _reach(starts: Iterable[str], step: Callable[[str], Iterator[str]]) -> set[str]:
    """Every job reachable from ``starts`` by repeated ``step`` (one walk for all starts)."""
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        for neighbour in step(stack.pop()):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


def _restrict(pipeline: Pipeline, graph: _Graph, chosen: set[str]) -> Selection:
    jobs = {}
    assumed_done: dict[str, tuple[str, ...]] = {}
    for name, job in pipeline.jobs.items():
        if name not in chosen:
            continue
        kept = tuple(need for need in job.needs if need in chosen)
        if kept != job.needs:
            assumed_done[name] = tuple(need for need in job.needs if need not in chosen)
            job = replace(job, needs=kept)
        jobs[name] = job
    left_out = _reach(chosen, graph.successors) - chosen
    downstream = tuple(name for name in pipeline.jobs if name in left_out)
    chained = _reach(chosen, lambda name: _chained_successors(pipeline, graph, name)) - chosen
    in_chain = tuple(name for name in pipeline.jobs if name in chained)
    cut_at = tuple(
        name
        for name in pipeline.jobs
        if name in chosen and set(_chained_successors(pipeline, graph, name)) - chosen
    )
    return Selection(replace(pipeline, jobs=jobs), assumed_done, downstream, in_chain, cut_at)


def _chained_successors(pipeline: Pipeline, graph: _Graph, name: str) -> Iterator[str]:
    if pipeline.jobs[name].when is not When.ALL_SUCCESS:
        return
    for successor in graph.successors(name):
        if pipeline.jobs[successor].when is When.ALL_SUCCESS:
            yield successor


def _one_of(names: Sequence[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``."""
    quoted = [repr(name) for name in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
