"""Valid pipeline files → the typed model: defaults merged, durations parsed, variables typed."""

from __future__ import annotations

import logging
from pathlib import Path
from textwrap import dedent

import pytest

from runner.errors import PipelineFileError
from runner.model import (
    AlreadyRunning,
    CounterExpectation,
    Location,
    Mode,
    OnFailure,
    RetryPolicy,
    WarningsAs,
    When,
)
from runner.reference import JobRef, RefKind
from runner.spec import (
    inspect_pipeline,
    inspect_pipeline_text,
    load_pipeline,
    load_pipeline_text,
)

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))

MINIMAL = """\
version: 1
name: minimal
jobs:
  load: {file_id: 3}
"""


def pipeline_text(body: str) -> str:
    """A valid header followed by ``body`` (YAML, dedented)."""
    return "version: 1\nname: test\n" + dedent(body)


def test_a_minimal_pipeline_gets_every_default() -> None:
    pipeline = load_pipeline_text(MINIMAL, filename="min.yaml", env={})

    job = pipeline.jobs["load"]
    assert (pipeline.name, pipeline.path, pipeline.version) == ("minimal", "min.yaml", 1)
    assert pipeline.mode is Mode.AUTO
    assert pipeline.variables == {}
    assert pipeline.emulator_scenario is None
    assert pipeline.policies.on_failure is OnFailure.CANCEL
    assert (pipeline.policies.poll_interval, pipeline.policies.max_poll_interval) == (2.0, 30.0)
    assert job.ref == JobRef(RefKind.FILE_ID, "3")
    assert (job.needs, job.when, job.timeout, job.estimate) == ((), When.ALL_SUCCESS, None, None)
    assert job.retry == RetryPolicy()
    assert job.location == Location("min.yaml", 4, 3)


def test_defaults_are_merged_into_each_job_key_by_key() -> None:
    text = pipeline_text(
        """\
        defaults:
          retry: {retries: 2, delay: 30s, backoff: 3, max_delay: 10m, retry_on: [ERROR, TIMEOUT]}
          timeout: 2h
          warnings: failure
          already_running: attach
        jobs:
          plain: {file_id: 1}
          own_retry:
            file_id: 2
            retry: {delay: 1m, jitter: false}
            timeout: 5m
            warnings: success
            already_running: fail
        """
    )
    jobs = load_pipeline_text(text, env={}).jobs

    assert jobs["plain"].retry == RetryPolicy(
        retries=2, delay=30, backoff=3, max_delay=600, retry_on=frozenset({"ERROR", "TIMEOUT"})
    )
    assert (jobs["plain"].timeout, jobs["plain"].warnings) == (7200, WarningsAs.FAILURE)
    assert jobs["plain"].already_running is AlreadyRunning.ATTACH
    assert jobs["own_retry"].retry == RetryPolicy(
        retries=2,
        delay=60,
        backoff=3,
        max_delay=600,
        jitter=False,
        retry_on=frozenset({"ERROR", "TIMEOUT"}),
    )
    assert (jobs["own_retry"].timeout, jobs["own_retry"].warnings) == (300, WarningsAs.SUCCESS)
    assert jobs["own_retry"].already_running is AlreadyRunning.FAIL


def test_references_needs_and_gates() -> None:
    text = pipeline_text(
        """\
        jobs:
          by_id: {file_id: 48}
          by_uuid: {uuid: F8D450CD-F065-4ABB-A232-27CD20C48C2B, needs: by_id}
          by_path:
            path: /Analytics/Sales categorization
            needs: [by_id, by_uuid]
            when: all_done
            estimate: 1h30m
            expect: {IMPORT_DROPPED_RECORDS: 0, IMPORT_RECORDS: "> 0", RATIO: ">= 0.5"}
        """
    )
    jobs = load_pipeline_text(text, env={}).jobs

    assert list(jobs) == ["by_id", "by_uuid", "by_path"]
    assert jobs["by_uuid"].ref == JobRef(RefKind.UUID, "f8d450cd-f065-4abb-a232-27cd20c48c2b")
    assert jobs["by_uuid"].needs == ("by_id",)
    assert jobs["by_path"].ref == JobRef(RefKind.PATH, "/Analytics/Sales categorization")
    assert (jobs["by_path"].needs, jobs["by_path"].when) == (("by_id", "by_uuid"), When.ALL_DONE)
    assert jobs["by_path"].estimate == 5400
    assert jobs["by_path"].expect == (
        CounterExpectation("IMPORT_DROPPED_RECORDS", "==", 0),
        CounterExpectation("IMPORT_RECORDS", ">", 0),
        CounterExpectation("RATIO", ">=", 0.5),
    )


