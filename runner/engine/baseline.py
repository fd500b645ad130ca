"""When a trigger may go out without a status look at its artifact first.

Before each trigger, client mode asks the artifact's status for two things: whether an
execution started outside the run is in the way (``already_running``), and the newest
execution id, the baseline the search for a lost trigger answer compares against
(contract C1: only an execution newer than the baseline can be the trigger's).

Both can come from what the run already knows, saving one request per job:

- **Nothing in the way.** The run's latest ``list-running`` answer shows every execution
  running on the server.  When none of them is foreign (not this run's) and could be this
  artifact, nothing was in the way when it was made.  An execution listed while its
  trigger's answer was still on the way is foreign until that answer names it.
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

**The scout.**  Before the run has created anything (the first wave), or once its newest
execution is older than ``max_poll_interval``, there is no baseline: a start pass would
send a look before each of its triggers.  Instead, one job goes first with its look (the
scout) and the other ready jobs wait, PENDING, until the server shows the scout's
execution (which then is the baseline: they start without a look), or the scout's start
ends without that (its trigger failed, it waits for or attached to a foreign execution),
or ``hold_for`` has passed: then they start as without a scout, each with its look.  A
scout that ended so is not sent again until the run's newest execution changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from runner.datameer.records import RunningJob
from runner.reference import RefKind


@dataclass(frozen=True)
class Listing:
    """The run's latest ``list-running`` answer, reduced to what a start needs."""

    at: float  # when the server made it (monotonic)
    # The running executions that are not this run's, as (execution id, configuration id);
    # an entry the server listed without its execution id has None for it.
    foreign: frozenset[tuple[int | None, int]]

    @classmethod
    def of(cls, at: float, running: Iterable[RunningJob], own: AbstractSet[int]) -> Listing:
        """Reduce an answer; ``own`` are the executions the run is watching as its own."""
        foreign = frozenset(
            (entry.execution_id, entry.configuration_id)
            for entry in running
            if entry.execution_id is None or entry.execution_id not in own
        )
        return cls(at, foreign)

    def without(self, execution_id: int) -> Listing:
        """The listing once ``execution_id`` is known to be the run's own: a trigger sent
        before the list was made whose answer came after it."""
        if not any(listed == execution_id for listed, _ in self.foreign):
            return self
        kept = frozenset(entry for entry in self.foreign if entry[0] != execution_id)
        return Listing(self.at, kept)

    def in_the_way(self, configuration_id: int | None) -> bool:
        """True when a foreign execution may be running the artifact: one of its
        configuration, or any at all while the artifact's configuration is unknown."""
        if configuration_id is None:
            return bool(self.foreign)
        return any(configuration == configuration_id for _, configuration in self.foreign)


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


def takes_baseline(ref_kind: RefKind, file_id: int | None) -> bool:
    """Whether a job's trigger may go with the run's baseline instead of its own look: not
    a path whose file is unknown yet (the look names it, contract C3)."""
    return ref_kind is not RefKind.PATH or file_id is not None


def baseline_fresh(facts: StartFacts) -> bool:
    """Whether the run has a baseline recent enough to stand in for a look."""
    newest = facts.newest
    return newest is not None and facts.now - newest.at <= facts.fresh_for


def hold_for(poll_interval: float, unseen_grace: float) -> float:
    """How long ready jobs wait for the scout's execution to show: one poll interval (the
    server shows a new execution on the next poll after its trigger), never longer than a
    new execution may stay unseen (``unseen_grace``)."""
    return max(0.0, min(poll_interval, unseen_grace))


@dataclass
class Scout:
    """The job whose trigger, after its look, gives the other ready jobs their baseline."""

    job: str
    attempt: int  # its attempt number
    until: float  # the held jobs start with their own looks at the latest then (monotonic)
    before: Newest | None  # the run's newest execution when it was sent
    holding: bool = False  # whether a job waits for it
    looked: bool = False  # whether the poll for its execution was asked for


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
    if facts.now - listing.at > facts.fresh_for or not baseline_fresh(facts):
        return None
    if not takes_baseline(ref_kind, file_id):
        return None  # the look names the path's file, the job-details are checked against it
    if listing.in_the_way(configuration_id):
        return None
    return newest.execution_id
