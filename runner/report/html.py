"""``report.html``: one self-contained page — facts, timeline, job graph, a table per job.

Nothing is fetched when the page opens: styles are inline, drawings are inline SVG,
there is no script, and a Content-Security-Policy forbids any request.  All text is
escaped with ``html.escape`` (job names and server messages are untrusted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

from runner.engine.outcome import JobOutcome
from runner.report import svg
from runner.report.palette import badge_css
from runner.report.saved import AttemptRecord, JobRecord, RunReport
from runner.report.timeline import Timeline, build_timeline, elapsed_seconds
from runner.report.wording import (
    context_facts,
    headline,
    outcome_word,
    runner_time,
    server_time,
    stop_word,
    tally,
    verdict,
    warning_lines,
)
from runner.spec.durations import format_elapsed

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;
color:#263238;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:0}
.verdict{font-weight:600;padding:2px 8px;border-radius:4px;color:#fff}
.ok{background:#2e7d32}.bad{background:#c62828}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0}
dt{color:#607d8b}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:6px 0 10px}td,th{border:1px solid #cfd8dc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#eceff1;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
article{border:1px solid #cfd8dc;border-radius:6px;padding:10px 14px;margin:12px 0}
.badge{font-size:12px;padding:1px 6px;border-radius:3px;color:#fff;margin-left:8px}
.note{color:#607d8b;font-size:13px}.reason{color:#b71c1c;overflow-wrap:anywhere}
.scroll{overflow-x:auto}code{font-size:13px}
"""


