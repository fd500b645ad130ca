"""Loading is one function: read, compose, interpolate, validate, check, build.

Every stage reports problems instead of stopping at the first, so a file is
shown with all its mistakes at once; only a stage whose input is broken is
skipped (no schema check without a YAML mapping, no semantic checks without a
schema-valid value).
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import FileProblem, PipelineFileError
from runner.model import Pipeline
from runner.spec.build import build_pipeline
from runner.spec.checks import CheckContext, semantic_problems
from runner.spec.decoding import MAX_BYTES, read_source, too_big_message
from runner.spec.naming import shown
from runner.spec.schema_check import schema_problems
from runner.spec.substitution import substitute
from runner.spec.yaml_source import parse_document

log = logging.getLogger("runner.spec")


@dataclass(frozen=True)
class Inspection:
    """What loading a file found: the pipeline (None if any error), every problem in file order."""

    pipeline: Pipeline | None
    problems: tuple[FileProblem, ...]
    file: str = ""

    @property
    def errors(self) -> tuple[FileProblem, ...]:
        """The problems that make the file invalid."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[FileProblem, ...]:
        """The problems that do not."""
        return tuple(p for p in self.problems if p.severity != "error")


def inspect_pipeline(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Inspection:
    """Load the pipeline file at ``path`` and report all findings; never raises for a bad file."""
    filename = os.fspath(path)
    try:
        text = read_source(path)
    except PipelineFileError as error:
        return Inspection(None, tuple(error.problems), filename)
    base_dir = str(Path(filename).absolute().parent)
    return _inspect(text, filename, base_dir, env, variables)


def inspect_pipeline_text(
    text: str,
    *,
    filename: str = "<string>",
    env: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Inspection:
    """``inspect_pipeline`` for text; relative paths in it are taken from the current folder."""
    if len(text) > MAX_BYTES:
        problem = FileProblem(filename, 1, 1, too_big_message(len(text)))
        return Inspection(None, (problem,), filename)
    return _inspect(text, filename, str(Path.cwd()), env, variables)


def load_pipeline(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    emulator: bool = True,
) -> Pipeline:
    """The typed pipeline in ``path``; PipelineFileError listing all problems if one is an error.

    Warnings are logged; ``emulator=False`` (a run on a real server) leaves out those about
    the file's ``emulator:`` scenario, which that run does not use.
    """
    inspection = inspect_pipeline(path, env=env, variables=variables)
    return _accept(inspection, emulator=emulator)


def load_pipeline_text(
    text: str,
    *,
    filename: str = "<string>",
    env: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Pipeline:
    """``load_pipeline`` for text (tests, tools)."""
    return _accept(inspect_pipeline_text(text, filename=filename, env=env, variables=variables))


def _accept(inspection: Inspection, *, emulator: bool = True) -> Pipeline:
    if inspection.pipeline is None:
        raise PipelineFileError(list(inspection.problems))
    for warning in inspection.warnings:  # the log line says "warning:" already
        if not emulator and _about_emulator(warning.json_path):
            continue
        log.warning("%s:%d:%d: %s", warning.file, warning.line, warning.col, warning.message)
    return inspection.pipeline


def _about_emulator(json_path: str) -> bool:
    """True for a finding inside the pipeline's ``emulator:`` key (``$.emulator...``)."""
    return json_path == "$.emulator" or json_path.startswith(("$.emulator.", "$.emulator["))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while loading.

    Loading allocates hundreds of thousands of small containers, none of them
    in a reference cycle; the collector's passes over them took a fifth of the
    time on a 10,000-job file.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _inspect(
    text: str,
    filename: str,
    base_dir: str,
    env: Mapping[str, str] | None,
    variables: Mapping[str, str] | None,
) -> Inspection:
    with _collector_paused():
        return _inspect_stages(text, filename, base_dir, env, variables)


def _inspect_stages(
    text: str,
    filename: str,
    base_dir: str,
    env: Mapping[str, str] | None,
    variables: Mapping[str, str] | None,
) -> Inspection:
    try:
        parsed = parse_document(text, filename)
    except PipelineFileError as error:
        return Inspection(None, tuple(error.problems), filename)
    document = parsed.document
    if not isinstance(document.value, dict):
        return Inspection(None, (_not_a_mapping(document.value, filename),), filename)
    substituted = substitute(document, os.environ if env is None else env)
    value = _with_variables(substituted.value, variables or {})
    problems = [*parsed.problems, *substituted.problems]
    problems += schema_problems(document, value, skip=substituted.failed)
    if not _has_errors(problems):
        context = CheckContext(document, substituted.interpolated, base_dir)
        problems += semantic_problems(value, context)
    pipeline = None
    if not _has_errors(problems):
        pipeline = build_pipeline(value, document, path=filename, base_dir=base_dir)
    return Inspection(pipeline, _in_file_order(problems), filename)


def _not_a_mapping(value: Any, filename: str) -> FileProblem:
    if value is None:
        message = "the file is empty: a pipeline is a mapping with version, name and jobs"
    else:
        message = f"the top level must be a mapping with version, name and jobs, got {shown(value)}"
    return FileProblem(filename, 1, 1, message)


def _with_variables(value: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """``--var NAME=VALUE`` overrides (or adds) workbook variables; the text is taken as is."""
    if not overrides:
        return value
    current = value.get("variables")
    if current is not None and not isinstance(current, dict):
        return value  # the schema reports the file's mistake
    return {**value, "variables": {**(current or {}), **overrides}}


def _has_errors(problems: Iterable[FileProblem]) -> bool:
    return any(problem.severity == "error" for problem in problems)


def _in_file_order(problems: Iterable[FileProblem]) -> tuple[FileProblem, ...]:
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: (p.line, p.col)))
