"""``report show``'s rendering: the saved run, drawn with rich."""

from __future__ import annotations

import io

from rich.console import Console

from runner.report.load import parse_report, read_report
from runner.report.saved import RunReport
from runner.report.terminal import render_report
from testing.reports import MIXED_OUTCOMES, MixedRun, attempt, report_document, report_job


def shown(report: RunReport) -> str:
    out = io.StringIO()
    Console(file=out, width=120, no_color=True).print(render_report(report))
    return out.getvalue()


def test_headline_jobs_and_what_went_wrong(mixed_run: MixedRun) -> None:
    text = shown(read_report(mixed_run.directory))
    lines = text[: text.index("attempts that went wrong")].splitlines()
    assert lines[0].startswith("test failed in ")
    assert "critical path: extract → long_running" in text
    for name, (outcome, tries) in MIXED_OUTCOMES.items():
        (row,) = [
            line
            for line in lines
            if line.startswith(f"│ {name} ") and outcome.lower()[:6] in line.lower()
        ]
        assert f"│ {tries:>5} │" in row
    problems = text[text.index("attempts that went wrong") :]
    assert problems.count("│ load_bad ") == 2
    assert "stop confirmed" in problems
    assert "Datameer reported ERROR" in problems


def test_markup_prints_as_text() -> None:
    document = report_document(
        report_job(
            "[bold]x[/]",
            attempt(1, outcome="FAILED", error="[/oops] [red]no[/red]"),
            outcome="FAILED",
            reason="[link=http://evil]y[/link]",
        )
    )
    text = shown(parse_report(document))
    assert "[bold]x[/]" in text
    assert "[link=http://evil]y[/link]" in text
    assert "[/oops] [red]no[/red]" in text


def test_a_run_without_jobs() -> None:
    text = shown(parse_report(report_document(exit_code=3)))
    assert "handmade server unreachable in 1m 00s (exit 3): no jobs" in text
    assert "attempts that went wrong" not in text
