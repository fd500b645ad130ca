"""Semantic checks on a pipeline the schema accepted: what a schema cannot see.

Errors: a need that names no job (with did-you-mean), a job needing itself, a
cycle (printed ``a -> b -> a``), two jobs naming the same artifact, workbook
variables in mode client, ``max_poll_interval`` shorter than ``poll_interval``.
Warnings: a literal password, an emulator scenario file that does not exist, a path
without a Datameer extension (``.imp``, ``.wbk`` ...).
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import FileProblem
from runner.model import RunPolicies
from runner.spec.document import Document, JsonPath
from runner.spec.durations import format_duration, parse_duration
from runner.spec.extensions import missing_extension_message
from runner.spec.fields import beside_file, needs_of, reference_key
from runner.spec.naming import did_you_mean

# Suggestions compare a name with every job name: bound the work on huge files.
_MAX_SUGGESTIONS = 50


@dataclass(frozen=True)
class CheckContext:
    """What the checks need besides the value: positions, interpolated paths, the file's folder."""

    document: Document
    interpolated: frozenset[JsonPath]
    base_dir: str


def semantic_problems(value: Mapping[str, Any], context: CheckContext) -> list[FileProblem]:
    """Every semantic problem of a schema-valid pipeline ``value``."""
    jobs: Mapping[str, Any] = value["jobs"]
    document = context.document
    return [
        *_needs(jobs, document),
        *_cycles(jobs, document),
        *_shared_artifacts(jobs, document),
        *_client_variables(value, document),
        *_poll_intervals(value.get("policies", {}), document),
        *_literal_password(value.get("server", {}), context),
        *_emulator_file(value.get("emulator"), context),
        *_extensions(jobs, document),
    ]


def _needs(jobs: Mapping[str, Any], document: Document) -> Iterator[FileProblem]:
    suggestions = 0
    for name, job in jobs.items():
        for need, where in needs_of(job):
            path = ("jobs", name, *where)
            if need == name:
                yield document.problem(path, f"job '{name}' needs itself")
            elif need not in jobs:
                suggestions += 1
                others = (job_name for job_name in jobs if job_name != name)
                hint = did_you_mean(need, others) if suggestions <= _MAX_SUGGESTIONS else ""
                message = f"job '{name}' needs '{need}', which is not a job{hint}"
                yield document.problem(path, message)


def _cycles(jobs: Mapping[str, Any], document: Document) -> Iterator[FileProblem]:
    edges: dict[str, list[str]] = {name: [] for name in jobs}  # job -> the jobs it needs
    closing: dict[tuple[str, str], JsonPath] = {}
    for name, job in jobs.items():
        for need, where in needs_of(job):
            if need in jobs and need != name:
                edges[name].append(need)
                closing[(need, name)] = ("jobs", name, *where)
    try:  # the stdlib's sort says "no cycle" without loading networkx (seconds saved per run)
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError:
        yield from _cycle_problems(jobs, edges, closing, document)


def _cycle_problems(
    jobs: Mapping[str, Any],
    edges: Mapping[str, list[str]],
    closing: Mapping[tuple[str, str], JsonPath],
    document: Document,
) -> Iterator[FileProblem]:
    """One problem per cycle group (strongly connected component), in file order."""
    import networkx as nx  # type: ignore[import-untyped]  # only for a file with a cycle

    graph = nx.DiGraph()
    graph.add_nodes_from(jobs)
    graph.add_edges_from((need, name) for name, needs in edges.items() for need in needs)
    order = {name: index for index, name in enumerate(jobs)}
    components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    for component in sorted(components, key=lambda c: min(order[n] for n in c)):
        found = nx.find_cycle(graph.subgraph(component))
        cycle = [edge[0] for edge in found]
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        cycle = cycle[start:] + cycle[:start]
        # Point at the need that closes the cycle: the first job needing the last.
        path = closing[(cycle[-1], cycle[0])]
        text = " -> ".join([*cycle, cycle[0]])
        yield document.problem(path, f"the jobs form a cycle: {text}")


def _artifact(job: Mapping[str, Any]) -> tuple[str, str]:
    key = reference_key(job)
    value = str(job[key])
    return key, value.lower() if key == "uuid" else value


def _shared_artifacts(jobs: Mapping[str, Any], document: Document) -> Iterator[FileProblem]:
    first: dict[tuple[str, str], str] = {}
    for name, job in jobs.items():
        artifact = _artifact(job)
        if artifact in first:
            kind, value = artifact
            message = (
                f"job '{name}' names the same artifact as job '{first[artifact]}' ({kind} {value})"
            )
            yield document.problem(("jobs", name, kind), message)
        else:
            first[artifact] = name


def _client_variables(value: Mapping[str, Any], document: Document) -> Iterator[FileProblem]:
    if value.get("mode") != "client" or not value.get("variables"):
        return
    path: JsonPath = ("variables",) if ("variables",) in document.keys else ("mode",)
    yield document.problem(
        path,
        "workbook variables need mode sequential or auto: "
        "mode client triggers each job alone and cannot pass them",
        at_key=True,
    )


def _poll_intervals(policies: Mapping[str, Any], document: Document) -> Iterator[FileProblem]:
    defaults = RunPolicies()
    first = parse_duration(policies.get("poll_interval", defaults.poll_interval))
    longest = parse_duration(policies.get("max_poll_interval", defaults.max_poll_interval))
    if longest >= first:
        return
    if "max_poll_interval" in policies:
        path: JsonPath = ("policies", "max_poll_interval")
        message = (
            f"policies.max_poll_interval ({format_duration(longest)}) is shorter than "
            f"policies.poll_interval ({format_duration(first)})"
        )
    else:
        path = ("policies", "poll_interval")
        message = (
            f"policies.poll_interval ({format_duration(first)}) is longer than the default "
            f"max_poll_interval ({format_duration(longest)}); set max_poll_interval too"
        )
    yield document.problem(path, message)


def _literal_password(server: Mapping[str, Any], context: CheckContext) -> Iterator[FileProblem]:
    path = ("server", "password")
    if server.get("password") and path not in context.interpolated:
        yield context.document.problem(
            path,
            "the password is written in the file: use ${DATAMEER_PASSWORD} or ~/.netrc instead",
            severity="warning",
        )


def _emulator_file(emulator: Any, context: CheckContext) -> Iterator[FileProblem]:
    if not isinstance(emulator, str):
        return
    path = beside_file(emulator, context.base_dir)
    if not Path(path).is_file():
        yield context.document.problem(
            ("emulator",),
            f"emulator scenario {emulator!r} does not exist (looked for {path})",
            severity="warning",
        )


def _extensions(jobs: Mapping[str, Any], document: Document) -> Iterator[FileProblem]:
    for name, job in jobs.items():
        path = job.get("path") if isinstance(job, Mapping) else None
        message = missing_extension_message("the path", path) if isinstance(path, str) else None
        if message is not None:
            yield document.problem(("jobs", name, "path"), message, severity="warning")
