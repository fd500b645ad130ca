"""The counters overview and the expect gates with their verdicts, from a real run into
report.json, the HTML page and the Markdown summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.report.counters import counter_lines, gate_lines
from runner.report.load import read_report

PIPELINE = """\
version: 1
name: gated
policies: {poll_interval: 50ms}
jobs:
  load:
    file_id: 1
    expect: {IMPORT_DROPPED_RECORDS: 0, IMPORT_RECORDS: "> 100"}
  enrich:
    file_id: 2
    needs: [load]
    expect: {WORKBOOK_RECORDS: ">= 1"}
emulator:
  clock: real
  time_scale: 100
  users: {admin: {password: admin}}
  artifacts:
    - file_id: 1
      duration: 1
      queue_time: 0
      counters: {IMPORT_RECORDS: 5000, IMPORT_DROPPED_RECORDS: 7, IMPORT_BYTES: 90000,
                 IMPORT_OUTPUT_BYTES: 1, IMPORT_PREVIEW_RECORDS: 100}
    - {file_id: 2, duration: 1, queue_time: 0, counters: {WORKBOOK_RECORDS: 12}}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gated")
    (folder / "p.yaml").write_text(PIPELINE, encoding="utf-8")
    code = main(
        ["run", str(folder / "p.yaml"), "--emulator", "--progress", "none",
         "--report-dir", str(folder / "run")]
    )  # fmt: skip
    assert code == 1  # load's first gate is not met
    return folder / "run"


def test_report_json_judges_every_gate(run_dir: Path) -> None:
    jobs = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["jobs"]
    load, enrich = jobs
    assert [(g["gate"], g["actual"], g["met"]) for g in load["expect"]] == [
        ("IMPORT_DROPPED_RECORDS == 0", 7, False),
        ("IMPORT_RECORDS > 100", 5000, True),
    ]
    assert load["outcome"] == "FAILED"
    assert (load["line"], load["col"], enrich["line"]) == (5, 3, 8)  # where each is written
    # enrich never ran: its gate is there, not judged.
    assert [(g["gate"], g["actual"], g["met"]) for g in enrich["expect"]] == [
        ("WORKBOOK_RECORDS >= 1", None, None)
    ]


def test_overview_lines(run_dir: Path) -> None:
    report = read_report(run_dir)
    assert [(c.job, c.records, c.dropped, c.bytes) for c in counter_lines(report)] == [
        ("load", 5000, 7, 90000)  # previews and output bytes left out
    ]
    assert [(g.job, g.verdict) for g in gate_lines(report)] == [
        ("load", "not met"),
        ("load", "met"),
        ("enrich", "not judged"),
    ]


def test_markdown_has_both_tables(run_dir: Path) -> None:
    text = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "| load | 5,000 | 7 | 90,000 |" in text
    assert "| load | `IMPORT_DROPPED_RECORDS == 0` | 7 | ❌ not met |" in text
    assert "| enrich | `WORKBOOK_RECORDS >= 1` | — | ➖ not judged |" in text


def test_html_has_both_tables(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Counters</h2>") : page.index("<h2>Timeline</h2>")]
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in rows]
    assert ["load", "5,000", "7", "90,000"] in cells
    gates = [row for row in cells if row and row[0] in ("load", "enrich") and len(row) == 4]
    verdicts = [re.sub(r"<[^>]+>", "", row[3]) for row in gates if "code" in row[1]]
    assert verdicts == ["failed", "succeeded", "skipped"]
