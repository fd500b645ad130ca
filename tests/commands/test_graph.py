"""``dmpipe graph``: Mermaid and dot output of a pipeline file, with selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.commands.main import main

PIPELINE = """\
version: 1
name: customer-360
jobs:
  import_web: {file_id: 11}
  import_app: {file_id: 12}
  join:
    path: /Analytics/Customer "360" & more
    needs: [import_web, import_app]
  export: {uuid: f8d450cd-f065-4abb-a232-27cd20c48c2b, needs: [join]}
  notify_failure: {file_id: 9, needs: [export], when: any_failed}
"""


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE, encoding="utf-8")
    return path


def test_graph_mermaid_is_the_default(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", str(pipeline_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    job_join["join<br/>/Analytics/Customer #quot;360#quot; #amp; more"]' in lines
    assert '    job_export["export<br/>uuid f8d450cd-f065-4abb-a232-27cd20c48c2b"]' in lines
    assert "    job_import_web --> job_join" in lines
    assert "    job_import_app --> job_join" in lines
    assert '    job_export -.->|"any_failed"| job_notify_failure' in lines


def test_graph_dot(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(pipeline_file), "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "customer-360" {\n')
    assert '"join" [label="join\\n/Analytics/Customer \\"360\\" & more"];' in out
    assert '"import_web" -> "join";' in out
    assert '"export" -> "notify_failure" [label="any_failed", style=dashed];' in out
    assert out.endswith("}\n")


def test_graph_select_and_output_file(
    pipeline_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "graph.mmd"
    code = main(["graph", str(pipeline_file), "-s", "+join", "-o", str(target)])
    assert code == 0
    assert capsys.readouterr().out == ""
    text = target.read_text(encoding="utf-8")
    assert "job_import_web --> job_join" in text
    assert "export" not in text
    assert "notify_failure" not in text


def test_graph_unknown_selection_exits_2(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", str(pipeline_file), "--select", "exprt+"]) == 2
    err = capsys.readouterr().err
    assert "--select: no job named 'exprt'; did you mean 'export'?" in err


def test_graph_bad_format_exits_2(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(pipeline_file), "--format", "png"]) == 2
    assert "invalid choice: 'png'" in capsys.readouterr().err


def test_graph_json_for_tools(pipeline_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["graph", str(pipeline_file), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == 1
    assert document["pipeline"] == "customer-360"
    assert [job["name"] for job in document["jobs"]] == [
        "import_web", "import_app", "join", "export", "notify_failure",
    ]  # fmt: skip
    assert document["jobs"][3]["ref"] == {
        "kind": "uuid",
        "value": "f8d450cd-f065-4abb-a232-27cd20c48c2b",
    }
    assert {"from": "export", "to": "notify_failure", "when": "any_failed"} in document["edges"]
    assert [sorted(level) for level in document["levels"]] == [
        ["import_app", "import_web"], ["join"], ["export"], ["notify_failure"],
    ]  # fmt: skip


def test_graph_format_json_is_json_too(
    pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", str(pipeline_file), "--format", "json"]) == 0
    first = capsys.readouterr().out
    assert main(["graph", str(pipeline_file), "--json"]) == 0
    assert capsys.readouterr().out == first
