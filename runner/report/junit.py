"""``junit.xml``: a test case per job, as Jenkins, GitLab and GitHub test reporters read it.

A failed or timed-out job is a ``<failure>``, a cancelled or unfinished one an
``<error>`` (it could not complete), a skipped one ``<skipped>``.  Times are
dmpipe's elapsed seconds (first trigger sent → last final status seen).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC

from runner.engine.outcome import JobOutcome
from runner.report.saved import AttemptRecord, JobRecord, RunReport
from runner.report.timeline import elapsed_seconds
from runner.report.wording import (
    outcome_word,
    runner_time,
    selection_text,
    server_time,
    stop_word,
    variables_text,
    warning_lines,
)
from runner.spec.durations import format_elapsed

# Characters XML 1.0 cannot carry at all, even escaped (a server message may hold any).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FAILURES = (JobOutcome.FAILED, JobOutcome.TIMED_OUT)


def to_junit(report: RunReport) -> str:
    """The JUnit XML document for ``report``."""
    suite = _suite(report)
    root = ET.Element("testsuites", _counts(report, suite_name="dmpipe"))
    root.append(suite)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _suite(report: RunReport) -> ET.Element:
    attributes = _counts(report, suite_name=report.pipeline_name)
    attributes["timestamp"] = report.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    suite = ET.Element("testsuite", attributes)
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(report):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for job in report.jobs:
        suite.append(_case(report, job))
    return suite


def _counts(report: RunReport, *, suite_name: str) -> dict[str, str]:
    outcomes = [job.outcome for job in report.jobs]
    return {
        "name": _clean(suite_name),
        "tests": str(len(outcomes)),
        "failures": str(sum(o in _FAILURES for o in outcomes)),
        "errors": str(sum(o is JobOutcome.CANCELED or not o.is_final for o in outcomes)),
        "skipped": str(sum(o is JobOutcome.SKIPPED for o in outcomes)),
        "time": f"{max(report.duration_seconds, 0.0):.3f}",
    }


def _properties(report: RunReport) -> list[tuple[str, str]]:
    return [
        ("pipeline.file", report.pipeline_file),
        ("pipeline.sha256", report.pipeline_sha256 or ""),
        ("mode", report.mode),
        ("mode.requested", report.mode_requested),
        ("mode.reason", report.mode_reason),
        ("server", report.server_url or ""),
        ("server.user", report.server_user or ""),
        ("server.profile", report.profile or ""),
        ("server.emulator", str(report.emulator).lower()),
        ("run_by", report.os_user or ""),
        ("selection", selection_text(report)),
        ("variables", variables_text(report)),
        ("exit_code", str(report.exit_code)),
        ("dmpipe.version", report.runner_version),
        *((f"warning.{n}", line) for n, line in enumerate(warning_lines(report), start=1)),
    ]


def _case(report: RunReport, job: JobRecord) -> ET.Element:
    seconds = elapsed_seconds(job) or 0.0
    case = ET.Element(
        "testcase",
        {
            "name": _clean(job.name),
            "classname": _clean(f"dmpipe.{report.pipeline_name}"),
            "time": f"{seconds:.3f}",
        },
    )
    verdict = _verdict_element(job)
    if verdict is not None:
        case.append(verdict)
    out = ET.SubElement(case, "system-out")
    out.text = _clean(_details(job))
    return case


def _verdict_element(job: JobRecord) -> ET.Element | None:
    outcome = job.outcome
    if outcome is JobOutcome.SUCCEEDED:
        return None
    reason = job.reason or outcome_word(outcome)
    if outcome is JobOutcome.SKIPPED:
        return ET.Element("skipped", {"message": _clean(reason)})
    tag = "failure" if outcome in _FAILURES else "error"
    kind = outcome.value if outcome.is_final else "NOT_FINISHED"
    if not outcome.is_final:
        reason = f"the run ended while the job was {outcome_word(outcome)}"
    element = ET.Element(tag, {"message": _clean(reason), "type": kind})
    element.text = _clean("\n".join(_attempt_line(a) for a in job.attempts) or reason)
    return element


def _details(job: JobRecord) -> str:
    lines = [f"{job.ref_kind} {job.ref_value}; outcome {outcome_word(job.outcome)}"]
    for attempt in job.attempts:
        lines.append(_attempt_line(attempt))
        lines.extend(f"  {name} = {value}" for name, value in sorted(attempt.counters.items()))
    return "\n".join(lines)


def _attempt_line(attempt: AttemptRecord) -> str:
    text = (
        f"attempt {attempt.number}: execution {attempt.execution_id or '—'}, "
        f"{outcome_word(attempt.outcome)}; trigger sent {runner_time(attempt.triggered_at)}, "
        f"final status seen {runner_time(attempt.detected_at)} "
        f"({format_elapsed(attempt.observed_seconds)} on dmpipe's clock); Datameer ran it "
        f"{server_time(attempt.server_start)} → {server_time(attempt.server_stop)} "
        f"({format_elapsed(attempt.server_seconds)}, server time)"
    )
    if attempt.stop_requested:
        text += "; " + stop_word(attempt.stop_requested, attempt.stop_confirmed)
    return text + (f"; error: {attempt.error}" if attempt.error else "")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
