"""Instant start (issue 14, goal 3): what a run imports before its first trigger.

networkx, jsonschema and the renderers take a third of a second or more to import; a
valid file run to its first trigger needs none of them.  Each check runs in a fresh
interpreter (this one has them all loaded already) and asks ``sys.modules``, never a
clock: a module imported on the run path again fails the test whatever the machine.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.engine.outcome import JobOutcome, JobState
from runner.engine.ready import ReadyQueue
from runner.engine.slots import Slot
from runner.errors import PipelineFileError
from runner.graph import build_graph, select
from runner.model import Job, Pipeline
from runner.reference import JobRef
from testing import scenarios
from testing.emulators import MakeEmulator

ROOT = Path(__file__).resolve().parent.parent

# Imported on the way to the first trigger, these cost a valid run's start: the job graph
# (networkx), the schema's error messages (jsonschema), the terminal and HTML renderers,
# the in-process emulator (only for --emulator), requests (the client talks through urllib3),
# the plan's outline and the records that read a report back; the API records a run reads
# only once a job ended, the cookie jar (made at the first cookie).
HEAVY = (
    "networkx",
    "runner.datameer.late_records",
    "http.cookiejar",
    "jsonschema",
    "requests",
    "runner.plan.outline",
    "runner.report.saved",
    "rich",
    "runner.emulator",
    "runner.report.html",
    "runner.report.svg",
    "runner.report.timeline",
)

PIPELINE = """\
version: 1
name: start
mode: client
policies: {poll_interval: 0.05s, max_poll_interval: 0.2s}
jobs:
  load: {file_id: 1}
  report: {file_id: 2, needs: [load]}
  ship: {file_id: 3, needs: [report, load]}
"""

# Runs the file to its end through the library; notes which HEAVY modules were loaded
# when the first trigger was answered.
RUN_SCRIPT = """\
import json, sys
from pathlib import Path
from runner.engine.events import EventKind
from runner.launch import RunOptions, run_file
from runner.model import ServerSettings

file, url, report_dir, heavy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
loaded = {}

def events(event):
    if event.kind is EventKind.TRIGGERED and not loaded:
        loaded.update({name: name in sys.modules for name in heavy})

options = RunOptions(
    server=ServerSettings(url=url),
    report_dir=Path(report_dir),
    environ={"DATAMEER_USER": "admin", "DATAMEER_PASSWORD": "admin"},
)
outcome = run_file(file, options, events)
reports = sorted(path.name for path in Path(report_dir).iterdir())
print(json.dumps({"exit_code": outcome.exit_code, "loaded": loaded, "reports": reports,
                  "networkx_at_end": "networkx" in sys.modules}))
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_run_triggers_without_the_heavy_modules(
    tmp_path: Path, make_emulator: MakeEmulator
) -> None:
    server = make_emulator(
        scenarios.scenario(
            scenarios.artifact(1), scenarios.artifact(2), scenarios.artifact(3), clock="real"
        ),
        time_scale=1000,
    )
    file = tmp_path / "pipeline.yaml"
    file.write_text(PIPELINE, encoding="utf-8")
    child = _python("-c", RUN_SCRIPT, str(file), server.url, str(tmp_path / "run"), ",".join(HEAVY))
    assert child.returncode == 0, child.stderr
    answer = json.loads(child.stdout.strip().splitlines()[-1])
    assert answer["exit_code"] == 0, child.stderr
    assert answer["loaded"] == dict.fromkeys(HEAVY, False)
    # The reports lay the job graph out with graphlib: networkx is not imported at the end
    # either (a third of a second of every run's CPU before).
    assert {"report.html", "summary.md", "junit.xml"} <= set(answer["reports"])
    assert answer["networkx_at_end"] is False


# Loads and checks the file as `dmpipe run` does before connecting; prints the problems
# (or none) and which HEAVY modules that loaded.
LOAD_SCRIPT = """\
import json, sys
from runner.errors import PipelineFileError
from runner.graph import select
from runner.plan import choose_mode
from runner.spec import load_pipeline

problems, chosen = [], []
try:
    pipeline = load_pipeline(sys.argv[1])
    selection = select(pipeline, sys.argv[3].split(), sys.argv[4].split())
    choose_mode(selection.pipeline, selection=selection)
    chosen = list(selection.pipeline.jobs)
except PipelineFileError as error:
    problems = [str(problem) for problem in error.problems]
heavy = sys.argv[2].split(",")
loaded = [m for m in heavy if m in sys.modules]
print(json.dumps({"problems": problems, "chosen": chosen, "loaded": loaded}))
"""