def test_run_policies_and_server() -> None:
    text = pipeline_text(
        """\
        mode: sequential
        server: {url: "https://dm.example.com:8443", user: etl, verify_tls: false}
        policies:
          on_failure: finish_running
          max_parallel: 8
          timeout: 6h
          poll_interval: 500ms
          max_poll_interval: 1m
        jobs:
          load: {file_id: 1}
        """
    )
    pipeline = load_pipeline_text(text, env={})

    assert pipeline.mode is Mode.SEQUENTIAL
    assert pipeline.server.url == "https://dm.example.com:8443"
    assert (pipeline.server.user, pipeline.server.password) == ("etl", None)
    assert pipeline.server.verify_tls is False
    policies = pipeline.policies
    assert (policies.on_failure, policies.max_parallel) == (OnFailure.FINISH_RUNNING, 8)
    assert (policies.timeout, policies.poll_interval, policies.max_poll_interval) == (
        21600,
        0.5,
        60,
    )


@pytest.mark.parametrize(
    ("variables", "overrides", "expected"),
    [
        pytest.param("{}", {}, {}, id="none"),
        pytest.param(
            "{run_date: 2026-11-28, region: NO, limit: 5, ratio: 0.5, full: true, off: off}",
            {},
            {
                "run_date": "2026-11-28",
                "region": "NO",
                "limit": "5",
                "ratio": "0.5",
                "full": "true",
                "off": "off",
            },
            id="typed-values-become-text-yaml-1.2",
        ),
        pytest.param(
            "{run_date: 2026-11-28, region: EMEA}",
            {"run_date": "2026-12-01", "extra": "x=y"},
            {"run_date": "2026-12-01", "region": "EMEA", "extra": "x=y"},
            id="var-overrides-and-adds",
        ),
        pytest.param(None, {"run_date": "2026-12-01"}, {"run_date": "2026-12-01"}, id="var-only"),
        pytest.param(
            "{x: literal}",
            {"x": "${NOT_INTERPOLATED}"},
            {"x": "${NOT_INTERPOLATED}"},
            id="var-values-are-literal",
        ),
    ],
)
def test_workbook_variables(
    variables: str | None, overrides: dict[str, str], expected: dict[str, str]
) -> None:
    section = "" if variables is None else f"variables: {variables}\n"
    text = pipeline_text(section + "jobs:\n  load: {file_id: 1}\n")

    assert load_pipeline_text(text, env={}, variables=overrides).variables == expected


@pytest.mark.parametrize(
    ("line", "env", "field", "expected"),
    [
        pytest.param("file_id: ${ID}", {"ID": "42"}, "ref", JobRef(RefKind.FILE_ID, "42"), id="id"),
        pytest.param(
            "path: /Imports/${FOLDER:-Daily}/Logs",
            {},
            "ref",
            JobRef(RefKind.PATH, "/Imports/Daily/Logs"),
            id="default",
        ),
        pytest.param(
            "path: /Imports/$$Special",
            {},
            "ref",
            JobRef(RefKind.PATH, "/Imports/$Special"),
            id="escaped-dollar",
        ),
        pytest.param(
            "file_id: 1\n    timeout: ${TIMEOUT}",
            {"TIMEOUT": "90"},
            "timeout",
            90.0,
            id="number-seconds",
        ),
        pytest.param(
            "file_id: 1\n    timeout: ${TIMEOUT}", {"TIMEOUT": "1h"}, "timeout", 3600.0, id="text"
        ),
        pytest.param(
            'file_id: 1\n    retry: {retries: "${N}", jitter: "${J}"}',
            {"N": "3", "J": "False"},
            "retry",
            RetryPolicy(retries=3, jitter=False),
            id="retry-typed",
        ),
        pytest.param(
            "file_id: 1\n    expect: {ROWS: '${MIN_ROWS}'}",
            {"MIN_ROWS": "10"},
            "expect",
            (CounterExpectation("ROWS", "==", 10),),
            id="expect-number",
        ),
        pytest.param(
            "file_id: 1\n    expect: {ROWS: '${MIN_ROWS}'}",
            {"MIN_ROWS": ">= 10"},
            "expect",
            (CounterExpectation("ROWS", ">=", 10),),
            id="expect-comparison",
        ),
    ],
)
def test_interpolated_values_are_typed_where_the_schema_wants(
    line: str, env: dict[str, str], field: str, expected: object
) -> None:
    text = pipeline_text(f"jobs:\n  load:\n    {line}\n")

    job = load_pipeline_text(text, env=env).jobs["load"]

    assert getattr(job, field) == expected


