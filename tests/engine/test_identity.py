"""The identity of a run: what ``run_started`` records and what ``--resume`` compares."""

from __future__ import annotations

import dataclasses

import pytest

from runner.engine.identity import (
    RunIdentity,
    artifact_reference,
    differences,
    normal_server,
    pipeline_sha256,
    server_difference,
)
from runner.model import Pipeline
from runner.spec import load_pipeline_text

TEXT = """\
version: 1
name: nightly
server: {{url: "https://dm.example:8443/", user: ops, password: {password}}}
policies: {{max_parallel: {parallel}}}
jobs:
  load: {{file_id: 3}}
  report: {{path: "/Analytics/Sales report.wbk", needs: [load]}}
"""


def loaded(
    password: str = "s3cret-canary",  # noqa: S107 - a canary, not a credential
    parallel: int = 4,
    filename: str = "a.yaml",
) -> Pipeline:
    return load_pipeline_text(
        TEXT.format(password=password, parallel=parallel), filename=filename, env={}
    )


def identity_of(pipeline: Pipeline, **changes: object) -> RunIdentity:
    base = RunIdentity(
        run_id="nightly-20261130T120000.000-ab12",
        pipeline=pipeline.name,
        file="/work/a.yaml",
        sha256=pipeline_sha256(pipeline),
        artifacts={name: artifact_reference(job) for name, job in pipeline.jobs.items()},
        server=normal_server("https://ops:pw@dm.example:8443/"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_the_hash_ignores_the_password_the_file_name_and_line_numbers() -> None:
    reference = pipeline_sha256(loaded())
    assert pipeline_sha256(loaded(password="another")) == reference
    assert pipeline_sha256(loaded(filename="elsewhere/b.yaml")) == reference
    moved = load_pipeline_text("# a comment\n" + TEXT.format(password="x", parallel=4), env={})
    assert pipeline_sha256(moved) == reference
    assert pipeline_sha256(loaded(parallel=5)) != reference


def test_the_recorded_identity_holds_no_secret_and_reads_back() -> None:
    identity = identity_of(loaded())
    data = identity.to_data()
    assert "s3cret-canary" not in repr(data)
    assert "pw" not in str(data["server"])
    assert data["server"] == "https://dm.example:8443"
    assert data["artifacts"] == {"load": "file_id:3", "report": "path:/Analytics/Sales report.wbk"}
    assert RunIdentity.from_data(data) == identity


def test_a_journal_without_identity_reads_as_none() -> None:
    assert RunIdentity.from_data({"mode": "client", "file": "/a.yaml", "jobs": ["a"]}) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, [], id="same"),
        pytest.param(
            {"file": "/work/b.yaml"}, ["it ran the file /work/a.yaml, not /work/b.yaml"], id="file"
        ),
        pytest.param({"pipeline": "other"}, ["it ran pipeline nightly, not other"], id="name"),
        pytest.param(
            {"artifacts": {"load": "file_id:4", "report": "path:/Analytics/Sales report.wbk"}},
            ["job load ran file_id:3, now file_id:4"],
            id="artifact",
        ),
        pytest.param(
            {"artifacts": {"load": "file_id:3", "extra": "file_id:9"}},
            ["it did not have the job(s) extra", "it also had the job(s) report"],
            id="jobs",
        ),
        pytest.param(
            {"select": ("load+",)},
            ["it ran the selection (all jobs), not --select load+"],
            id="selection",
        ),
        pytest.param({"mode": "sequential"}, ["it ran in auto mode, not sequential"], id="mode"),
        pytest.param(
            {"sha256": "0" * 64},
            ["the pipeline's content changed since the run started"],
            id="content",
        ),
    ],
)
def test_differences(changes: dict[str, object], expected: list[str]) -> None:
    recorded = identity_of(loaded())
    found = differences(recorded, dataclasses.replace(recorded, **changes))  # type: ignore[arg-type]
    assert [phrase[: len(e)] for phrase, e in zip(found, expected, strict=True)] == expected


def test_a_content_change_names_the_variables_the_run_was_given() -> None:
    recorded = identity_of(loaded(), variables=("run_date",))
    found = differences(recorded, dataclasses.replace(recorded, sha256="0" * 64, variables=()))
    assert found[0].endswith("— the run was given --var run_date")


def test_another_server_is_a_difference_of_its_own() -> None:
    recorded = identity_of(loaded())
    assert server_difference(recorded, recorded) is None
    other = dataclasses.replace(recorded, server="https://other:8443")
    assert server_difference(recorded, other) == (
        "it ran on https://dm.example:8443, not https://other:8443"
    )
    assert differences(recorded, other) == []
