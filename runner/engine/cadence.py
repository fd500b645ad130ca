"""When to look at running executions next: around their expected finishes, not on a beat.

Pure functions, no clock of their own: every time is a monotonic reading passed in.

The expected finish comes from the freshest signal there is:

1. what the server said — the remaining time (``estimateTime`` of list-running,
   ``estimate-time`` of v2 status) at the last sighting, and the progress, which with
   the time since the trigger gives the whole duration; when both exist the earlier
   finish wins.  Progress is rounded down, so each sighting bounds the duration from
   above; the tightest bound of all the sightings so far counts (``tighter_duration``),
   until the execution outlives it (progress was not steady);
2. else the job's ``estimate:`` from the pipeline file, counted from the trigger;
3. else nothing: the backoff applies.

Each watched execution then wishes for a look just after its expected finish, and at the
latest when its backoff runs out (``look_wish``): an estimate only ever brings a look
forward.  The backoff is the run's (``poll_interval`` after a change, growing while
nothing changes), or, for an execution whose finish progress measured, the backoff it
would have reached alone since its trigger (``execution_backoff``): that estimate is
refreshed by every poll, and a busy run's beat would otherwise poll on every
``poll_interval`` whatever the estimates say.  Once an expected finish has passed, looks
come every ``floor``, spreading out (half the delay so far) to the backoff, so a wrong
estimate never makes the run poll hard for long.

One list-running answers for every execution, so the run polls once for many wishes
(``next_poll``): on the earliest expected finish, moved on to the last one expected
within ``COALESCE_SHARE`` of ``poll_interval`` after it, so that one poll sees them all,
and never after the earliest backoff runs out.  ``PollBudget`` bounds the rate whatever
the estimates say.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Share of poll_interval under which two polls are never closer (the floor).
FLOOR_SHARE = 0.25
# Finishes expected within this share of poll_interval after the earliest one are seen
# by one poll, at the last of them: the trade-off between lag and requests (BENCHMARKS.md,
# "Goal 1, the DAG's lag"; on the overhead DAG 0.25 gave a lag p50 of a quarter of
# poll_interval for 6 % more requests, 0.75 the requests of one poll per poll_interval
# for 40 % less lag than that gave).
COALESCE_SHARE = 0.75
# At most one poll per this share of poll_interval on average (PollBudget).
BUDGET_SHARE = 0.5


@dataclass(frozen=True)
class Sighting:
    """What is known about one execution's progress, in the run's monotonic time."""

    seen_at: float | None = None  # when the server last showed it running
    remaining: float | None = None  # the server's estimate of the seconds left, then
    progress: float | None = None  # percent done, then
    triggered_at: float | None = None  # just before its trigger was sent (None: not ours)
    job_estimate: float | None = None  # the pipeline's ``estimate:`` (whole duration)
    # The shortest whole duration earlier sightings' progress implied (tighter_duration).
    progress_duration: float | None = None


@dataclass(frozen=True)
class Expected:
    """An expected finish (monotonic time); ``own_clock`` when it was measured on the
    run's clock (progress since the trigger, the pipeline's estimate), not the server's;
    ``measured`` when progress the server showed gave it."""

    at: float
    own_clock: bool
    measured: bool = False


def progress_duration(
    seen: float | None, triggered: float | None, progress: float | None
) -> float | None:
    """The whole duration that ``progress`` percent done at ``seen`` implies, counted from
    the trigger; None when it says nothing.  Progress is rounded down: this errs long."""
    if seen is None or triggered is None or progress is None or not 0 < progress < 100:
        return None
    if seen <= triggered:
        return None
    return (seen - triggered) * 100.0 / progress


def tighter_duration(earlier: float | None, age: float, latest: float | None) -> float | None:
    """Fold one sighting's implied duration (``latest``) into the shortest one so far.

    Each sighting bounds the duration from above; the smallest bound is the tightest.  A
    bound the execution has outlived (it still ran ``age`` after its trigger) was wrong,
    progress not being steady: it is dropped for the latest sighting's."""
    if earlier is None or age >= earlier:
        return latest
    if latest is None:
        return earlier
    return min(earlier, latest)


def expected_finish(sighting: Sighting) -> Expected | None:
    """When the execution is expected to end, or None if nothing says."""
    seen, started = sighting.seen_at, sighting.triggered_at
    if seen is not None:
        duration = progress_duration(seen, started, sighting.progress)
        if sighting.progress_duration is not None and started is not None:
            duration = tighter_duration(sighting.progress_duration, seen - started, duration)
        by_progress = None if duration is None or started is None else started + duration
        remaining = sighting.remaining
        if remaining is not None and remaining >= 0:
            by_server = seen + remaining
            if by_progress is None or by_server < by_progress:
                return Expected(by_server, own_clock=False)
        if by_progress is not None:
            return Expected(by_progress, own_clock=True, measured=True)
    if sighting.job_estimate is not None and started is not None:
        return Expected(started + sighting.job_estimate, own_clock=True)
    return None


def execution_backoff(poll_interval: float, age: float) -> float:
    """The interval a backoff growing half again on every look without change reaches
    ``age`` seconds after a change (the trigger): about ``poll_interval + age / 2``."""
    return poll_interval + max(0.0, age) / 2


def look_wish(
    now: float,
    expected: Expected | None,
    *,
    backoff: float,
    floor: float,
    ceiling: float,
) -> tuple[float | None, float]:
    """When to look at an execution next: (just after its expected finish, or None when
    nothing is expected; the latest the look may come, ``backoff`` after ``now``).

    ``floor`` and ``ceiling`` bound both delays (the ceiling wins if they cross); the
    first is never later than the second: an estimate never pushes a look back."""
    ceiling = min(ceiling, max(backoff, floor))
    floor = min(floor, ceiling)
    latest = now + _clamp(backoff, floor, ceiling)
    if expected is None:
        return None, latest
    ahead = expected.at - now
    if ahead <= 0:  # overdue: the estimate was short; look soon, then less and less often
        return now + _clamp(-ahead / 2, floor, ceiling), latest
    return now + _clamp(ahead, floor, ceiling), latest


def next_look(
    now: float,
    expected: Expected | None,
    *,
    backoff: float,
    floor: float,
    ceiling: float,
) -> float:
    """The time of the next look at one execution expected to end at ``expected``."""
    at, latest = look_wish(now, expected, backoff=backoff, floor=floor, ceiling=ceiling)
    return latest if at is None else at


def next_poll(
    wishes: Iterable[tuple[float | None, float]], *, not_before: float, window: float
) -> float:
    """The time of the next poll, one list-running answering for every execution.

    Each wish is a ``look_wish``.  The poll lands on the earliest expected finish, moved
    on to the last finish expected within ``window`` after it, so that one poll sees
    them all; never later than the earliest latest look (unless that is before
    ``not_before``), never before ``not_before``."""
    wish_list = list(wishes)
    if not wish_list:
        raise ValueError("next_poll needs at least one wish")
    cap = max(not_before, min(latest for _, latest in wish_list))
    finishes = sorted(at for at, _ in wish_list if at is not None and at < cap)
    if not finishes:
        return cap
    first = max(finishes[0], not_before)
    last = max([first, *(at for at in finishes if at <= first + window)])
    return min(last, cap)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high))


# Polls the budget lets through at once after a quiet spell.
BURST = 4.0


class PollBudget:
    """On average at most one poll per ``interval``, with bursts of ``burst``: however
    many finishes the estimates expect, the server never sees polls faster than that.
    A token bucket on the run's monotonic time."""

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
