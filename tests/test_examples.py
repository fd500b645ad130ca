"""Every example pipeline validates, plans and matches its emulator scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runner
from runner.commands.main import main
from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer, load_scenario
from runner.emulator.loading import with_overrides
from runner.emulator.scenario import Artifact, Scenario
from runner.model import Mode, Pipeline
from runner.reference import JobRef, PathEncoding, RefKind
from runner.spec import inspect_pipeline
from testing.engine_runs import on_virtual_time

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
    artifacts = {name: find_artifact(scenario, job.ref) for name, job in pipeline.jobs.items()}
    wrong = [
        name
        for name, job in pipeline.jobs.items()
        if job.configuration_id is not None
        and (found := artifacts[name]) is not None
        and found.configuration_id != job.configuration_id
    ]
    assert wrong == [], "configuration_id differs from the scenario's"


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


@pytest.mark.parametrize("encoding", [pytest.param(e, id=e.value) for e in PathEncoding])
@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in PIPELINES])
def test_every_reference_resolves_on_a_strict_server(path: Path, encoding: PathEncoding) -> None:
    """Against a server that reads one path encoding only: the client's setting reaches every
    artifact, and detection (GETs only) finds that encoding; an encoding change is caught."""
    pipeline = load(path)
    assert isinstance(pipeline.emulator_scenario, str)
    scenario = load_scenario(pipeline.emulator_scenario)
    strict = with_overrides(scenario, paths="strict", path_encoding=encoding.value)
    user, password = strict.first_user()
    with EmulatorServer(strict) as server:
        for settings in ({"path_encoding": encoding}, {}):
            with DatameerClient(server.url, user=user, password=password, **settings) as api:
                for job in pipeline.jobs.values():
                    api.execution_status(job.ref)
                if any(job.ref.kind is RefKind.PATH for job in pipeline.jobs.values()):
                    assert api.path_encoding is encoding
        assert server.ledger.entries() == []


def test_the_quickstart_runs_on_a_strict_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = load(EXAMPLES / "quickstart.yaml")
    assert isinstance(pipeline.emulator_scenario, str)
    scenario = with_overrides(
        load_scenario(pipeline.emulator_scenario), paths="strict", time_scale=5000
    )
    user, password = scenario.first_user()
    # The example as written, polled fast (its 2s polls would make the test wait).
    file = tmp_path / "quickstart.yaml"
    text = (EXAMPLES / "quickstart.yaml").read_text(encoding="utf-8")
    file.write_text(text + "policies: {poll_interval: 0.05s, max_poll_interval: 0.2s}\n", "utf-8")
    with EmulatorServer(scenario) as server:
        on_virtual_time(monkeypatch, server)
        outcome = runner.run_file(
            file,
            runner.RunOptions(
                environ={
                    "DATAMEER_URL": server.url,
                    "DATAMEER_USER": user,
                    "DATAMEER_PASSWORD": password,
                },
                runs_dir=tmp_path / "runs",
            ),
        )
        triggered = sorted(entry.file_id for entry in server.ledger.triggers())
    assert outcome.exit_code == 0, outcome.states
    assert triggered == sorted(a.file_id for a in scenario.artifacts)