@pytest.mark.parametrize(
    ("text", "problems", "loaded"),
    [
        pytest.param(PIPELINE, [], [], id="valid: neither"),
        pytest.param(
            PIPELINE.replace("needs: [load]}", "needs: [ship]}"),
            ["{file}:7:32: the jobs form a cycle: report -> ship -> report"],
            ["networkx"],
            id="cycle: networkx words it",
        ),
        pytest.param(
            PIPELINE.replace("needs: [load]}", "needs: [ship]}").replace(
                "load: {file_id: 1}", "load: {file_id: 1, needs: [ship]}"
            ),
            ["{file}:6:30: the jobs form a cycle: load -> ship -> load"],
            ["networkx"],
            id="two cycles through one job: one problem, as before",
        ),
        pytest.param(
            PIPELINE.replace("file_id: 2,", "file_id: -2,"),
            ["{file}:7:21: file_id of job 'report': expected at least 0, got -2"],
            ["jsonschema"],
            id="schema error: jsonschema words it",
        ),
    ],
)
def test_a_file_loads_what_its_problems_need(
    tmp_path: Path, text: str, problems: list[str], loaded: list[str]
) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(text, encoding="utf-8")
    child = _python("-c", LOAD_SCRIPT, str(file), ",".join(HEAVY), "", "")
    assert child.returncode == 0, child.stderr
    answer = json.loads(child.stdout)
    assert answer["problems"] == [problem.format(file=file) for problem in problems]
    assert answer["loaded"] == loaded


@pytest.mark.parametrize(
    ("include", "exclude", "chosen"),
    [
        pytest.param("report+", "", ["report", "ship"], id="downstream"),
        pytest.param("+report", "", ["load", "report"], id="upstream"),
        pytest.param("", "load", ["report", "ship"], id="exclude"),
    ],
)
def test_a_selection_needs_no_networkx(
    tmp_path: Path, include: str, exclude: str, chosen: list[str]
) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(PIPELINE, encoding="utf-8")
    child = _python("-c", LOAD_SCRIPT, str(file), ",".join(HEAVY), include, exclude)
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == {"problems": [], "chosen": chosen, "loaded": []}


def _hand_built(*specs: str) -> Pipeline:
    """``_hand_built("a", "b:a")``: job b needs a (a Pipeline no loader checked)."""
    jobs = {}
    for number, spec in enumerate(specs, start=1):
        name, _, needs = spec.partition(":")
        jobs[name] = Job(name, JobRef.parse(number), needs=tuple(filter(None, needs.split(","))))
    return Pipeline(name="test", path="test.yaml", version=1, jobs=jobs)


@pytest.mark.parametrize(
    "specs",
    [
        pytest.param(("a:b",), id="unknown need"),
        pytest.param(("a:a",), id="self-need"),
        pytest.param(("a", "b:a,d", "c:b", "d:c"), id="cycle"),
    ],
)
def test_a_selection_of_a_broken_graph_raises_what_build_graph_raises(
    specs: tuple[str, ...],
) -> None:
    pipeline = _hand_built(*specs)
    with pytest.raises(PipelineFileError) as expected:
        build_graph(pipeline)
    with pytest.raises(PipelineFileError) as caught:
        select(pipeline, ["a+"])
    assert str(caught.value) == str(expected.value)


def test_an_invalid_file_still_exits_2_with_its_position(tmp_path: Path) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(PIPELINE.replace("needs: [load]}", "needs: [ship]}"), encoding="utf-8")
    child = _python("-m", "runner", "run", str(file), "--server", "http://127.0.0.1:9")
    assert child.returncode == 2
    expected = f"dmpipe: error: {file}:7:32: the jobs form a cycle: report -> ship -> report"
    assert child.stderr.splitlines()[0] == expected


COMMANDS_SCRIPT = """\
import json, sys
from runner.commands.main import build_parser

parser = build_parser(sys.argv[1] or None)
commands = sorted(m for m in sys.modules if m.startswith("runner.commands."))
print(json.dumps(commands))
"""

ALWAYS = ["runner.commands.arguments", "runner.commands.completion", "runner.commands.interrupt"]
ALWAYS += ["runner.commands.main", "runner.commands.output"]


