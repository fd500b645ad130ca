"""Diagrams of a pipeline: Mermaid ``flowchart LR`` and Graphviz dot.

Each node shows the job's name and reference; a ``when`` rule other than
``all_success`` is written on the node and on its incoming edges (dashed).
Names and paths are escaped for each language, so any text is safe to embed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from runner.model import Job, Pipeline, When

# Mermaid reads "#name;" entity codes inside quoted labels; "#" itself must be escaped too.
_MERMAID_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    "\n": " ",
    "\r": " ",
}
_MERMAID_UNSAFE = re.compile('[#"<>&`\r\n]')
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def to_mermaid(pipeline: Pipeline) -> str:
    """The pipeline as a Mermaid flowchart, left to right."""
    ids = _node_ids(pipeline)
    lines = ["flowchart LR"]
    for name, job in pipeline.jobs.items():
        label = "<br/>".join(_mermaid_text(part) for part in _label_lines(job))
        lines.append(f'    {ids[name]}["{label}"]')
    for need, name, when in _edges(pipeline):
        if when is When.ALL_SUCCESS:
            lines.append(f"    {ids[need]} --> {ids[name]}")
        else:
            lines.append(f'    {ids[need]} -.->|"{when.value}"| {ids[name]}')
    return "\n".join(lines) + "\n"


def to_dot(pipeline: Pipeline) -> str:
    """The pipeline as a Graphviz digraph, left to right."""
    lines = [
        f"digraph {_dot_string(pipeline.name)} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    for name, job in pipeline.jobs.items():
        label = "\\n".join(_dot_escape(part) for part in _label_lines(job))
        lines.append(f'    {_dot_string(name)} [label="{label}"];')
    for need, name, when in _edges(pipeline):
        attributes = "" if when is When.ALL_SUCCESS else f' [label="{when.value}", style=dashed]'
        lines.append(f"    {_dot_string(need)} -> {_dot_string(name)}{attributes};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _label_lines(job: Job) -> list[str]:
    lines = [job.name, job.ref.describe()]
    if job.when is not When.ALL_SUCCESS:
        lines.append(f"when: {job.when.value}")
    return lines


def _edges(pipeline: Pipeline) -> Iterator[tuple[str, str, When]]:
    for name, job in pipeline.jobs.items():
        for need in job.needs:
            yield need, name, job.when


def _node_ids(pipeline: Pipeline) -> dict[str, str]:
    """Mermaid node ids: the name made safe, prefixed (``end`` is a keyword), made unique."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for name in pipeline.jobs:
        base = "job_" + _ID_UNSAFE.sub("_", name)
        node_id, number = base, 2
        while node_id in taken:
            node_id, number = f"{base}_{number}", number + 1
        taken.add(node_id)
        ids[name] = node_id
    return ids


def _mermaid_text(text: str) -> str:
    return _MERMAID_UNSAFE.sub(lambda match: _MERMAID_ENTITIES[match.group()], text)


def _dot_escape(text: str) -> str:
    # Inside a dot string a backslash starts an escape (\n, \l ...): double it first.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return escaped.replace("\n", "\\n").replace("\r", "")


def _dot_string(text: str) -> str:
    return f'"{_dot_escape(text)}"'


GRAPH_JSON_VERSION = 1


def to_json(pipeline: Pipeline) -> str:
    """The graph as a JSON document for tools: jobs with their reference and levels,
    edges from a needed job to the job that needs it (``when`` says on what)."""
    import json

    from runner.graph.dag import build_graph, levels

    graph = build_graph(pipeline)
    document = {
        "version": GRAPH_JSON_VERSION,
        "pipeline": pipeline.name,
        "jobs": [
            {
                "name": job.name,
                "ref": {"kind": job.ref.kind.value, "value": job.ref.value},
                "describe": job.ref.describe(),
                "needs": list(job.needs),
                "when": job.when.value,
            }
            for job in pipeline.jobs.values()
        ],
        "edges": [
            {"from": need, "to": name, "when": when.value} for need, name, when in _edges(pipeline)
        ],
        "levels": levels(graph),
    }
    return json.dumps(document, indent=2) + "\n"
