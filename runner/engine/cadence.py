"""When to look at a running execution next: around its expected finish, not on a fixed beat.

Pure functions, no clock of their own: every time is a monotonic reading passed in.

The expected finish comes from the freshest signal there is:

1. what the server said at its last sighting — the remaining time (``estimateTime`` of
   list-running, ``estimate-time`` of v2 status) and the progress, which with the time
   since the trigger gives the whole duration; when both exist the earlier finish wins
   (Datameer rounds estimates up to whole seconds; progress is rounded down, so each one
   errs late, and an early look costs one shared request where a late one costs lag);
2. else the job's ``estimate:`` from the pipeline file, counted from the trigger;
3. else nothing: the caller's backoff applies.

The next look is then the expected finish, or, while it is still far, a look at four
fifths of the way there to refine the guess (a server's estimate is most precise near
the end).  Every look is at least ``floor`` and at most ``ceiling`` away, and never later
than the backoff would put it: an estimate only ever brings a look forward.  An estimate
that is too long (a job that got faster, an emulator at a time scale, a server clock
running slow) then costs nothing, where a look it put off would be lag.  Once the
expected finish has passed, looks come every ``floor``, spreading out (half the delay so
far) to at most the backoff, so a wrong estimate never makes the run poll hard for long.
"""

from __future__ import annotations

from dataclasses import dataclass

# Share of poll_interval under which two looks are never closer (the floor).
FLOOR_SHARE = 0.25
# While the expected finish is far, look at this share of the way there to refine it.
REFINE_SHARE = 0.8


@dataclass(frozen=True)
class Sighting:
    """What is known about one execution's progress, in the run's monotonic time."""

    seen_at: float | None = None  # when the server last showed it running
    remaining: float | None = None  # the server's estimate of the seconds left, then
    progress: float | None = None  # percent done, then
    triggered_at: float | None = None  # just before its trigger was sent (None: not ours)
    job_estimate: float | None = None  # the pipeline's ``estimate:`` (whole duration)


@dataclass(frozen=True)
class Expected:
    """An expected finish (monotonic time); ``own_clock`` when it was measured on the
    run's clock (progress since the trigger, the pipeline's estimate), not the server's."""

    at: float
    own_clock: bool


def expected_finish(sighting: Sighting) -> Expected | None:
    """When the execution is expected to end, or None if nothing says."""
    seen, started = sighting.seen_at, sighting.triggered_at
    if seen is not None:
        progress = sighting.progress
        by_progress = None
        if progress is not None and 0 < progress < 100 and started is not None and seen > started:
            by_progress = started + (seen - started) * 100.0 / progress
        remaining = sighting.remaining
        if remaining is not None and remaining >= 0:
            by_server = seen + remaining
            if by_progress is None or by_server < by_progress:
                return Expected(by_server, own_clock=False)
        if by_progress is not None:
            return Expected(by_progress, own_clock=True)
    if sighting.job_estimate is not None and started is not None:
        return Expected(started + sighting.job_estimate, own_clock=True)
    return None


def next_look(
    now: float,
    expected: Expected | None,
    *,
    backoff: float,
    floor: float,
    ceiling: float,
) -> float:
    """The monotonic time of the next look at an execution expected to end at ``expected``.

    ``backoff`` is the interval the run would use without any estimate; ``floor`` and
    ``ceiling`` bound the delay (the ceiling wins if they cross), and no look is put
    later than ``backoff``: an estimate brings looks forward, never pushes them back.
    """
    ceiling = min(ceiling, max(backoff, floor))
    floor = min(floor, ceiling)
    if expected is None:
        return now + _clamp(backoff, floor, ceiling)
    ahead = expected.at - now
    if ahead <= 0:  # overdue: the estimate was short; look soon, then less and less often
        return now + _clamp(-ahead / 2, floor, ceiling)
    if ahead * (1 - REFINE_SHARE) >= floor:  # far enough to refine the guess on the way
        return now + _clamp(ahead * REFINE_SHARE, floor, ceiling)
    return now + _clamp(ahead, floor, ceiling)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high))


# Polls the budget lets through at once after a quiet spell.
BURST = 4.0


class PollBudget:
    """On average at most one poll per ``interval`` (``poll_interval``), with bursts of
    ``burst``: planned looks bring polls forward when finishes are sparse (a chain), but
    many jobs finishing close together never make the server see more polls than the
    fixed beat would send.  A token bucket on the run's monotonic time."""

    def __init__(self, interval: float, start: float, burst: float = BURST) -> None:
        self.interval = interval
        self.burst = burst
        self.tokens = burst
        self.at = start

    def _refill(self, now: float) -> None:
        if self.interval <= 0:
            self.tokens = self.burst
        elif now > self.at:
            self.tokens = min(self.burst, self.tokens + (now - self.at) / self.interval)
        self.at = max(self.at, now)

    def available(self, now: float) -> float:
        """The earliest time (``now`` or later) at which a poll may be spent."""
        self._refill(now)
        if self.tokens >= 1:
            return now
        return now + (1 - self.tokens) * self.interval

    def spend(self, now: float) -> None:
        """A poll was made at ``now``."""
        self._refill(now)
        self.tokens = max(0.0, self.tokens - 1)
