"""``dmpipe run`` in sequential mode from the command line: README's pipeline, the quick start,
and selections the sequential trigger cannot honour."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from runner.commands.main import main
from testing.scenarios import ROOT

# Retries and polls as the README writes them would make the test wait minutes.
FAST = {
    "delay: 30s": "delay: 0.05s",
    "poll_interval: 2s": "poll_interval: 0.05s",
    "max_poll_interval: 30s": "max_poll_interval: 0.2s",
}

README_SCENARIO = """\
emulator:
  version: "7.5.2"
  clock: real
  time_scale: 100
  users: {etl: {password: etl}}
  artifacts:
    - {file_id: 3, name: import_logs, kind: import_job, duration: 2, queue_time: 0,
       downstream: [6]}
    - {file_id: 6, name: categorize, path: /Analytics/Sales categorization.wbk, duration: 2,
       queue_time: 0, downstream: [7], outcomes: [ERROR]}
    - {file_id: 7, name: export, uuid: f8d450cd-f065-4abb-a232-27cd20c48c2b, duration: 2,
       queue_time: 0, counters: {IMPORT_DROPPED_RECORDS: 0}}
    - {file_id: 9, name: notify_failure, duration: 2, queue_time: 0}
"""

# Every run here shares a virtual clock with its --emulator: no real waits.
pytestmark = pytest.mark.usefixtures("virtual_time")


def readme_pipeline() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A pipeline file", 1)[1]
    text = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert text is not None
    pipeline = text.group(1)
    for slow, fast in FAST.items():
        assert slow in pipeline
        pipeline = pipeline.replace(slow, fast)
    return pipeline


def jobs_of(report_dir: Path) -> dict[str, dict[str, object]]:
    report = json.loads((report_dir / "report.json").read_text())
    assert report["drift"] == {"found": False, "added": [], "left_out": [], "out_of_order": []}
    return {job["name"]: job for job in report["jobs"]}


def test_readme_pipeline_with_a_failing_workbook_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAMEER_URL", "http://datameer.invalid:8080")
    path = tmp_path / "nightly-sales.yaml"
    path.write_text(readme_pipeline() + README_SCENARIO, encoding="utf-8")
    report_dir = tmp_path / "report"
    assert main(["run", str(path), "--emulator", "--report-dir", str(report_dir)]) == 1
    jobs = jobs_of(report_dir)
    assert jobs["import_logs"]["outcome"] == "SUCCEEDED"
    assert jobs["categorize"]["outcome"] == "FAILED"
    assert len(jobs["categorize"]["attempts"]) == 3  # type: ignore[arg-type]
    assert jobs["export"]["outcome"] != "SUCCEEDED"
    assert jobs["notify_failure"]["outcome"] == "SUCCEEDED"  # any_failed: run by dmpipe


def test_quickstart_in_sequential_mode_with_a_failing_workbook_exits_1(tmp_path: Path) -> None:
    scenario = yaml.safe_load((ROOT / "examples/emulator/quickstart.yaml").read_text())
    for artifact in scenario["artifacts"]:
        if artifact["name"] == "categorize":
            artifact["outcomes"] = ["ERROR"]
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    pipeline = (ROOT / "examples/quickstart.yaml").read_text(encoding="utf-8")
    pipeline = pipeline.replace("delay: 30s", "delay: 0.05s")
    pipeline = pipeline.replace("emulator: emulator/quickstart.yaml", "emulator: scenario.yaml")
    path = tmp_path / "quickstart.yaml"
    path.write_text(pipeline, encoding="utf-8")
    report_dir = tmp_path / "report"
    args = ["run", str(path), "--emulator", "--mode", "sequential", "--var", "x=1"]
    assert main([*args, "--report-dir", str(report_dir)]) == 1
    jobs = jobs_of(report_dir)
    assert jobs["categorize"]["outcome"] == "FAILED"
    assert jobs["export_categories"]["outcome"] != "SUCCEEDED"


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param(["--exclude", "export_categories"], id="exclude-the-tail"),
        pytest.param(["--select", "import_logs"], id="select-the-head"),
    ],
)
def test_a_selection_cutting_the_chain_refuses_sequential_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], selection: list[str]
) -> None:
    path = str(ROOT / "examples/quickstart.yaml")
    args = ["run", path, "--emulator", "--mode", "sequential", "--report-dir", str(tmp_path)]
    assert main([*args, *selection]) == 2
    error = capsys.readouterr().err
    assert "Datameer runs everything downstream of" in error
    assert "use --mode client to run a subset" in error
    assert not (tmp_path / "journal.jsonl").exists()
