"""``summary.md``: the run as GitHub-flavoured Markdown, for CI job summaries and pull requests.

Text from the report is untrusted: it is escaped so that it can neither break the
table nor inject HTML (GitHub renders inline HTML in Markdown).
"""

from __future__ import annotations

from runner.engine.outcome import JobOutcome
from runner.report.saved import JobRecord, RunReport
from runner.report.timeline import build_timeline, elapsed_seconds
from runner.report.wording import (
    context_facts,
    headline,
    one_line,
    outcome_word,
    stop_word,
    warning_lines,
)
from runner.spec.durations import format_elapsed

_MARK = {
    JobOutcome.SUCCEEDED: "✅",
    JobOutcome.FAILED: "❌",
    JobOutcome.TIMED_OUT: "⏱️",
    JobOutcome.CANCELED: "⏹️",
    JobOutcome.SKIPPED: "⏭️",
}
# HTML's three specials as entities, and a backslash before each Markdown special.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{char: "\\" + char for char in "\\`*_[]|~"}}
)
_HEAD = (
    "| job | outcome | attempts | elapsed (dmpipe) | on server (Datameer) | execution | reason |\n"
    "|---|---|---:|---:|---:|---:|---|"
)


def to_markdown(report: RunReport) -> str:
    """The summary document for ``report``."""
    mark = "✅" if report.succeeded else "❌"
    lines = [
        f"## {mark} dmpipe: {escape_markdown(headline(report))}",
        "",
        _HEAD,
        *(_row(job) for job in report.jobs),
        "",
        *_facts(report),
        *_counters(report),
        *_failures(report),
        *_warnings(report),
    ]
    return "\n".join(lines) + "\n"


def escape_markdown(text: str | None) -> str:
    """``text`` on one line, safe inside a table cell: no markup, no HTML, no cell break."""
    return one_line(text, limit=500).translate(_ESCAPES)


def _row(job: JobRecord) -> str:
    last = job.last
    cells = [
        escape_markdown(job.name),
        f"{_MARK.get(job.outcome, '⏳')} {outcome_word(job.outcome)}",
        str(len(job.attempts)),
        format_elapsed(elapsed_seconds(job)),
        format_elapsed(job.server_seconds),
        str(last.execution_id) if last and last.execution_id else "—",
        escape_markdown(job.reason),
    ]
    return "| " + " | ".join(cells) + " |"


def _counters(report: RunReport) -> list[str]:
    from runner.report.counters import COLUMNS_NOTE, counter_lines, gate_lines

    lines: list[str] = []
    counted = counter_lines(report)
    if counted:
        lines += [
            "",
            "### Counters",
            "",
            "| job | records | dropped | bytes |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {escape_markdown(c.job)} | {_n(c.records)} | {_n(c.dropped)} | {_n(c.bytes)} |"
            for c in counted
        ]
        lines += ["", f"_{escape_markdown(COLUMNS_NOTE)}_"]
    gates = gate_lines(report)
    if gates:
        lines += [
            "",
            "### Expect gates",
            "",
            "| job | gate | value | verdict |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| {escape_markdown(g.job)} | `{g.gate}` | {_n(g.actual)} | "
            f"{_GATE_MARK[g.verdict]} {g.verdict} |"
            for g in gates
        ]
    return lines


_GATE_MARK = {"met": "✅", "not met": "❌", "not judged": "➖"}


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _facts(report: RunReport) -> list[str]:
    critical = " → ".join(escape_markdown(name) for name in build_timeline(report).critical)
    facts = [f"**Critical path:** {critical or '—'}  "]
    facts += [
        f"**{label.capitalize()}:** {escape_markdown(text)}  "
        for label, text in context_facts(report)
    ]
    facts[-1] = facts[-1].rstrip()
    if report.drift is not None and report.drift.found:
        drifted = [*report.drift.added, *report.drift.left_out, *report.drift.out_of_order]
        facts[-1] += "  "
        facts.append("**Plan drift:** " + escape_markdown("; ".join(drifted)))
    if report.error:
        facts[-1] += "  "
        facts.append("**Ended early:** " + escape_markdown(report.error))
    for job, attempt in report.left_running:
        facts[-1] += "  "
        execution = attempt.execution_id or "unknown"
        facts.append(
            f"**Left running:** {escape_markdown(job.name)} (execution {execution}): "
            + escape_markdown(attempt.left_running)
        )
    facts.append("")
    facts.append(
        "_elapsed: dmpipe's clock, first trigger sent → last final status seen; "
        "on server: Datameer's start → stop. Two clocks, not subtracted._"
    )
    return facts


def _warnings(report: RunReport) -> list[str]:
    lines = [f"- {escape_markdown(line)}" for line in warning_lines(report)]
    return ["", "### Warnings", "", *lines] if lines else []


def _failures(report: RunReport) -> list[str]:
    lines: list[str] = []
    for job in report.jobs:
        for attempt in job.attempts:
            if not attempt.error and not attempt.stop_requested:
                continue
            what = "; ".join(
                part
                for part in (
                    outcome_word(attempt.outcome),
                    attempt.error or "",
                    stop_word(attempt.stop_requested, attempt.stop_confirmed),
                )
                if part
            )
            execution = attempt.execution_id or "—"
            lines.append(
                f"- {escape_markdown(job.name)} attempt {attempt.number} "
                f"(execution {execution}): {escape_markdown(what)}"
            )
    return ["", "### What went wrong", "", *lines] if lines else []
