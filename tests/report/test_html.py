"""report.html: bars per attempt in the SVG, the critical path, self-containment, escaping."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from runner.report.html import CSP, to_html
from runner.report.load import parse_report, read_report
from testing.reports import (
    MARKUP_PATH,
    MIXED_OUTCOMES,
    MixedRun,
    attempt,
    report_document,
    report_job,
)


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, css_class: str = "") -> list[dict[str, str]]:
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and (not css_class or css_class in attrs.get("class", "").split())
        ]


def page(run: MixedRun) -> str:
    return (run.directory / "report.html").read_text("utf-8")


def bars(text: str) -> list[dict[str, str]]:
    return Elements(text).find("rect", "attempt")


def test_one_bar_per_attempt(mixed_run: MixedRun) -> None:
    counted = Counter(bar["data-job"] for bar in bars(page(mixed_run)))
    expected = {name: n for name, (_, n) in MIXED_OUTCOMES.items() if n}
    assert counted == expected


@pytest.mark.parametrize(
    ("job", "number", "classes"),
    [
        pytest.param("extract", "1", {"outcome-failed", "retried"}, id="retried-failure"),
        pytest.param("extract", "2", {"outcome-succeeded"}, id="success-after-retry"),
        pytest.param("load_bad", "2", {"outcome-failed"}, id="final-failure"),
        pytest.param("long_running", "1", {"outcome-canceled", "stopped"}, id="cancelled"),
    ],
)
def test_bars_are_coloured_by_outcome(
    mixed_run: MixedRun, job: str, number: str, classes: set[str]
) -> None:
    (bar,) = [
        b for b in bars(page(mixed_run)) if (b["data-job"], b["data-attempt"]) == (job, number)
    ]
    assert classes <= set(bar["class"].split())
    assert "retried" not in bar["class"] or number == "1"


def test_cancelled_bars_are_hatched_and_failures_red(mixed_run: MixedRun) -> None:
    by_key = {(b["data-job"], b["data-attempt"]): b for b in bars(page(mixed_run))}
    assert by_key[("long_running", "1")]["fill"] == "url(#hatch)"
    assert by_key[("load_bad", "1")]["fill"] == "#c62828"
    assert by_key[("extract", "2")]["fill"] == "#2e7d32"


def test_the_critical_path_is_marked(mixed_run: MixedRun) -> None:
    text = page(mixed_run)
    # extract → long_running: the cancelled job ran longest after the shared first job.
    marked = {b["data-job"] for b in bars(text) if "critical" in b["class"].split()}
    assert marked == {"extract", "long_running"}
    assert "Critical path (longest chain by elapsed time): <b>extract → long_running</b>" in text
    edges = Elements(text).find("path", "critical")
    assert len(edges) == 1


def test_bars_sit_on_the_run_axis(mixed_run: MixedRun) -> None:
    report = read_report(mixed_run.directory)
    placed = {(b["data-job"], b["data-attempt"]): float(b["x"]) for b in bars(page(mixed_run))}
    # The retry starts after the first attempt; the dependants after extract's success.
    assert placed[("extract", "2")] > placed[("extract", "1")]
    assert placed[("transform", "1")] >= placed[("extract", "2")]
    assert report.duration_seconds > 0


def test_the_job_graph_has_every_job_and_edge(mixed_run: MixedRun) -> None:
    elements = Elements(page(mixed_run))
    nodes = {g["data-job"] for g in elements.find("g", "node")}
    assert nodes == set(MIXED_OUTCOMES)
    assert len(elements.find("path", "edge")) == 5  # extract→3, transform→publish, load_bad→publish


def test_a_table_per_job_with_counters(mixed_run: MixedRun) -> None:
    text = page(mixed_run)
    assert len(Elements(text).find("article")) == len(MIXED_OUTCOMES)
    assert "WORKBOOK_RECORDS" in text
    assert "never triggered in this run" in text  # the skipped job
    assert "stop confirmed" in text


def test_the_page_asks_for_nothing(mixed_run: MixedRun) -> None:
    text = page(mixed_run)
    elements = Elements(text)
    assert elements.find("meta", "")
    assert any(
        m.get("http-equiv") == "Content-Security-Policy" and m.get("content") == CSP
        for m in elements.find("meta")
    )
    assert not elements.find("script")
    assert not [a for _, a in elements.tags if "src" in a]
    links = [a.get("href", "") for _, a in elements.tags if "href" in a]
    assert all(link.startswith(("#", "data:")) for link in links)
    assert not re.search(r"url\((?!#)", text)  # CSS url() only to the SVG's own patterns
    assert "@import" not in text


def test_server_markup_is_escaped(markup_run: MixedRun) -> None:
    text = page(markup_run)
    assert "<script" not in text.lower()
    assert MARKUP_PATH.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;") in text


def test_a_hostile_job_name_and_reason_are_escaped() -> None:
    name = '<script>alert("name")</script>'
    reason = "<script>alert('reason')</script><img src=x onerror=alert(1)>"
    document = report_document(
        report_job(
            name,
            attempt(1, outcome="FAILED", error=reason, status="ERROR"),
            outcome="FAILED",
            reason=reason,
            needs=["missing_upstream"],
        ),
        report_job("downstream", attempt(1), needs=[name]),
    )
    text = to_html(parse_report(document))
    assert "<script" not in text.lower()
    assert "<img" not in text.lower()
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in text
    assert "&lt;script&gt;alert(&#x27;reason&#x27;)&lt;/script&gt;" in text
    assert Counter(b["data-job"] for b in bars(text)) == {name: 1, "downstream": 1}


def test_a_run_that_never_started_a_job_still_renders() -> None:
    text = to_html(parse_report(report_document(exit_code=3)))
    assert "server unreachable" in text
    assert bars(text) == []