def test_a_quoted_number_is_not_converted() -> None:
    text = pipeline_text('jobs:\n  load: {file_id: "42"}\n')

    with pytest.raises(PipelineFileError) as caught:
        load_pipeline_text(text, filename="p.yaml", env={})

    assert str(caught.value) == "p.yaml:4:19: file_id of job 'load': expected an integer, got '42'"


def test_server_values_from_the_environment_and_empty_means_unset() -> None:
    text = pipeline_text(
        """\
        server:
          url: ${DATAMEER_URL:-}
          user: ${DATAMEER_USER}
          password: ${DATAMEER_PASSWORD}
          verify_tls: ${VERIFY:-true}
        jobs:
          load: {file_id: 1}
        """
    )
    env = {"DATAMEER_USER": "etl", "DATAMEER_PASSWORD": "s3cret", "VERIFY": "false"}

    server = load_pipeline_text(text, env=env).server

    assert (server.url, server.user, server.password) == (None, "etl", "s3cret")
    assert server.verify_tls is False
    assert "s3cret" not in repr(server)


def test_paths_are_relative_to_the_pipeline_file(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("{}\n", encoding="utf-8")
    path = tmp_path / "pipeline.yaml"
    text = pipeline_text(
        """\
        server: {ca_bundle: certs/ca.pem}
        jobs:
          load: {file_id: 1}
        emulator: scenario.yaml
        """
    )
    path.write_text(text, encoding="utf-8")

    pipeline = load_pipeline(path, env={})

    assert pipeline.emulator_scenario == str(tmp_path / "scenario.yaml")
    assert pipeline.server.ca_bundle == str(tmp_path / "certs" / "ca.pem")


def test_an_inline_emulator_scenario_is_kept_as_a_mapping() -> None:
    text = pipeline_text(
        """\
        jobs:
          load: {file_id: 1}
        emulator:
          artifacts:
            - {file_id: 1, duration: 2s}
        """
    )

    pipeline = load_pipeline_text(text, env={})

    assert pipeline.emulator_scenario == {"artifacts": [{"file_id": 1, "duration": "2s"}]}


def test_anchors_and_merge_keys_share_settings_between_jobs() -> None:
    text = pipeline_text(
        """\
        x-nightly: &nightly
          retry: {retries: 3}
          timeout: 1h
          warnings: failure
        jobs:
          a: {<<: *nightly, file_id: 1}
          b:
            <<: *nightly
            file_id: 2
            timeout: 2h
        """
    )
    jobs = load_pipeline_text(text, env={}).jobs

    assert (jobs["a"].retry.retries, jobs["a"].timeout, jobs["a"].warnings.value) == (
        3,
        3600,
        "failure",
    )
    assert (jobs["b"].retry.retries, jobs["b"].timeout) == (3, 7200)


def test_warnings_are_logged_and_do_not_stop_loading(caplog: pytest.LogCaptureFixture) -> None:
    text = pipeline_text("server: {password: hunter2}\njobs:\n  load: {file_id: 1}\n")

    with caplog.at_level(logging.WARNING, logger="runner.spec"):
        pipeline = load_pipeline_text(text, filename="p.yaml", env={})

    assert pipeline.server.password == "hunter2"
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",  # the log line's own label: the message does not repeat "warning:"
            "p.yaml:3:20: the password is written in the file: "
            "use ${DATAMEER_PASSWORD} or ~/.netrc instead",
        )
    ]


