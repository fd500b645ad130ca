"""Every example pipeline validates, plans and matches its emulator scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.emulator import load_scenario
from runner.emulator.scenario import Artifact, Scenario
from runner.model import Mode, Pipeline
from runner.reference import JobRef, RefKind
from runner.spec import inspect_pipeline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REQUIRED = {"quickstart", "nightly-etl", "fan-out-fan-in", "counter-gates", "paths-with-spaces"}
PIPELINES = sorted(EXAMPLES.glob("*.yaml"))
SEQUENTIAL = [p for p in PIPELINES if "\nmode: sequential\n" in p.read_text(encoding="utf-8")]


def load(path: Path) -> Pipeline:
    """The example as a user without any DATAMEER_* variable set gets it, warnings included."""
    inspection = inspect_pipeline(path, env={})
    assert [str(problem) for problem in inspection.problems] == []
    assert inspection.pipeline is not None
    return inspection.pipeline


def find_artifact(scenario: Scenario, ref: JobRef) -> Artifact | None:
    for artifact in scenario.artifacts:
        if ref.kind is RefKind.FILE_ID and artifact.file_id == int(ref.value):
            return artifact
        if ref.kind is RefKind.UUID and artifact.uuid == ref.value:
            return artifact
        if ref.kind is RefKind.PATH and artifact.path == ref.value:
            return artifact
    return None


def test_the_required_examples_are_there() -> None:
    assert {path.stem for path in PIPELINES} >= REQUIRED


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in PIPELINES])
def test_example_validates_without_any_warning(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/pipeline.schema.json\n")
    pipeline = load(path)
    assert pipeline.server.password is None, "examples never carry a password"
    assert "${DATAMEER_URL:-" in text
    assert pipeline.emulator_scenario == str(EXAMPLES / "emulator" / f"{path.stem}.yaml")


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in PIPELINES])
def test_every_reference_exists_in_the_scenario(path: Path) -> None:
    pipeline = load(path)
    assert isinstance(pipeline.emulator_scenario, str)
    scenario = load_scenario(pipeline.emulator_scenario)
    missing = [
        f"{job.name} ({job.ref.kind.value} {job.ref.value})"
        for job in pipeline.jobs.values()
        if find_artifact(scenario, job.ref) is None
    ]
    assert missing == []


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in SEQUENTIAL])
def test_sequential_examples_chain_like_their_needs(path: Path) -> None:
    """The data-driven links Datameer follows after a sequential trigger are the needs."""
    pipeline = load(path)
    assert pipeline.mode is Mode.SEQUENTIAL
    assert isinstance(pipeline.emulator_scenario, str)
    scenario = load_scenario(pipeline.emulator_scenario)
    artifacts = {name: find_artifact(scenario, job.ref) for name, job in pipeline.jobs.items()}
    file_ids = {name: artifact.file_id for name, artifact in artifacts.items() if artifact}
    needs = {
        (file_ids[need], file_ids[name])
        for name, job in pipeline.jobs.items()
        for need in job.needs
    }
    links = {
        (artifact.file_id, target)
        for artifact in scenario.artifacts
        if artifact.file_id in file_ids.values()
        for target in artifact.downstream
    }
    assert links == needs


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in PIPELINES])
def test_example_plans_and_draws(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DATAMEER_URL", "DATAMEER_USER", "DATAMEER_PASSWORD", "RUN_DATE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["plan", str(path)]) == 0
    assert main(["graph", str(path), "--format", "dot"]) == 0
    capsys.readouterr()
    assert main(["plan", str(path), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["pipeline"] == load(path).name
    assert sorted(job["name"] for job in plan["jobs"]) == sorted(load(path).jobs)
    assert main(["plan", str(path), "--curl"]) == 0
    curl = capsys.readouterr().out
    assert "/trigger" in curl or "sequence=" in curl
