"""The plan: mode choice, the plan record, its text, curl and JSON renderings."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from dataclasses import replace

import pytest

from runner.errors import UsageError
from runner.graph import select
from runner.model import (
    CounterExpectation,
    Job,
    Mode,
    OnFailure,
    Pipeline,
    RetryPolicy,
    RunPolicies,
    ServerSettings,
    When,
)
from runner.plan import StartedBy, build_plan, choose_mode, has_sequential_trigger
from runner.plan.curl import Var, render_curl, shell_quote
from runner.plan.plan_json import plan_document
from runner.plan.text import render_text
from runner.reference import JobRef


def make_pipeline(
    *specs: str,
    mode: Mode = Mode.AUTO,
    variables: dict[str, str] | None = None,
    url: str | None = "https://dm.example.com:8443",
) -> Pipeline:
    """``make_pipeline("a", "b:a")``: job b needs a; file ids 1..n."""
    jobs = {}
    for number, spec in enumerate(specs, start=1):
        name, _, needs = spec.partition(":")
        jobs[name] = Job(name, JobRef.parse(number), needs=tuple(filter(None, needs.split(","))))
    return Pipeline(
        name="sales",
        path="sales.yaml",
        version=1,
        jobs=jobs,
        mode=mode,
        variables=variables or {},
        server=ServerSettings(url=url),
    )


VARS = {"run_date": "2026-11-28"}

# -- mode choice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "variables", "override", "version", "chosen", "reason", "warnings"),
    [
        pytest.param(
            Mode.CLIENT, {}, None, None, Mode.CLIENT, "set in the pipeline file", (),
            id="client-as-written",
        ),
        pytest.param(
            Mode.SEQUENTIAL, VARS, None, None, Mode.SEQUENTIAL, "set in the pipeline file", (),
            id="sequential-as-written",
        ),
        pytest.param(
            Mode.AUTO, VARS, Mode.CLIENT, None, Mode.CLIENT, "set with --mode",
            ("the workbook variables (run_date) are NOT applied in client mode",),
            id="override-client-with-variables",
        ),
        pytest.param(
            Mode.CLIENT, {}, Mode.SEQUENTIAL, None, Mode.SEQUENTIAL, "set with --mode", (),
            id="override-sequential",
        ),
        pytest.param(
            Mode.AUTO, {}, None, None, Mode.CLIENT,
            "auto: the pipeline sets no workbook variables, so dmpipe drives each job itself",
            (),
            id="auto-without-variables",
        ),
        pytest.param(
            Mode.AUTO, VARS, None, None, Mode.AUTO,
            "auto: the pipeline sets workbook variables, which only the sequential trigger "
            "carries; assuming the server is 7.5.2 or newer (the run falls back to client mode "
            "if it is not)",
            (),
            id="auto-variables-version-unknown",
        ),
        pytest.param(
            Mode.AUTO, VARS, None, "7.5.2", Mode.SEQUENTIAL,
            "auto: the pipeline sets workbook variables, which only the sequential trigger "
            "carries, and the server (7.5.2) has it",
            (),
            id="auto-variables-new-server",
        ),
        pytest.param(
            Mode.AUTO, VARS, None, "7.4", Mode.CLIENT,
            "auto: the server (7.4) has no sequential trigger (it needs 7.5.2)",
            ("the workbook variables (run_date) will NOT be applied in client mode",),
            id="auto-variables-old-server",
        ),
        pytest.param(
            Mode.SEQUENTIAL, VARS, None, "7.2.5", Mode.SEQUENTIAL, "set in the pipeline file",
            ("the server (7.2.5) has no sequential trigger (it needs 7.5.2)",),
            id="sequential-on-old-server",
        ),
    ],
)  # fmt: skip
def test_choose_mode(
    mode: Mode,
    variables: dict[str, str],
    override: Mode | None,
    version: str | None,
    chosen: Mode,
    reason: str,
    warnings: tuple[str, ...],
) -> None:
    pipeline = make_pipeline("a", "b:a", mode=mode, variables=variables)
    choice = choose_mode(pipeline, version, override=override)
    assert (choice.mode, choice.reason, choice.warnings) == (chosen, reason, warnings)


def test_auto_mode_starts_sequential() -> None:
    choice = choose_mode(make_pipeline("a", variables=VARS))
    assert choice.mode is Mode.AUTO
    assert choice.runs_as is Mode.SEQUENTIAL


def test_sequential_mode_refuses_a_selection_that_cuts_the_chain() -> None:
    pipeline = make_pipeline("a", "b:a", "c:b", "d:c", mode=Mode.SEQUENTIAL, variables=VARS)
    selection = select(pipeline, ["a+"], ["c+"])
    with pytest.raises(UsageError) as caught:
        choose_mode(selection.pipeline, None, selection)
    assert str(caught.value) == (
        "--select/--exclude in sequential mode: Datameer runs everything downstream of b, "
        "which the selection leaves out (c, d); use --mode client to run a subset"
    )
    client = choose_mode(selection.pipeline, None, selection, override=Mode.CLIENT)
    assert client.mode is Mode.CLIENT


def test_auto_mode_runs_a_chain_cutting_selection_in_client_mode() -> None:
    pipeline = make_pipeline("a", "b:a", "c:b", variables=VARS)
    selection = select(pipeline, ["a"])
    choice = choose_mode(selection.pipeline, None, selection)
    assert choice.mode is Mode.CLIENT
    assert "Datameer runs everything downstream of a" in choice.reason
    assert choice.warnings == (
        "the workbook variables (run_date) will NOT be applied in client mode",
    )


def test_a_selection_leaving_out_only_handlers_keeps_sequential_mode() -> None:
    pipeline = make_pipeline("a", "b:a", mode=Mode.SEQUENTIAL, variables=VARS)
    handler = Job(name="notify", ref=JobRef.parse(9), needs=("b",), when=When.ANY_FAILED)
    pipeline = replace(pipeline, jobs={**pipeline.jobs, "notify": handler})
    selection = select(pipeline, [], ["notify"])
    assert choose_mode(selection.pipeline, None, selection).mode is Mode.SEQUENTIAL


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param("7.5.2", True, id="7.5.2"),
        pytest.param("7.5.10", True, id="7.5.10"),
        pytest.param("7.10", True, id="7.10-numeric-not-text"),
        pytest.param("8.0", True, id="8.0"),
        pytest.param("7.5.1", False, id="7.5.1"),
        pytest.param("7.4", False, id="7.4"),
        pytest.param("7.2.5", False, id="7.2.5"),
        pytest.param("7.5.2-SNAPSHOT", True, id="suffix"),
        pytest.param("7.4.9b12", False, id="letters-inside-a-part"),
        pytest.param("unknown", True, id="unreadable-benefit-of-doubt"),
    ],
)
def test_has_sequential_trigger(version: str, expected: bool) -> None:
    assert has_sequential_trigger(version) is expected


# -- the plan record ---------------------------------------------------------------------


def test_build_plan_levels_critical_path_and_who_starts_what() -> None:
    pipeline = make_pipeline("a", "b", "c:a,b", "d:c", "notify:d", variables=VARS)
    jobs = dict(pipeline.jobs)
    jobs["notify"] = replace(jobs["notify"], when=When.ANY_FAILED)
    jobs["b"] = replace(jobs["b"], estimate=600)
    jobs["d"] = replace(jobs["d"], estimate=60)
    plan = build_plan(replace(pipeline, jobs=jobs))
    assert [(p.job.name, p.level) for p in plan.jobs] == [
        ("a", 1),
        ("b", 1),
        ("c", 2),
        ("d", 3),
        ("notify", 4),
    ]
    assert plan.level_count == 4
    assert (plan.critical_path.jobs, plan.critical_path.total) == (("b", "c", "d", "notify"), 660)
    assert [p.job.name for p in plan.jobs if p.critical] == ["b", "c", "d", "notify"]
    started = {p.job.name: p.started_by for p in plan.jobs}
    assert started == {
        "a": StartedBy.SEQUENCE,
        "b": StartedBy.SEQUENCE,
        "c": StartedBy.CHAIN,
        "d": StartedBy.CHAIN,
        "notify": StartedBy.RUNNER,
    }
    assert [p.job.name for p in plan.sequence_entries] == ["a", "b"]


def test_build_plan_client_mode_starts_everything_itself() -> None:
    plan = build_plan(make_pipeline("a", "b:a"))
    assert {p.started_by for p in plan.jobs} == {StartedBy.RUNNER}
    assert plan.sequence_entries == ()


def test_build_plan_with_selection_and_server_url() -> None:
    pipeline = make_pipeline("a", "b:a", "c:b", url=None)
    plan = build_plan(pipeline, include=["b+"], default_url="http://env:8088")
    assert [p.job.name for p in plan.jobs] == ["b", "c"]
    assert plan.jobs[0].assumed_done == ("a",)
    assert plan.server_url == "http://env:8088"
    assert build_plan(make_pipeline("a"), default_url="http://env").server_url == (
        "https://dm.example.com:8443"
    )


# -- text ----------------------------------------------------------------------------------


def _rich_pipeline() -> Pipeline:
    pipeline = make_pipeline("load", "categorize:load", "export:categorize", "notify:export")
    jobs = dict(pipeline.jobs)
    jobs["load"] = replace(jobs["load"], estimate=300, timeout=3600)
    jobs["categorize"] = replace(
        jobs["categorize"],
        ref=JobRef.parse("/Analytics/Sales categorization"),
        retry=RetryPolicy(retries=2, delay=30, backoff=2.0, max_delay=600),
        estimate=2700,
    )
    jobs["export"] = replace(
        jobs["export"],
        expect=(CounterExpectation("EXPORT_DROPPED_RECORDS", "==", 0),),
        retry=RetryPolicy(retries=1, delay=60, retry_on=frozenset({"ERROR", "TIMEOUT"})),
    )
    jobs["notify"] = replace(jobs["notify"], when=When.ANY_FAILED)
    policies = RunPolicies(on_failure=OnFailure.FINISH_RUNNING, max_parallel=4, timeout=21600)
    return replace(pipeline, jobs=jobs, policies=policies)


def test_render_text_shows_mode_policies_levels_and_critical_path() -> None:
    text = render_text(build_plan(_rich_pipeline()))
    lines = text.splitlines()
    assert lines[0] == "Plan for sales (sales.yaml)"
    assert lines[1] == (
        "Mode:      client (auto: the pipeline sets no workbook variables, "
        "so dmpipe drives each job itself)"
    )
    assert "Server:    https://dm.example.com:8443" in lines
    assert (
        "Run:       on_failure finish_running · max_parallel 4 · timeout 6h · "
        "poll every 2s, backing off to 30s"
    ) in lines
    assert "Jobs:      4 in 4 levels" in lines
    header = next(line for line in lines if line.strip().startswith("JOB"))
    assert header.split() == [
        "JOB", "REFERENCE", "NEEDS", "WHEN", "RETRIES", "TIMEOUT", "WARNINGS", "IF", "RUNNING",
        "ESTIMATE", "EXPECT",
    ]  # fmt: skip
    rows = {line.split()[0].lstrip("*"): line for line in lines if line.startswith("  ")}
    assert rows["load"].split() == [
        "*load", "file", "1", "-", "all_success", "0", "1h", "success", "wait", "5m", "-",
    ]  # fmt: skip
    assert "/Analytics/Sales categorization" in rows["categorize"]
    assert "2 (30s ×2 ≤10m)" in rows["categorize"]
    assert "1 (1m ×2 ≤10m) on ERROR,TIMEOUT" in rows["export"]
    assert "EXPORT_DROPPED_RECORDS == 0" in rows["export"]
    assert " any_failed " in rows["notify"]
    # every row starts its columns at the same offsets as the header
    assert {row.index(" ", 3) <= header.index("REFERENCE") for row in rows.values()} == {True}
    assert [line for line in lines if line.startswith("Level")] == [
        "Level 1",
        "Level 2",
        "Level 3",
        "Level 4",
    ]
    assert "Critical path: 50m: load (5m) → categorize (45m) → export (-) → notify (-)" in lines
    assert "  without an estimate, counted as 0s: export, notify" in lines
    assert "Variables" not in text
    assert "STARTED BY" not in text


def test_render_text_sequential_shows_variables_warnings_and_who_starts_jobs() -> None:
    pipeline = make_pipeline("a", "b:a", "c:b", mode=Mode.SEQUENTIAL, variables=VARS, url=None)
    text = render_text(build_plan(pipeline, include=["b+"]))
    assert "Mode:      sequential (set in the pipeline file)" in text
    assert "Variables: run_date=2026-11-28" in text
    assert "Server:    $DATAMEER_URL (not set)" in text
    assert "STARTED BY" in text
    assert "Assumed done (not selected): a" in text
    assert "Critical path: no estimates; the longest chain is b → c" in text
    row_b = next(line for line in text.splitlines() if line.lstrip(" *").startswith("b "))
    assert row_b.rstrip().endswith("sequential trigger")


def test_render_text_auto_mode_says_it_may_fall_back() -> None:
    text = render_text(build_plan(make_pipeline("a", variables=VARS)))
    assert "Mode:      sequential, client if the server lacks it (auto: " in text
    assert "assuming the server is 7.5.2 or newer" in text


# -- curl ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "quoted"),
    [
        pytest.param(("http://h/a",), "'http://h/a'", id="plain"),
        pytest.param(("it's",), "'it'\"'\"'s'", id="single-quote"),
        pytest.param((Var("DATAMEER_URL"), "/api/x"), '"${DATAMEER_URL}/api/x"', id="variable"),
        pytest.param(('a"$`\\', Var("X")), '"a\\"\\$\\`\\\\${X}"', id="escaped-in-double-quotes"),
    ],
)
def test_shell_quote(parts: tuple[str | Var, ...], quoted: str) -> None:
    assert shell_quote(*parts) == quoted


def _curl_lines(text: str) -> list[list[str]]:
    return [shlex.split(line) for line in text.splitlines() if line.startswith("curl ")]


def test_render_curl_client_mode_calls_in_order() -> None:
    pipeline = make_pipeline("load", "categorize:load")
    jobs = dict(pipeline.jobs)
    jobs["categorize"] = replace(jobs["categorize"], ref=JobRef.parse("/Analytics/Sales + Q1"))
    text = render_curl(build_plan(replace(pipeline, jobs=jobs)))
    base = "https://dm.example.com:8443"
    auth = ["curl", "-u", "$DATAMEER_USER:$DATAMEER_PASSWORD", "-X"]
    assert _curl_lines(text) == [
        [*auth, "GET", f"{base}/api/job-execution/1/status"],
        [*auth, "POST", f"{base}/api/job-execution/1/trigger"],
        [*auth, "GET", f"{base}/rest/jobs/list-running"],
        [*auth, "GET", f"{base}/rest/job-execution/job-details/${{EXECUTION_ID}}"],
        [*auth, "GET", f"{base}/api/job-execution/Analytics/Sales+%2B+Q1/status"],
        [*auth, "POST", f"{base}/api/job-execution/Analytics/Sales+%2B+Q1/trigger"],
        [*auth, "GET", f"{base}/rest/jobs/list-running"],
        [*auth, "GET", f"{base}/rest/job-execution/job-details/${{EXECUTION_ID}}"],
    ]
    assert 'curl -u "$DATAMEER_USER:$DATAMEER_PASSWORD" -X POST ' in text
    assert f"-X POST '{base}/api/job-execution/1/trigger'" in text
    assert "# load: is it already running? then trigger it" in text
    assert "(client mode)" in text


def test_render_curl_for_a_server_without_rest_v2_uses_the_legacy_calls() -> None:
    pipeline = make_pipeline("load", "categorize:load")
    jobs = dict(pipeline.jobs)
    jobs["load"] = replace(jobs["load"], configuration_id=101)
    server = replace(pipeline.server, version="6.4")
    text = render_curl(build_plan(replace(pipeline, jobs=jobs, server=server, mode=Mode.CLIENT)))
    base = "https://dm.example.com:8443"
    auth = ["curl", "-u", "$DATAMEER_USER:$DATAMEER_PASSWORD", "-X"]
    starts = [line for line in _curl_lines(text) if "list-running" not in line[-1]]
    assert [line[len(auth) :] for line in starts if "job-details" not in line[-1]] == [
        ["GET", f"{base}/rest/job-configuration/job-status/101"],
        ["POST", f"{base}/rest/job-execution?configuration=101"],
        ["GET", f"{base}/rest/job-configuration/job-status/${{CONFIGURATION_CATEGORIZE}}"],
        ["POST", f"{base}/rest/job-execution?configuration=${{CONFIGURATION_CATEGORIZE}}"],
    ]
    assert "/api/" not in text
    assert "# CONFIGURATION_CATEGORIZE: its configuration id (configuration_id:)" in text


def test_render_curl_sequential_sends_strict_json_with_variables() -> None:
    pipeline = make_pipeline(
        "a", "b", "c:a,b", "notify:c", mode=Mode.SEQUENTIAL, variables={"day": "it's", **VARS}
    )
    jobs = dict(pipeline.jobs)
    jobs["notify"] = replace(jobs["notify"], when=When.ANY_FAILED)
    text = render_curl(build_plan(replace(pipeline, jobs=jobs)))
    calls = _curl_lines(text)
    trigger = calls[0]
    assert trigger[:7] == [
        "curl", "-u", "$DATAMEER_USER:$DATAMEER_PASSWORD", "-X", "POST", "-H",
        "Content-Type: application/json",
    ]  # fmt: skip
    assert trigger[7] == "-d"
    assert json.loads(trigger[8]) == {
        "variables": {"day": "it's", "run_date": "2026-11-28"},
        "fileIds": [1, 2],
    }
    assert trigger[9] == "https://dm.example.com:8443/rest/job-execution?sequence=1,2"
    # the chain's jobs are never triggered by dmpipe; the handler is, like client mode
    assert [(call[4], call[-1].rsplit("/", 2)[-2:]) for call in calls[1:]] == [
        ("GET", ["jobs", "list-running"]),
        ("GET", ["job-details", "${EXECUTION_ID}"]),
        ("GET", ["job-details", "${EXECUTION_ID}"]),
        ("GET", ["jobs", "list-running"]),
        ("GET", ["job-details", "${EXECUTION_ID}"]),
        ("GET", ["4", "status"]),
        ("POST", ["4", "trigger"]),
        ("GET", ["jobs", "list-running"]),
        ("GET", ["job-details", "${EXECUTION_ID}"]),
    ]
    assert "# c: started by the data-driven chain" in text
    assert "# a: started by the sequential trigger" in text
    handler = "# notify (when: any_failed, only if a job it needs failed): is it already running?"
    assert handler in text


def test_render_curl_sequential_looks_up_file_ids_of_uuid_and_path_entries() -> None:
    pipeline = make_pipeline("a", "b", mode=Mode.SEQUENTIAL, variables=VARS, url=None)
    jobs = dict(pipeline.jobs)
    jobs["b"] = replace(jobs["b"], ref=JobRef.parse("/Data/My import"))
    text = render_curl(build_plan(replace(pipeline, jobs=jobs)))
    calls = _curl_lines(text)
    assert calls[0][-1] == "${DATAMEER_URL}/api/job-execution/Data/My+import/status"
    assert calls[1][8] == '{"variables": {"run_date": "2026-11-28"}, "fileIds": [1,${FILE_ID_B}]}'
    assert calls[1][9] == "${DATAMEER_URL}/rest/job-execution?sequence=1,${FILE_ID_B}"
    assert '# FILE_ID_B: the "file-id" this status call answers' in text
    assert "# DATAMEER_URL: the server" in text


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_render_curl_survives_a_real_shell() -> None:
    """The commands, run by sh with a fake curl, hand curl exactly the intended arguments."""
    pipeline = make_pipeline(
        "a", mode=Mode.SEQUENTIAL, variables={"q": 'it\'s $HOME `x` "y"'}, url=None
    )
    jobs = {"a": replace(pipeline.jobs["a"], ref=JobRef.parse("/Sales/Q1 'draft' $x"))}
    text = render_curl(build_plan(replace(pipeline, jobs=jobs), mode=Mode.CLIENT))
    sequential = render_curl(build_plan(replace(pipeline, jobs={"b": Job("b", JobRef.parse(5))})))
    script = 'curl() { printf "%s|" "$@"; echo; }\n' + text + sequential
    env = {
        "PATH": "/usr/bin:/bin",
        "DATAMEER_URL": "http://h:1",
        "DATAMEER_USER": "u",
        "DATAMEER_PASSWORD": "p w",
        "EXECUTION_ID": "17",
    }
    result = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    out = result.stdout.splitlines()
    assert (
        out[0] == "-u|u:p w|-X|GET|http://h:1/api/job-execution/Sales/Q1+%27draft%27+%24x/status|"
    )
    assert out[3] == "-u|u:p w|-X|GET|http://h:1/rest/job-execution/job-details/17|"
    body = out[4].split("|")[7]
    assert json.loads(body) == {"variables": {"q": 'it\'s $HOME `x` "y"'}, "fileIds": [5]}


# -- JSON ----------------------------------------------------------------------------------


def test_plan_document_is_json_with_every_policy() -> None:
    document = plan_document(build_plan(_rich_pipeline(), include=["categorize+"]))
    assert json.loads(json.dumps(document)) == document
    assert document["version"] == 1
    assert document["mode"] == {
        "mode": "client",
        "fallback_to_client": False,
        "reason": "auto: the pipeline sets no workbook variables, so dmpipe drives each job itself",
        "warnings": [],
    }
    assert document["levels"] == [["categorize"], ["export"], ["notify"]]
    export = document["jobs"][1]
    assert export["retry"]["retry_on"] == ["ERROR", "TIMEOUT"]
    assert export["expect"] == ["EXPORT_DROPPED_RECORDS == 0"]
    assert document["selection"] == {
        "assumed_done": {"categorize": ["load"]},
        "downstream_left_out": [],
    }
    assert document["critical_path"]["jobs"] == ["categorize", "export", "notify"]
    assert document["endpoints"]["decided_by"] == "the server, at run time"
    calls = {call["operation"]: call["endpoint"] for call in document["endpoints"]["calls"]}
    assert calls["trigger"] == "POST /api/job-execution/<ref>/trigger"
    assert document["policies"]["on_failure"] == "finish_running"
