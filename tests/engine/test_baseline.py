"""A trigger without a status look first (engine.baseline): when the run may skip the look,
and that the run contract holds without it, judged by the emulator's ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.datameer.client import DatameerClient
from runner.datameer.records import RunningJob
from runner.datameer.status import JobStatus
from runner.emulator import EmulatorServer
from runner.engine.baseline import Listing, Newest, StartFacts, baseline_without_look
from runner.engine.events import RunEvent
from runner.engine.outcome import JobOutcome
from runner.reference import JobRef, RefKind
from testing.engine_runs import PASSWORD, USER, artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
STATUS = "GET /api/job-execution/{ref}/status"


def entry(configuration_id: int, execution_id: int | None) -> RunningJob:
    return RunningJob(configuration_id, execution_id, JobStatus.RUNNING, "RUNNING", None, None, 0)


def test_a_listing_keeps_the_configurations_of_foreign_executions_only() -> None:
    running = [entry(7, 101), entry(8, 102), entry(9, None)]
    listing = Listing.of(5.0, running, own={101})
    assert listing == Listing(5.0, frozenset({(102, 8), (None, 9)}))
    assert listing.in_the_way(8)
    assert listing.in_the_way(None)  # the artifact's configuration is not known yet
    assert not listing.in_the_way(7)  # this run's own execution is in no one's way
    assert not Listing(5.0, frozenset()).in_the_way(None)


def test_an_execution_the_run_learns_is_its_own_leaves_the_foreign_ones() -> None:
    """A trigger sent before the list was made, answered after it: its execution was
    listed as foreign until the answer named it."""
    listing = Listing.of(5.0, [entry(7, 101), entry(8, 102)], own=set())
    assert listing.in_the_way(None)
    mine = listing.without(101).without(102)
    assert mine == Listing(5.0, frozenset())
    assert not mine.in_the_way(None)
    assert listing.without(999) is listing  # not listed: nothing changes
    anonymous = Listing.of(5.0, [entry(9, None)], own=set())
    assert anonymous.without(101).in_the_way(None)  # an entry without an id stays foreign


def test_the_newest_execution_is_the_one_with_the_highest_id() -> None:
    newest = Newest.latest(None, 40, 1.0)
    assert Newest.latest(newest, 42, 2.0) == Newest(42, 2.0)
    assert Newest.latest(Newest(42, 2.0), 41, 3.0) == Newest(42, 2.0)


QUIET = Listing(at=10.0, foreign=frozenset())
BUSY = Listing(at=10.0, foreign=frozenset({(77, 5)}))
NEWEST = Newest(execution_id=300, at=9.0)


def facts(
    now: float = 10.5, listing: Listing | None = QUIET, newest: Newest | None = NEWEST
) -> StartFacts:
    return StartFacts(now=now, fresh_for=30, listing=listing, newest=newest)


FILE, UUID, PATH = RefKind.FILE_ID, RefKind.UUID, RefKind.PATH


@pytest.mark.parametrize(
    ("known", "kind", "file_id", "configuration_id", "expected"),
    [
        pytest.param(facts(), FILE, None, None, 300, id="ok"),
        pytest.param(facts(), UUID, None, None, 300, id="uuid"),
        pytest.param(facts(listing=None), FILE, None, None, None, id="unlisted"),
        pytest.param(facts(newest=None), FILE, None, None, None, id="nothing-created"),
        pytest.param(facts(41, newest=Newest(300, 39)), FILE, None, None, None, id="stale-listing"),
        pytest.param(
            facts(40, Listing(39, frozenset())), FILE, None, None, None, id="stale-newest"
        ),
        pytest.param(facts(), PATH, None, None, None, id="path-file-unknown"),
        pytest.param(facts(), PATH, 12, None, 300, id="path-file-known"),
        pytest.param(facts(listing=BUSY), FILE, None, None, None, id="foreign-config-unknown"),
        pytest.param(facts(listing=BUSY), FILE, None, 5, None, id="foreign-same-config"),
        pytest.param(facts(listing=BUSY), FILE, None, 6, 300, id="foreign-other-config"),
    ],
)
def test_when_a_trigger_may_go_without_a_look(
    known: StartFacts,
    kind: RefKind,
    file_id: int | None,
    configuration_id: int | None,
    expected: int | None,
) -> None:
    found = baseline_without_look(
        known, ref_kind=kind, file_id=file_id, configuration_id=configuration_id
    )
    assert found == expected


def _triggers(server: EmulatorServer, file_id: int | None = None) -> list[Any]:
    return [e for e in server.ledger.triggers(file_id=file_id) if e.effective]


def test_a_chain_on_a_quiet_server_looks_only_before_its_first_trigger(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(scenario(*(artifact(i) for i in range(1, 6))))
    names = ["a", "b", "c", "d", "e"]
    jobs = [job(names[0], 1)] + [job(names[i], i + 1, names[i - 1]) for i in range(1, 5)]
    result = run(server, pipeline(*jobs), tmp_path)
    assert result.outcome.exit_code == 0
    assert [e.file_id for e in _triggers(server)] == [1, 2, 3, 4, 5]
    stats = server.stats()
    assert stats.get(STATUS, 0) == 1
    # Requests besides the ticks' list-running: one look, then a trigger and a final
    # job-details per job.
    besides_ticks = stats["total"] - stats["GET /rest/jobs/list-running"]
    assert besides_ticks == 1 + 2 * len(jobs)
    sent = [e for e in result.events if e.kind == "trigger_sent"]
    previous = [e.data["previous_execution_id"] for e in sent]
    executions = [e.execution_id for e in _triggers(server)]
    # Each trigger after the first took the run's newest execution as its baseline.
    assert previous[1:] == executions[:-1]


def test_paths_are_looked_at_before_their_trigger(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """The look names the file a path resolves to; the final job-details are checked
    against it, so a job named by path keeps its look."""
    paths = {1: "/Data/ImportJobs/first.imp", 2: "/Data/ImportJobs/second.imp"}
    server = make_emulator(
        scenario(*(artifact(i, path=p) for i, p in paths.items()), paths="strict")
    )
    first = dataclasses.replace(job("a", 1), ref=JobRef.parse(paths[1]))
    second = dataclasses.replace(job("b", 2, "a"), ref=JobRef.parse(paths[2]))
    result = run(server, pipeline(first, second), tmp_path)
    assert result.outcome.exit_code == 0
    assert server.stats().get(STATUS, 0) == 2
    assert result.outcome.states["b"].file_id == 2


def test_an_execution_started_outside_the_run_is_still_waited_for(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """Someone starts b's artifact while a runs: the running list shows a foreign
    execution, so b looks before its trigger, sees it and waits for it to end."""
    server = make_emulator(scenario(artifact(1, duration=5), artifact(2, duration=20)))
    foreign: list[int] = []

    def start_outside(event: RunEvent) -> None:
        if event.kind == "triggered" and event.job == "a" and not foreign:
            with DatameerClient(server.url, user=USER, password=PASSWORD) as client:
                foreign.append(client.trigger(JobRef.parse(2)).execution_id)

    result = run(server, pipeline(job("a", 1), job("b", 2, "a")), tmp_path, on_event=start_outside)
    assert result.outcome_of("b") is JobOutcome.SUCCEEDED
    assert "waiting" in result.kinds("b")
    own = [e for e in _triggers(server, 2) if e.execution_id not in foreign]
    assert len(own) == 1
    assert result.outcome.states["b"].attempts[-1].execution_id == own[0].execution_id
    assert server.stats().get(STATUS, 0) >= 2


def test_a_lost_answer_without_a_look_is_found_not_sent_again(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """b's trigger answer is lost; b went without a look, so the run's newest execution
    is the baseline its search compares against: b's execution is found, not re-sent."""
    faults = {"lost_trigger_rate": 1, "paths": ["/api/job-execution/2/trigger"]}
    server = make_emulator(scenario(artifact(1), artifact(2), faults=faults))
    result = run(server, pipeline(job("a", 1), job("b", 2, "a")), tmp_path)
    assert result.outcome.exit_code == 0
    lost = _triggers(server, 2)
    assert len(lost) == 1
    assert lost[0].response_lost
    attempt = result.outcome.states["b"].attempts[0]
    assert attempt.recovered
    assert attempt.execution_id == lost[0].execution_id
    sent = next(e for e in result.events if e.kind == "trigger_sent" and e.job == "b")
    assert sent.data["previous_execution_id"] == result.outcome.states["a"].attempts[0].execution_id


