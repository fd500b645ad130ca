"""``dmpipe validate`` output: plain text, GitHub workflow annotations, or a JSON document."""

from __future__ import annotations

import json
from collections.abc import Sequence

from runner.errors import FileProblem
from runner.github import command
from runner.spec.loader import Inspection

FORMATS = ("text", "github", "json")


def render(results: Sequence[Inspection], output_format: str) -> str:
    """The whole output for ``results`` (one per file, in the order given)."""
    if output_format == "json":
        return render_json(results)
    if output_format == "github":
        return render_github(results)
    return render_text(results)


def render_text(results: Sequence[Inspection]) -> str:
    """``file:line:col: message`` lines (warnings say so), then a one-line summary."""
    lines = [str(problem) for result in results for problem in result.problems]
    return "\n".join([*lines, summary(results)]) + "\n"


def render_github(results: Sequence[Inspection]) -> str:
    """``::error file=…,line=…,col=…::message`` workflow commands, then the summary."""
    lines = [_annotation(problem) for result in results for problem in result.problems]
    return "\n".join([*lines, summary(results)]) + "\n"


def render_json(results: Sequence[Inspection]) -> str:
    """A document listing each file, whether it is valid, and its problems."""
    document = {
        "version": 1,
        "valid": all(result.pipeline is not None for result in results),
        "files": [
            {
                "file": result.file,
                "valid": result.pipeline is not None,
                "problems": [_problem_record(problem) for problem in result.problems],
            }
            for result in results
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def summary(results: Sequence[Inspection]) -> str:
    """``3 files valid`` or ``1 file valid, 2 invalid (5 errors, 1 warning)``."""
    valid = sum(1 for result in results if result.pipeline is not None)
    invalid = len(results) - valid
    errors = sum(len(result.errors) for result in results)
    warnings = sum(len(result.warnings) for result in results)
    text = f"{valid} {'file' if valid == 1 else 'files'} valid"
    if invalid:
        text += f", {invalid} invalid"
    counts = [_count(errors, "error"), _count(warnings, "warning")]
    details = [count for count in counts if count]
    return f"{text} ({', '.join(details)})" if details else text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}" if number else ""


def _annotation(problem: FileProblem) -> str:
    level = "error" if problem.severity == "error" else "warning"
    return command(level, problem.message, file=problem.file, line=problem.line, col=problem.col)


def _problem_record(problem: FileProblem) -> dict[str, object]:
    return {
        "file": problem.file,
        "line": problem.line,
        "col": problem.col,
        "severity": problem.severity,
        "message": problem.message,
        "path": problem.json_path,
    }