def test_load_raises_with_every_problem_in_file_order() -> None:
    text = pipeline_text(
        """\
        server: {password: hunter2}
        jobs:
          load: {file_id: 1, needs: [lod]}
          other: {file_id: 1}
        """
    )

    with pytest.raises(PipelineFileError) as caught:
        load_pipeline_text(text, filename="p.yaml", env={})

    assert [str(problem) for problem in caught.value.problems] == [
        "p.yaml:3:20: warning: the password is written in the file: "
        "use ${DATAMEER_PASSWORD} or ~/.netrc instead",
        "p.yaml:5:30: job 'load' needs 'lod', which is not a job",
        "p.yaml:6:20: job 'other' names the same artifact as job 'load' (file_id 1)",
    ]
    assert caught.value.problems[1].json_path == "$.jobs.load.needs[0]"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("123456789", id="wrong-type"),
        pytest.param('"${s3cr3t"', id="unclosed-interpolation"),
        pytest.param('"${s3cr3t%x}"', id="malformed-interpolation"),
        pytest.param('"s3cr3t-$HOME"', id="bare-dollar"),
        pytest.param("[s3cr3t]", id="list"),
    ],
)
def test_a_problem_never_shows_a_password(password: str) -> None:
    text = pipeline_text(f"server: {{password: {password}}}\njobs:\n  load: {{file_id: 1}}\n")

    problems = inspect_pipeline_text(text, env={}).problems

    assert problems
    assert not any("s3cr3t" in str(p) or "123456789" in str(p) for p in problems)


def test_inspect_reports_an_unreadable_file(tmp_path: Path) -> None:
    inspection = inspect_pipeline(tmp_path / "missing.yaml")

    assert inspection.pipeline is None
    assert [problem.message for problem in inspection.problems] == [
        "cannot read the file: No such file or directory"
    ]


def test_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMPIPE_TEST_FILE_ID", "77")
    text = pipeline_text("jobs:\n  load: {file_id: '${DMPIPE_TEST_FILE_ID}'}\n")

    assert load_pipeline_text(text).jobs["load"].ref == JobRef(RefKind.FILE_ID, "77")


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_the_examples_load_without_errors(example: Path) -> None:
    inspection = inspect_pipeline(example, env={})

    assert inspection.errors == ()
    assert inspection.pipeline is not None


SERVER_FROM_VARIABLES = """\
version: 1
name: from-the-environment
server:
  url: ${DM_URL}
  user: ${DM_USER}
  ca_bundle: ${DM_CA:?the CA bundle is required here}
jobs:
  load: {file_id: 3}
"""


def without_the_required_setting(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if "ca_bundle" not in line)


def test_a_server_setting_from_an_unset_variable_is_left_to_the_command_line() -> None:
    text = SERVER_FROM_VARIABLES.replace(
        "  ca_bundle: ${DM_CA:?the CA bundle is required here}\n", ""
    )
    inspection = inspect_pipeline_text(text, env={})

    assert inspection.problems == ()
    assert inspection.pipeline is not None
    assert (inspection.pipeline.server.url, inspection.pipeline.server.user) == (None, None)


def test_a_set_variable_still_fills_the_server_setting() -> None:
    text = SERVER_FROM_VARIABLES.replace(
        "  ca_bundle: ${DM_CA:?the CA bundle is required here}\n", ""
    )
    pipeline = load_pipeline_text(text, env={"DM_URL": "https://dm.example.com", "DM_USER": "etl"})

    assert (pipeline.server.url, pipeline.server.user) == ("https://dm.example.com", "etl")


def test_a_server_setting_marked_required_is_still_an_error_when_unset() -> None:
    with pytest.raises(PipelineFileError) as raised:
        load_pipeline_text(SERVER_FROM_VARIABLES, filename="p.yaml", env={})

    assert [(p.line, p.col, p.message) for p in raised.value.problems] == [
        (6, 14, "environment variable DM_CA is not set: the CA bundle is required here")
    ]


def test_an_unset_variable_outside_the_server_block_is_still_an_error() -> None:
    text = MINIMAL.replace("{file_id: 3}", "{path: '/Imports/${DM_FOLDER}/Logs'}")
    with pytest.raises(PipelineFileError, match="DM_FOLDER is not set"):
        load_pipeline_text(text, env={})
