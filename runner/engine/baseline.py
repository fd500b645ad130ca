"""When a trigger may go out without a status look at its artifact first.

Before each trigger, client mode asks the artifact's status for two things: whether an
execution started outside the run is in the way (``already_running``), and the newest
execution id, the baseline the search for a lost trigger answer compares against
(contract C1: only an execution newer than the baseline can be the trigger's).

Both can come from what the run already knows, saving one request per job:

- **Nothing in the way.** The run's latest ``list-running`` answer shows every execution
  running on the server.  When none of them is foreign (not this run's) and could be this
  artifact, nothing was in the way when it was made.
- **A baseline.** Datameer numbers executions from one sequence for the whole server
  (``job-details`` takes an execution id alone), so an execution this run has just created
  has a higher id than every execution that existed before it, this artifact's included.

Both are facts about a moment; they stand in for the look only while that moment is
recent: no older than ``max_poll_interval``, the longest the run goes without looking at
the server anyway.  What starts outside the run after both moments is missed, as what
starts between a look and its trigger always was.

The look stays where it checks something nothing else can: for a job named by path, it
names the file the path resolves to, which the execution's final job-details are then
checked against (contract C3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runner.datameer.records import RunningJob
from runner.reference import RefKind


@dataclass(frozen=True)
class Listing:
    """The run's latest ``list-running`` answer, reduced to what a start needs."""

    at: float  # when the server made it (monotonic)
    # The configuration ids of the running executions that are not this run's.
    foreign: frozenset[int]

    @classmethod
    def of(cls, at: float, running: Iterable[RunningJob], own: Iterable[int]) -> Listing:
        """Reduce an answer; ``own`` are the executions the run is watching as its own."""
        mine = own if isinstance(own, (set, frozenset)) else set(own)
        foreign = frozenset(
            entry.configuration_id
            for entry in running
            if entry.execution_id is None or entry.execution_id not in mine
        )
        return cls(at, foreign)

    def in_the_way(self, configuration_id: int | None) -> bool:
        """True when a foreign execution may be running the artifact: one of its
        configuration, or any at all while the artifact's configuration is unknown."""
        if configuration_id is None:
            return bool(self.foreign)
        return configuration_id in self.foreign


@dataclass(frozen=True)
class Newest:
    """The newest execution this run created, and when it was sent for (monotonic)."""

    execution_id: int
    at: float

    @classmethod
    def latest(cls, known: Newest | None, execution_id: int, at: float) -> Newest:
        """``known`` or the execution just created, whichever has the higher id."""
        if known is not None and known.execution_id >= execution_id:
            return known
        return cls(execution_id, at)


@dataclass(frozen=True)
class StartFacts:
    """What the run knows when one of its jobs is about to start."""

    now: float
    fresh_for: float  # how old a listing or a baseline may be
    listing: Listing | None
    newest: Newest | None


def baseline_without_look(
    facts: StartFacts,
    *,
    ref_kind: RefKind,
    file_id: int | None,
    configuration_id: int | None,
) -> int | None:
    """The baseline a trigger can use without a status look first, or None to look."""
    listing, newest = facts.listing, facts.newest
    if listing is None or newest is None:
        return None
    if facts.now - listing.at > facts.fresh_for or facts.now - newest.at > facts.fresh_for:
        return None
    if ref_kind is RefKind.PATH and file_id is None:
        return None  # the look names the path's file, the job-details are checked against it
    if listing.in_the_way(configuration_id):
        return None
    return newest.execution_id
