"""``dmpipe run`` on the emulator: report.json and every rendering carry the run's context
(who, where, which mode and why, selection, masked variables) and its warnings."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest

from runner.commands.main import main
from runner.report.load import read_report

PIPELINE = """\
version: 1
name: context
mode: {mode}
variables: {{run_date: "2026-11-30", db_password: hunter2, apiToken: abc123}}
policies: {{poll_interval: 0.05s, max_poll_interval: 0.2s}}
jobs:
  first: {{file_id: 1}}
  second: {{file_id: 2, needs: [first]}}
  third: {{file_id: 3, needs: [second]}}
emulator:
  clock: real
  time_scale: 100
  version: "{version}"
  users: {{admin: {{password: admin}}}}
  faults: {faults}
  artifacts:
    - {{file_id: 1, duration: 2, queue_time: 0, downstream: [2]}}
    - {{file_id: 2, duration: 2, queue_time: 0, downstream: [3]}}
    - {{file_id: 3, duration: 2, queue_time: 0}}
"""
SECRETS = ("hunter2", "abc123")

# Every run here shares a virtual clock with its --emulator: no real waits.
pytestmark = pytest.mark.usefixtures("virtual_time")


def run(
    tmp_path: Path, *args: str, mode: str = "auto", version: str = "7.5.2", faults: str = "{}"
) -> tuple[int, dict[str, Any], Path]:
    path = tmp_path / "pipeline.yaml"
    text = PIPELINE.format(mode=mode, version=version, faults=faults)
    path.write_text(text, encoding="utf-8")
    report_dir = tmp_path / "run"
    argv = ["run", str(path), "--emulator", "--report-dir", str(report_dir), *args]
    code = main([*argv, "--progress", "plain"])
    document = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    read_report(report_dir)  # the schema describes every key written
    return code, document, report_dir


def test_the_report_names_who_ran_what_where(tmp_path: Path) -> None:
    code, report, run_dir = run(
        tmp_path, "--select", "first", "second", "--mode", "client", "--var", "run_date=2026-12-01"
    )
    assert code == 0
    assert report["runner"]["os_user"] == pwd.getpwuid(os.getuid()).pw_name
    assert report["server"]["user"] == "admin"
    assert report["server"]["emulator"] is True
    assert report["server"]["profile"] is None
    assert report["server"]["url"].startswith("http://127.0.0.1:")
    assert report["mode"]["name"] == "client"
    assert report["mode"]["requested"] == "client"
    assert report["mode"]["reason"] == "set with --mode"
    assert report["selection"] == {"select": ["first", "second"], "exclude": []}
    assert report["variables"] == {
        "run_date": "2026-12-01",
        "db_password": "****",
        "apiToken": "****",
    }
    assert report["pipeline"]["file"].endswith("pipeline.yaml")
    assert len(report["pipeline"]["sha256"]) == 64
    # Client mode does not apply workbook variables: the mode choice's warning is kept.
    assert [w["kind"] for w in report["warnings"]] == ["setup"]
    assert "NOT applied" in report["warnings"][0]["message"]
    for name in ("report.json", "report.html", "summary.md", "junit.xml", "journal.jsonl"):
        text = (run_dir / name).read_text(encoding="utf-8")
        assert not any(secret in text for secret in SECRETS), name


@pytest.mark.parametrize(
    ("version", "ran", "fallback"),
    [
        pytest.param("7.5.2", "sequential", False, id="auto-ran-sequential"),
        pytest.param("7.4", "client", True, id="auto-fell-back-to-client"),
    ],
)
def test_the_report_says_which_mode_ran_and_why(
    tmp_path: Path, version: str, ran: str, fallback: bool
) -> None:
    code, report, _ = run(tmp_path, version=version)
    assert code == 0
    mode = report["mode"]
    assert (mode["name"], mode["requested"]) == (ran, "auto")
    assert mode["reason"].startswith("auto: the pipeline sets workbook variables")
    kinds = [warning["kind"] for warning in report["warnings"]]
    if fallback:
        assert "sequential trigger" in mode["fallback"]
        assert "fell back to client mode" in mode["reason"]
        assert "mode_fallback" in kinds
    else:
        assert mode["fallback"] is None
        assert "mode_fallback" not in kinds


def test_lost_trigger_answers_are_warnings_with_their_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = '{lost_trigger_rate: 1, paths: ["*/trigger"]}'
    code, report, run_dir = run(tmp_path, "--mode", "client", faults=lost)
    assert code == 0
    per_job = [(w["job"], w["kind"]) for w in report["warnings"] if w["job"]]
    assert per_job == [
        (job, kind)
        for job in ("first", "second", "third")
        for kind in ("trigger_unknown", "trigger_found")
    ]
    assert all(w["at"] for w in report["warnings"] if w["job"])
    capsys.readouterr()
    assert main(["report", "show", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    assert "warning +" in shown
    assert "first: trigger answer lost" in shown
    assert "run by: " in shown
    assert "(Datameer user admin)" in shown
    assert "(the in-process emulator, --emulator)" in shown
    markdown = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "### Warnings" in markdown
    assert "trigger answer lost" in markdown
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<h2>Warnings</h2>" in html
    assert "of the lost trigger found after" in html
    junit = (run_dir / "junit.xml").read_text(encoding="utf-8")
    assert 'name="server.user" value="admin"' in junit
    assert 'name="warning.1"' in junit


def test_a_trigger_sent_again_says_how_long_it_was_looked_for(tmp_path: Path) -> None:
    # Every trigger answered 503 (the action did not happen): dmpipe looks, finds
    # nothing, and only then sends again; the report explains the wait.
    failing = '{error_rate: 1, error_status: 503, paths: ["*/trigger"]}'
    code, report, _ = run(
        tmp_path, "--mode", "client", "--lost-trigger-wait", "0.2", faults=failing
    )
    assert code == 1
    first = [w for w in report["warnings"] if w["job"] == "first"]
    assert first[0]["kind"] == "trigger_unknown"
    assert "HTTP 503" in first[0]["message"]
    assert first[1]["kind"] == "trigger_resent"
    assert "no execution of the lost trigger found after" in first[1]["message"]