@pytest.mark.parametrize(
    ("command", "modules"),
    [
        pytest.param("run", [*ALWAYS, "runner.commands.run"], id="run: its own module"),
        pytest.param("", None, id="no command: every one (for --help)"),
    ],
)
def test_the_parser_imports_the_named_command_only(command: str, modules: list[str] | None) -> None:
    child = _python("-c", COMMANDS_SCRIPT, command)
    assert child.returncode == 0, child.stderr
    from runner.commands.main import COMMANDS

    expected = modules or sorted({*ALWAYS, *(f"runner.commands.{name}" for name in COMMANDS)})
    assert sorted(json.loads(child.stdout)) == sorted(expected)


def _slot(name: str, *needs: str) -> Slot:
    return Slot(Job(name=name, ref=JobRef.parse(len(name)), needs=needs), JobState(name))


def test_ready_queue_counts_a_need_once() -> None:
    # A need written twice counts once; a need outside the run (not selected) not at all.
    slots = {s.job.name: s for s in [_slot("a"), _slot("bb", "a", "a"), _slot("ccc", "bb", "x")]}
    queue = ReadyQueue(slots)
    assert [s.job.name for s in queue.free()] == ["a"]
    assert queue.blocked("bb")
    assert queue.blocked("ccc")
    slots["a"].state.outcome = JobOutcome.SUCCEEDED
    queue.settled("a")
    assert [s.job.name for s in queue.free()] == ["bb"]
    slots["bb"].state.outcome = JobOutcome.SUCCEEDED
    queue.settled("bb")
    assert [s.job.name for s in queue.free()] == ["ccc"]
    slots["ccc"].state.outcome = JobOutcome.FAILED
    assert not queue.all_final()  # not told yet
    queue.settled("ccc")
    assert queue.all_final()


def test_the_start_up_holds_the_collector_until_the_runs_first_step() -> None:
    # `dmpipe` holds the cyclic collector while it starts; a run lets it go at its first
    # event past run_started (then frozen: start-up's objects stay out of its way).
    from datetime import datetime

    from runner.commands.main import hold_collection, resume_collection
    from runner.commands.run import _first_step
    from runner.engine.events import EventKind, RunEvent

    heard: list[EventKind] = []
    sink = _first_step(lambda event: heard.append(event.kind))
    now = datetime.now().astimezone()
    frozen = gc.get_freeze_count()
    hold_collection()
    try:
        assert not gc.isenabled()
        sink(RunEvent(now, EventKind.RUN_STARTED, message="run"))
        assert not gc.isenabled()
        sink(RunEvent(now, EventKind.TRIGGERING, job="a", message="triggering a"))
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen
        resume_collection()  # once only
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
    assert heard == [EventKind.RUN_STARTED, EventKind.TRIGGERING]


def test_a_collector_disabled_by_the_embedder_stays_disabled() -> None:
    from runner.commands.main import hold_collection, resume_collection

    gc.disable()
    try:
        hold_collection()
        resume_collection()
        assert not gc.isenabled()
    finally:
        gc.enable()


def _former_plain(value: object) -> object:
    """``runner.engine.identity._plain`` before it cached each class's fields: the hash a
    journal written by an earlier dmpipe holds, which a resume compares with."""
    import dataclasses
    import enum
    from collections.abc import Mapping

    from runner.engine.identity import _UNHASHED_FIELDS

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _former_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _UNHASHED_FIELDS
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _former_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_former_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_former_plain(v) for v in value), key=lambda v: json.dumps(v, default=str))
    return value


@pytest.mark.parametrize(
    "example", [*sorted(p.name for p in (ROOT / "examples").glob("*.yaml")), "start"]
)
def test_the_pipeline_hash_is_the_one_earlier_runs_recorded(example: str, tmp_path: Path) -> None:
    import hashlib

    from runner.engine.identity import pipeline_sha256
    from runner.spec import load_pipeline

    file = ROOT / "examples" / example
    if example == "start":
        file = tmp_path / "pipeline.yaml"
        file.write_text(PIPELINE, encoding="utf-8")
    environ = {"DATAMEER_URL": "http://datameer", "DATAMEER_PASSWORD": "secret"}
    pipeline = load_pipeline(file, env=environ)
    text = json.dumps(_former_plain(pipeline), sort_keys=True, separators=(",", ":"), default=str)
    assert pipeline_sha256(pipeline) == hashlib.sha256(text.encode("utf-8")).hexdigest()
