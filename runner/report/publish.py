"""Write a run's derived reports next to ``report.json``: JUnit XML, Markdown, HTML.

``report.json`` is the record; these files are renderings of it, so failing to
write one is a warning, never a failed run (``dmpipe report html DIR`` and its
siblings regenerate them).  The Markdown summary is also appended to the file
named by ``$GITHUB_STEP_SUMMARY`` when that variable is set (GitHub Actions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.errors import DmpipeError
from runner.report import HTML_NAME, JUNIT_NAME, MARKDOWN_NAME
from runner.report.saved import RunReport
from runner.report.writer import REPORT_NAME, write_atomically

log = logging.getLogger("runner.report")

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def renderers() -> dict[str, Callable[[RunReport], str]]:
    """File name → the function that renders a report into it."""
    from runner.report.html import to_html
    from runner.report.junit import to_junit
    from runner.report.markdown import to_markdown

    return {JUNIT_NAME: to_junit, MARKDOWN_NAME: to_markdown, HTML_NAME: to_html}


def publish_reports(report_dir: Path, environ: Mapping[str, str]) -> list[Path]:
    """Render ``report_dir/report.json`` into every format; returns the files written.

    Does nothing when the run wrote no report; logs (never raises) a failure to write.
    """
    from runner.report.load import parse_report, read_document

    source = report_dir / REPORT_NAME
    if not source.is_file():
        return []
    try:
        report = parse_report(read_document(source))
        written = [
            write_atomically(report_dir / name, render(report))
            for name, render in renderers().items()
        ]
        target = environ.get(STEP_SUMMARY_VARIABLE)
        if target:
            append_step_summary(Path(target), (report_dir / MARKDOWN_NAME).read_text("utf-8"))
    except (OSError, DmpipeError) as error:
        log.warning("could not write the reports next to %s: %s", source, error)
        return []
    except Exception:  # a rendering bug must not replace the run's own exit code
        log.exception("could not render %s: this is a bug, please report it", source)
        return []
    return written


def append_step_summary(target: Path, markdown: str) -> None:
    """Add ``markdown`` to a CI job summary file (GitHub appends; we must not overwrite)."""
    with target.open("a", encoding="utf-8") as file:
        file.write(markdown.rstrip("\n") + "\n\n")
