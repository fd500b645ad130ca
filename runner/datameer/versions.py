"""Which endpoints a Datameer server of a given version offers, and which a run uses.

The facts (``docs/datameer-compatibility.md`` cites the pages): the REST v2 job calls
``/api/job-execution/<ref>/trigger|stop|status`` came with 7.2.5 (or the REST v2 plugin),
job-details carries ``jobConfigurationId`` and ``file {id, uuid}`` from 7.4, the
sequential trigger ``POST /rest/job-execution?sequence=`` from 7.5.2.  Older servers have
the legacy calls: ``POST /rest/job-execution?configuration=<cfg>`` and
``POST /rest/job-execution/job-kill/<execution>``, watched with the v1 status,
list-running and job-details.  ``GET /rest/license-details`` answers ``ProductVersion``
on every version seen (2.x to X 11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

API_V2_SINCE = (7, 2, 5)
DETAILS_7_4_SINCE = (7, 4)
SEQUENTIAL_SINCE = (7, 5, 2)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``"7.5.2"`` → ``(7, 5, 2)``; ``"11.1.4-SNAPSHOT"`` → ``(11, 1, 4)``; None when
    no leading number can be read."""
    if text is None:
        return None
    parts: list[int] = []
    for part in text.strip().lstrip("vV").split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.group() != part:
            break  # "2-SNAPSHOT": what follows the digits ends the version
    return tuple(parts) or None


@dataclass(frozen=True)
class Capabilities:
    """What the client will call on one server, and why.

    ``version`` is what the server (or the ``server.version`` setting) said, None when
    unknown; ``source`` says where it came from.  An unknown version is taken to be a
    current server (REST v2, 7.4 details, sequential trigger): the first call that meets
    a missing endpoint then switches to the legacy calls, once.
    """

    version: str | None
    source: str  # "server", "setting", or "unknown"
    api_v2: bool = True
    details_7_4: bool | None = None  # None: unknown, both shapes are read
    sequential: bool | None = None  # None: unknown until the server answers
    # Set when a first call met a missing /api/... endpoint (the second signal).
    v2_missing_seen: bool = False

    @property
    def legacy(self) -> bool:
        """True when triggers, stops and status go through the legacy calls."""
        return not self.api_v2

    def endpoints(self) -> list[tuple[str, str, str]]:
        """``(operation, endpoint, why)`` for each operation a run makes."""
        return [
            ("status", *self._status()),
            ("trigger", *self._trigger()),
            ("stop", *self._stop()),
            ("watch", "GET /rest/jobs/list-running", "one call per tick answers for every job"),
            ("details", "GET /rest/job-execution/job-details/<execution>", self._details()),
            ("sequential trigger", *self._sequential()),
        ]

    def _said(self) -> str:
        if self.version is None:
            return "the server's version is unknown"
        where = {"server": "the server says", "setting": "the version set is"}
        return f"{where.get(self.source, 'version')} {self.version}"

    def _status(self) -> tuple[str, str]:
        if self.legacy:
            return (
                "GET /rest/job-configuration/job-status/<configuration>",
                f"{self._legacy_why()}: the v1 status by configuration id",
            )
        return "GET /api/job-execution/<ref>/status", f"{self._said()}: REST v2 (7.2.5+)"

    def _trigger(self) -> tuple[str, str]:
        if self.legacy:
            return "POST /rest/job-execution?configuration=<configuration>", self._legacy_why()
        return "POST /api/job-execution/<ref>/trigger", f"{self._said()}: REST v2 (7.2.5+)"

    def _stop(self) -> tuple[str, str]:
        if self.legacy:
            return "POST /rest/job-execution/job-kill/<execution>", self._legacy_why()
        return "POST /api/job-execution/<ref>/stop", f"{self._said()}: REST v2 (7.2.5+)"

    def _legacy_why(self) -> str:
        if self.v2_missing_seen:
            return "the server has no /api/... endpoints (a 404 on first use): legacy calls"
        return f"{self._said()}: no REST v2 before 7.2.5, so the legacy calls"

    def _details(self) -> str:
        if self.details_7_4 is None:
            return f"{self._said()}: both shapes (pre-7.4 and 7.4+) are read"
        shape = "7.4+ shape (file id, uuid, configuration)" if self.details_7_4 else "pre-7.4 shape"
        return f"{self._said()}: {shape}"

    def _sequential(self) -> tuple[str, str]:
        endpoint = "POST /rest/job-execution?sequence=<file ids>"
        if self.sequential is None:
            return endpoint, f"{self._said()}: tried; auto mode falls back to client mode"
        if self.sequential:
            return endpoint, f"{self._said()}: available (7.5.2+)"
        return "none", f"{self._said()}: the sequential trigger needs 7.5.2"


def capabilities(version: str | None, source: str) -> Capabilities:
    """The endpoints a server of ``version`` offers (``source``: where the version came from)."""
    parsed = parse_version(version)
    if parsed is None:
        return Capabilities(version, "unknown" if version is None else source)
    return Capabilities(
        version,
        source,
        api_v2=parsed >= API_V2_SINCE,
        details_7_4=parsed >= DETAILS_7_4_SINCE,
        sequential=parsed >= SEQUENTIAL_SINCE,
    )
