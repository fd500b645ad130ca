"""summary.md: the table rows of a real run, and text that cannot break the table."""

from __future__ import annotations

import re

import pytest

from runner.report.load import parse_report
from runner.report.markdown import escape_markdown, to_markdown
from testing.reports import (
    MARKUP_PATH,
    MIXED_OUTCOMES,
    MixedRun,
    attempt,
    report_document,
    report_job,
)

HEADER = (
    "| job | outcome | attempts | elapsed (dmpipe) | on server (Datameer) | execution | reason |"
)


def table_rows(markdown: str) -> list[list[str]]:
    """The job table's body rows, split on unescaped pipes, cells unescaped."""
    lines = markdown.splitlines()
    start = lines.index(HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([re.sub(r"\\(.)", r"\1", cell.strip()) for cell in cells])
    return rows


def test_a_row_per_job_in_run_order(mixed_run: MixedRun) -> None:
    rows = table_rows((mixed_run.directory / "summary.md").read_text("utf-8"))
    assert [row[0] for row in rows] == list(MIXED_OUTCOMES)
    assert all(len(row) == 7 for row in rows)
    attempts = {row[0]: int(row[2]) for row in rows}
    assert attempts == {name: count for name, (_, count) in MIXED_OUTCOMES.items()}


@pytest.mark.parametrize(
    ("job", "outcome", "reason"),
    [
        pytest.param("extract", "✅ succeeded", "", id="succeeded-after-retry"),
        pytest.param("load_bad", "❌ failed", "Datameer reported ERROR", id="failed"),
        pytest.param("long_running", "⏹️ canceled", "canceled: load_bad failed", id="cancelled"),
        pytest.param("publish", "⏭️ skipped", "load_bad failed", id="skipped"),
    ],
)
def test_row_content(mixed_run: MixedRun, job: str, outcome: str, reason: str) -> None:
    rows = {row[0]: row for row in table_rows((mixed_run.directory / "summary.md").read_text())}
    assert rows[job][1] == outcome
    assert reason in rows[job][6]


def test_times_and_execution_ids(mixed_run: MixedRun) -> None:
    rows = {row[0]: row for row in table_rows((mixed_run.directory / "summary.md").read_text())}
    assert rows["extract"][3].endswith("s")
    assert rows["extract"][3] != "—"
    assert rows["extract"][4] != "—"  # Datameer's start → stop
    assert rows["extract"][5].isdigit()
    assert rows["publish"][3:6] == ["—", "—", "—"]


def test_headline_and_failures(mixed_run: MixedRun) -> None:
    text = (mixed_run.directory / "summary.md").read_text("utf-8")
    assert text.startswith("## ❌ dmpipe: test failed in ")
    assert "1 failed, 1 canceled, 1 skipped, 3 succeeded" in text
    assert "### What went wrong" in text
    assert "load\\_bad attempt 2" in text
    assert "stop confirmed" in text
    assert "**Critical path:** extract → " in text


def test_markup_from_the_server_is_escaped(markup_run: MixedRun) -> None:
    text = (markup_run.directory / "summary.md").read_text("utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    rows = table_rows(text)
    assert len(rows) == 1
    assert len(rows[0]) == 7
    assert MARKUP_PATH.replace("<", "&lt;").replace(">", "&gt;") in rows[0][6]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a|b", "a\\|b", id="pipe"),
        pytest.param("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;", id="html"),
        pytest.param("line\nbreak", "line break", id="newline"),
        pytest.param("[link](x)", "\\[link\\](x)", id="link"),
        pytest.param("a_b*c`d", "a\\_b\\*c\\`d", id="emphasis"),
        pytest.param("C:\\tmp ~x~", "C:\\\\tmp \\~x\\~", id="backslash-tilde"),
        pytest.param("a & <b> | c", "a &amp; &lt;b&gt; \\| c", id="entities-and-pipe"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


def test_a_hostile_job_name_keeps_the_table_whole() -> None:
    name = "x|<script>alert(1)</script>\n| injected | row |"
    document = report_document(report_job(name, attempt(1)))
    rows = table_rows(to_markdown(parse_report(document)))
    assert len(rows) == 1
    assert len(rows[0]) == 7
    assert "<script>" not in rows[0][0]