def to_html(report: RunReport) -> str:
    """The whole page for ``report``."""
    title = f"dmpipe · {report.pipeline_name} · {verdict(report)}"
    timeline = build_timeline(report)
    outcomes = {job.name: job.outcome for job in report.jobs}
    body = [
        _header(report),
        _summary(report),
        _warnings(report),
        _counters_overview(report),
        _timeline(timeline, outcomes),
        _graph(timeline, outcomes),
        "<h2>Jobs</h2>",
        *(_job(index, job) for index, job in enumerate(report.jobs)),
        f'<p class="note">Written by dmpipe {_e(report.runner_version)}.</p>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # An inline icon: otherwise browsers ask the server for /favicon.ico.
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title><style>{_STYLE}{badge_css()}\n</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _header(report: RunReport) -> str:
    css = "ok" if report.succeeded else "bad"
    facts = [(label, _e(text)) for label, text in context_facts(report)]
    facts += [
        ("started", _e(runner_time(report.started_at))),
        ("finished", _e(runner_time(report.finished_at))),
        ("duration", _e(format_elapsed(report.duration_seconds))),
        ("exit code", str(report.exit_code)),
    ]
    if report.interrupted or report.timed_out:
        facts.append(("ended by", "interrupt" if report.interrupted else "the run timeout"))
    if report.drift is not None:
        facts.append(("plan drift", _e(_drift(report))))
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return (
        f"<header><h1>{_e(report.pipeline_name)} "
        f'<span class="verdict {css}">{_e(verdict(report))}</span></h1>'
        f'<p>{_e(headline(report))}</p><dl class="facts">{rows}</dl></header>'
    )


def _warnings(report: RunReport) -> str:
    lines = warning_lines(report)
    if not lines:
        return ""
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return (
        f'<h2>Warnings</h2><ul class="warnings">{items}</ul>'
        '<p class="note">Times are from the start of the run, on dmpipe\'s clock: a gap in the '
        "timeline below is usually one of these.</p>"
    )


def _drift(report: RunReport) -> str:
    drift = report.drift
    if drift is None or not drift.found:
        return "none: the server's execution plan matched the pipeline"
    parts = [
        ("not in the pipeline", drift.added),
        ("left out", drift.left_out),
        ("out of order", drift.out_of_order),
    ]
    return "; ".join(f"{label}: {', '.join(items)}" for label, items in parts if items)


def _summary(report: RunReport) -> str:
    rows = [
        (
            f'<a href="#job-{index}">{_e(job.name)}</a>',
            _badge(outcome_word(job.outcome)),
            str(len(job.attempts)),
            _e(format_elapsed(elapsed_seconds(job))),
            _e(format_elapsed(job.server_seconds)),
            f'<span class="reason">{_e(job.reason or "")}</span>',
        )
        for index, job in enumerate(report.jobs)
    ]
    head = ("job", "outcome", "attempts", "elapsed (dmpipe)", "on server (Datameer)", "reason")
    return (
        f"<h2>Summary</h2><p>{_e(tally(report))}</p>"
        + _table(head, rows, numeric=(2,))
        + '<p class="note">“elapsed” is measured by dmpipe from the first trigger it sent to '
        "the last final status it saw (retry delays included); “on server” adds up Datameer's own "
        "start → stop times. They come from two clocks and are never subtracted: dmpipe's figure "
        "includes its own trigger and detection latency, Datameer's does not.</p>"
    )


def _timeline(timeline: Timeline, outcomes: Mapping[str, JobOutcome]) -> str:
    path = " → ".join(timeline.critical) or "—"
    return (
        "<h2>Timeline</h2>"
        '<p class="note">One bar per attempt, on dmpipe\'s clock: from sending the trigger to '
        "seeing the final status. ↻ marks an attempt that was retried; an arrow tip marks one "
        "whose end was never seen. Datameer's own start and stop times are in the job tables: "
        "they are server-local and cannot share this axis.</p>"
        f'<div class="scroll">{svg.gantt(timeline, outcomes)}</div>{svg.legend()}'
        f"<p>Critical path (longest chain by elapsed time): <b>{_e(path)}</b></p>"
    )


def _graph(timeline: Timeline, outcomes: Mapping[str, JobOutcome]) -> str:
    drawing = svg.dag(timeline.levels, timeline.edges, outcomes, timeline.critical)
    return f'<h2>Job graph</h2><div class="scroll">{drawing}</div>'


def _job(index: int, job: JobRecord) -> str:
    needs = ", ".join(job.needs) or "nothing"
    ids = f"configuration id {job.configuration_id or '—'}, file id {job.file_id or '—'}"
    reason = f'<p class="reason">{_e(job.reason)}</p>' if job.reason else ""
    resumed = (
        '<p class="note">carried over from the run this one resumed</p>' if job.resumed else ""
    )
    return (
        f'<article id="job-{index}"><h3>{_e(job.name)}{_badge(outcome_word(job.outcome))}</h3>'
        f"<p>{_e(job.ref_kind)} <code>{_e(job.ref_value)}</code> · {_e(ids)} · "
        f"needs {_e(needs)}</p>{reason}{resumed}{_attempts(job.attempts)}"
        f"{_counters(job.attempts)}</article>"
    )


def _attempts(attempts: Sequence[AttemptRecord]) -> str:
    if not attempts:
        return '<p class="note">never triggered in this run</p>'
    rows = [_attempt_row(attempt) for attempt in attempts]
    return f'<div class="scroll">{_table_under(_ATTEMPTS_HEAD, rows, numeric=(0, 1, 4, 7))}</div>'


def _attempt_row(attempt: AttemptRecord) -> tuple[str, ...]:
    execution = str(attempt.execution_id or "—") + (" (adopted)" if attempt.attached else "")
    return (
        str(attempt.number),
        _e(execution),
        _e(runner_time(attempt.triggered_at)),
        _e(runner_time(attempt.detected_at)),
        _e(format_elapsed(attempt.observed_seconds)),
        _e(server_time(attempt.server_start)),
        _e(server_time(attempt.server_stop)),
        _e(format_elapsed(attempt.server_seconds)),
        _e(attempt.raw_status or attempt.status or "—"),
        _badge(outcome_word(attempt.outcome)),
        _e(stop_word(attempt.stop_requested, attempt.stop_confirmed)),
        f'<span class="reason">{_e(attempt.error or "")}</span>',
    )


def _counters(attempts: Sequence[AttemptRecord]) -> str:
    counted = [attempt for attempt in attempts if attempt.counters]
    if not counted:
        return ""
    names = sorted({name for attempt in counted for name in attempt.counters})
    head = ("counter", *(f"attempt {attempt.number}" for attempt in counted))
    rows = [
        (
            _e(name),
            *(
                f"{attempt.counters[name]:,}" if name in attempt.counters else "—"
                for attempt in counted
            ),
        )
        for name in names
    ]
    numeric = tuple(range(1, len(head)))
    return "<p>Datameer's counters</p>" + _table(head, rows, numeric=numeric)


def _counters_overview(report: RunReport) -> str:
    """Records, dropped records and bytes per job, then the expect gates with verdicts."""
    from runner.report.counters import COLUMNS_NOTE, counter_lines, gate_lines

    lines, gates = counter_lines(report), gate_lines(report)
    if not lines and not gates:
        return ""
    parts = ["<h2>Counters</h2>"]
    if lines:
        rows = [
            (_e(c.job), _number(c.records), _number(c.dropped), _number(c.bytes)) for c in lines
        ]
        parts.append(_table(("job", "records", "dropped", "bytes"), rows, numeric=(1, 2, 3)))
        parts.append(f'<p class="note">{_e(COLUMNS_NOTE)}</p>')
    if gates:
        rows = [
            (_e(g.job), f"<code>{_e(g.gate)}</code>", _number(g.actual), _badge(_GATE[g.verdict]))
            for g in gates
        ]
        parts.append("<p>Expect gates</p>")
        parts.append(_table(("job", "gate", "value", "verdict"), rows, numeric=(2,)))
    return "\n".join(parts)


# A gate's verdict shown with the badge of the outcome it leads to.
_GATE = {"met": "succeeded", "not met": "failed", "not judged": "skipped"}


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table from cells that are already escaped HTML, under a head of plain text."""
    return _table_under(_head_row(head), rows, numeric)


def _head_row(head: Sequence[str]) -> str:
    cells = "".join(f"<th>{_e(cell)}</th>" for cell in head)
    return f"<thead><tr>{cells}</tr></thead>"


def _table_under(head_row: str, rows: Iterable[Sequence[str]], numeric: Sequence[int]) -> str:
    """A table from cells that are already escaped HTML, under a rendered ``_head_row``."""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head_row}<tbody>{body}</tbody></table>"


def _badge(word: str) -> str:
    return f'<span class="badge o-{_e(word.replace(" ", "-"))}">{_e(word)}</span>'


def _e(text: str | None) -> str:
    return escape(text or "", quote=True)


# Every job's page section has an attempts table under this head: rendered once.
_ATTEMPTS_HEAD = _head_row(
    (
        "#",
        "execution",
        "trigger sent (dmpipe)",
        "final status seen (dmpipe)",
        "elapsed (dmpipe)",
        "Datameer start",
        "Datameer stop",
        "on server",
        "status",
        "outcome",
        "stop",
        "error",
    )
)