def test_an_older_execution_of_the_artifact_is_never_taken_for_a_lost_one(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """b's artifact ran before the run (an old, completed execution) and b's trigger is
    cut before it reached the server, every time: the search must not adopt the old
    execution; the job fails rather than claim it."""
    history = [{"id": 900, "status": "COMPLETED", "ago": 3600, "duration": 60}]
    faults = {"drop_rate": 1, "paths": ["/api/job-execution/2/trigger"]}
    server = make_emulator(scenario(artifact(1), artifact(2, history=history), faults=faults))
    result = run(server, pipeline(job("a", 1), job("b", 2, "a")), tmp_path)
    state = result.outcome.states["b"]
    assert _triggers(server, 2) == []
    assert all(attempt.execution_id != 900 for attempt in state.attempts)
    assert state.outcome is JobOutcome.FAILED
    assert result.outcome.exit_code == 1


def test_a_phantom_id_in_a_trigger_answer_never_becomes_the_baseline(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """c's trigger is answered with an execution id far above every real one (c's real
    execution is over before b starts, so nothing is in b's way).  Had the run
    taken it for its newest execution, b's search for its lost answer would never find
    anything newer and b would be sent again; the baseline comes from what the server
    shows, so b's execution is found and b triggered once."""
    faults = {
        "phantom_execution_id": 1,
        "file_ids": [3],
        "lost_trigger_rate": 1,
        "paths": ["/api/job-execution/2/trigger"],
    }
    server = make_emulator(
        scenario(artifact(1, duration=5), artifact(2), artifact(3, duration=1), faults=faults)
    )
    pipe = pipeline(job("a", 1), job("b", 2, "a"), job("c", 3))
    result = run(server, pipe, tmp_path)
    phantom = _triggers(server, 3)[0].answered_id
    assert phantom is not None
    assert phantom >= 10**9
    assert len(_triggers(server, 2)) == 1
    b = result.outcome.states["b"]
    assert b.outcome is JobOutcome.SUCCEEDED
    assert b.attempts[0].recovered
    sent = next(e for e in result.events if e.kind == "trigger_sent" and e.job == "b")
    assert sent.data["previous_execution_id"] == result.outcome.states["a"].attempts[0].execution_id
