"""Job status as Datameer reports it, normalised once for the whole product.

The API spells the same state in several ways (``COMPLETED_WITH_Warnings`` in
v1, ``COMPLETED_WITH_WARNINGS`` in v2, ``CANCELLED`` in some scripts, ``_NONE``
or ``{}`` for a job that never ran).  ``parse_status`` maps every spelling to
one ``JobStatus``; a value nobody has seen before becomes ``UNKNOWN`` and the
caller keeps the raw text to report it.
"""

from __future__ import annotations

import enum


class JobStatus(enum.Enum):
    """The state of one job execution."""

    NEVER_RAN = "NEVER_RAN"
    QUEUED = "QUEUED"
    WAITING_FOR_OTHER_JOB = "WAITING_FOR_OTHER_JOB"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_WARNINGS = "COMPLETED_WITH_WARNINGS"
    ERROR = "ERROR"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """True when the execution has ended and will not change again."""
        return self in _TERMINAL

    @property
    def is_success(self) -> bool:
        """True for both completed states; the pipeline decides about warnings."""
        return self in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_WARNINGS)

    @property
    def is_active(self) -> bool:
        """True while the server is working on (or about to work on) the execution."""
        return self in _ACTIVE


_TERMINAL = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_WARNINGS,
        JobStatus.ERROR,
        JobStatus.CANCELED,
    }
)
_ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.WAITING_FOR_OTHER_JOB, JobStatus.RUNNING})

_ALIASES = {
    "_NONE": JobStatus.NEVER_RAN,
    "NONE": JobStatus.NEVER_RAN,
    "": JobStatus.NEVER_RAN,
    "CANCELLED": JobStatus.CANCELED,
}


def parse_status(raw: object) -> JobStatus:
    """Map any status spelling the API uses to a ``JobStatus``; never raises.

    ``None`` and an empty object (``{}``) mean the job never ran.
    """
    if raw is None or raw == {}:
        return JobStatus.NEVER_RAN
    if not isinstance(raw, str):
        return JobStatus.UNKNOWN
    text = raw.strip().upper()
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return JobStatus(text)
    except ValueError:
        return JobStatus.UNKNOWN
