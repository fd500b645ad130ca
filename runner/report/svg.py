"""Inline SVG for the HTML report: the Gantt timeline and the job graph.

Every piece of text goes through ``html.escape``: job names and server messages
are untrusted.  Colours are attributes, not CSS, so the drawing stays readable
wherever the SVG is pasted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from itertools import pairwise

from runner.engine.outcome import JobOutcome
from runner.report.palette import FILL
from runner.report.timeline import Bar, Timeline
from runner.report.wording import outcome_word, stop_word
from runner.spec.durations import format_elapsed

WIDTH = 960
LABEL_WIDTH = 200
PLOT_LEFT = 210
PLOT_WIDTH = WIDTH - PLOT_LEFT - 30
AXIS_HEIGHT = 28
ROW_HEIGHT = 28
BAR_HEIGHT = 18
MIN_BAR_WIDTH = 3.0

_TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
_DEFS = (
    "<defs>"
    '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#9e9e9e"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#424242" stroke-width="3"/></pattern>'
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
    'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
    '<path d="M0,0 L10,5 L0,10 z" fill="#546e7a"/>'
    "</marker></defs>"
)


def gantt(timeline: Timeline, outcomes: Mapping[str, JobOutcome]) -> str:
    """The timeline: a row per job, a bar per attempt, the critical path outlined."""
    height = AXIS_HEIGHT + ROW_HEIGHT * max(len(timeline.rows), 1) + 8
    scale = PLOT_WIDTH / timeline.length if timeline.length > 0 else 0.0
    row_of = {name: index for index, name in enumerate(timeline.rows)}
    critical = set(timeline.critical)
    parts = [
        f'<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        'aria-label="Timeline: one bar per attempt">',
        _DEFS,
        *_axis(timeline.length, scale, height),
    ]
    for name, index in row_of.items():
        parts.extend(_row(name, index, name in critical, outcomes.get(name)))
    for bar in timeline.bars:
        if bar.job in row_of:
            parts.extend(_bar(bar, row_of[bar.job], scale, bar.job in critical))
    parts.append("</svg>")
    return "".join(parts)


def dag(
    columns: Sequence[Sequence[str]],
    edges: Sequence[tuple[str, str]],
    outcomes: Mapping[str, JobOutcome],
    critical: Sequence[str],
) -> str:
    """The job graph, one column per level; edges of the critical path drawn heavier."""
    box_w, box_h, col_gap, row_gap = 150, 32, 40, 14
    place: dict[str, tuple[float, float]] = {}
    for level, names in enumerate(columns):
        for row, name in enumerate(names):
            place[name] = (16 + level * (box_w + col_gap), 16 + row * (box_h + row_gap))
    width = 32 + max(len(columns), 1) * (box_w + col_gap) - col_gap
    height = 32 + max((len(c) for c in columns), default=1) * (box_h + row_gap) - row_gap
    pairs = set(pairwise(critical))
    parts = [
        f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Job graph">',
        _DEFS,
    ]
    for source, target in edges:
        (x1, y1), (x2, y2) = place[source], place[target]
        heavy = (source, target) in pairs
        parts.append(
            f'<path class="edge{" critical" if heavy else ""}" d="M{x1 + box_w},{y1 + box_h / 2} '
            f"C{x1 + box_w + col_gap / 2},{y1 + box_h / 2} {x2 - col_gap / 2},{y2 + box_h / 2} "
            f'{x2},{y2 + box_h / 2}" fill="none" stroke="{"#111" if heavy else "#90a4ae"}" '
            f'stroke-width="{2.5 if heavy else 1.2}" marker-end="url(#arrow)"/>'
        )
    for name, (x, y) in place.items():
        parts.append(_node(name, x, y, box_w, box_h, outcomes.get(name), name in critical))
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    """A small SVG key to the bar colours and marks."""
    shown = (JobOutcome.SUCCEEDED, JobOutcome.FAILED, JobOutcome.TIMED_OUT, JobOutcome.CANCELED)
    items = [(outcome, outcome_word(outcome)) for outcome in (*shown, None)]
    parts = [
        f'<svg class="legend" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="22" '
        f'viewBox="0 0 {WIDTH} 22" role="img" aria-label="Legend">',
        _DEFS,
    ]
    x = 0
    for outcome, label in items:
        fill = "url(#hatch)" if outcome is JobOutcome.CANCELED else FILL[outcome]
        parts.append(f'<rect x="{x}" y="4" width="14" height="14" fill="{fill}"/>')
        parts.append(f'<text x="{x + 18}" y="16" font-size="12">{label}</text>')
        x += 30 + 7 * len(label)
    parts.append(
        f'<rect x="{x}" y="4" width="14" height="14" fill="#fff" stroke="#111" stroke-width="2"/>'
        f'<text x="{x + 18}" y="16" font-size="12">critical path</text>'
        f'<rect x="{x + 110}" y="3" width="3" height="16" fill="#111"/>'
        f'<text x="{x + 118}" y="16" font-size="12">stop requested (red: not confirmed)</text>'
        "</svg>"
    )
    return "".join(parts)


def _axis(length: float, scale: float, height: int) -> list[str]:
    step = next((s for s in _TICK_STEPS if length / s <= 8), _TICK_STEPS[-1] * 2)
    parts = []
    ticks = int(length // step) + 1 if length > 0 else 1
    for index in range(ticks):
        x = PLOT_LEFT + index * step * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{AXIS_HEIGHT - 6}" x2="{x:.1f}" y2="{height - 8}" '
            'stroke="#e0e0e0"/>'
            f'<text x="{x:.1f}" y="{AXIS_HEIGHT - 10}" font-size="11" text-anchor="middle" '
            f'fill="#546e7a">{escape(_tick(index * step))}</text>'
        )
    return parts


def _tick(seconds: float) -> str:
    if seconds == 0:
        return "0"
    return format_elapsed(seconds).replace(".0s", "s").replace(" 00s", "")


def _row(name: str, index: int, critical: bool, outcome: JobOutcome | None) -> list[str]:
    y = AXIS_HEIGHT + index * ROW_HEIGHT
    band = "#fff8e1" if critical else ("#fafafa" if index % 2 else "#ffffff")
    label = ("◆ " if critical else "") + _cut(name, 26)
    weight = ' font-weight="bold"' if critical else ""
    parts = [
        f'<rect class="row{" critical" if critical else ""}" x="0" y="{y}" width="{WIDTH}" '
        f'height="{ROW_HEIGHT}" fill="{band}"/>',
        f'<text class="label" x="{LABEL_WIDTH}" y="{y + 18}" font-size="12" text-anchor="end"'
        f"{weight}><title>{escape(name)}</title>{escape(label)}</text>",
    ]
    if outcome is JobOutcome.SKIPPED or outcome is JobOutcome.PENDING:
        parts.append(
            f'<text x="{PLOT_LEFT + 4}" y="{y + 18}" font-size="11" font-style="italic" '
            f'fill="#78909c">{escape(outcome_word(outcome))}</text>'
        )
    return parts


def _bar(bar: Bar, row: int, scale: float, critical: bool) -> list[str]:
    y = AXIS_HEIGHT + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
    x = PLOT_LEFT + bar.start * scale
    width = max((bar.end - bar.start) * scale, MIN_BAR_WIDTH)
    fill = "url(#hatch)" if bar.outcome is JobOutcome.CANCELED else FILL[bar.outcome]
    outline = ' stroke="#111" stroke-width="2"' if critical else ""
    classes = " ".join(_bar_classes(bar, critical))
    parts = [
        f'<rect class="{classes}" data-job="{escape(bar.job)}" data-attempt="{bar.attempt}" '
        f'x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" rx="2" '
        f'fill="{fill}"{outline}><title>{escape(_bar_title(bar))}</title></rect>'
    ]
    text_x = x + 4 if width >= 30 else x + width + 3
    colour = "#fff" if width >= 30 else "#263238"
    parts.append(
        f'<text x="{text_x:.1f}" y="{y + 13:.1f}" font-size="11" fill="{colour}">'
        f"#{bar.attempt}{' ↻' if bar.retried else ''}</text>"
    )
    if bar.open_end:
        tip = x + width
        parts.append(
            f'<path class="open-end" d="M{tip:.1f},{y:.1f} l6,{BAR_HEIGHT / 2} '
            f'l-6,{BAR_HEIGHT / 2} z" fill="{FILL[bar.outcome] if bar.outcome else FILL[None]}"/>'
        )
    if bar.stop_requested:
        mark = "#d50000" if bar.stop_confirmed is not True else "#111"
        parts.append(
            f'<rect class="stop-mark" x="{x + width - 1.5:.1f}" y="{y - 3:.1f}" width="3" '
            f'height="{BAR_HEIGHT + 6}" fill="{mark}"/>'
        )
    return parts


def _bar_classes(bar: Bar, critical: bool) -> list[str]:
    classes = ["attempt", f"outcome-{outcome_word(bar.outcome).replace(' ', '-')}"]
    flags = {
        "retried": bar.retried,
        "critical": critical,
        "open-end": bar.open_end,
        "open-start": bar.open_start,
        "stopped": bar.stop_requested,
    }
    return classes + [name for name, on in flags.items() if on]


def _bar_title(bar: Bar) -> str:
    span = "until the run ended" if bar.open_end else format_elapsed(bar.end - bar.start)
    words = [f"{bar.job} attempt {bar.attempt}: {outcome_word(bar.outcome)}, {span}"]
    if bar.open_start:
        words.append("triggered before this run")
    if bar.retried:
        words.append("retried")
    if bar.stop_requested:
        words.append(stop_word(bar.stop_requested, bar.stop_confirmed))
    return "; ".join(words)


def _node(
    name: str, x: float, y: float, w: int, h: int, outcome: JobOutcome | None, critical: bool
) -> str:
    fill = FILL.get(outcome, FILL[None])
    stroke = ' stroke="#111" stroke-width="2.5"' if critical else ""
    return (
        f'<g class="node" data-job="{escape(name)}"><title>{escape(name)}: '
        f"{escape(outcome_word(outcome))}</title>"
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
        f'fill-opacity="0.85"{stroke}/>'
        f'<text x="{x + w / 2}" y="{y + h / 2 + 4}" font-size="12" text-anchor="middle" '
        f'fill="#fff">{escape(_cut(name, 20))}</text></g>'
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
