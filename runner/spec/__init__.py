"""The pipeline file: load it, validate it, explain what is wrong with it.

``load_pipeline(path)`` returns the typed ``runner.model.Pipeline`` or raises
``PipelineFileError`` listing every problem as ``file:line:col: message``;
``inspect_pipeline(path)`` returns all findings (errors and warnings) without
raising, for ``dmpipe validate``.  The stages, one module each: ``decoding``
(bytes → text), ``yaml_source`` (text → values with positions), ``substitution``
(``${VAR}``), ``schema`` + ``messages`` (JSON Schema → sentences), ``checks``
(what a schema cannot see), ``build`` (values → model).
"""

from __future__ import annotations

from runner.spec.loader import (
    Inspection,
    inspect_pipeline,
    inspect_pipeline_text,
    load_pipeline,
    load_pipeline_text,
)

__all__ = [
    "Inspection",
    "inspect_pipeline",
    "inspect_pipeline_text",
    "load_pipeline",
    "load_pipeline_text",
]
